/**
 * The kept event copies a build's new batches displaced (a later-loaded copy of a message id that now
 * sorts first). staging.stg_events keeps its changes over DISPLACED_COPY_COLUMNS, so its removed rows are
 * exactly those copies, with what their readers need: the message id (core.fct_events' stored row), both
 * ids (staging.stg_identity_links' observation, the user marts.user_days keys the old day to) and the time.
 * A copy replaced by one equal in these columns cancels out: same ids and time, so the same user, session
 * start, link observation and day. A model reading them lists STAGED_EVENTS in `deltaFrom`; without the
 * changes (a broken chain) it looks the copies up in raw itself.
 */
import type { DeltaContext } from '../models/model-definition.ts';

/** The model whose kept changes name the displaced copies. */
export const STAGED_EVENTS = 'staging.stg_events';

/** The columns stg_events keeps its changes over. */
export const DISPLACED_COPY_COLUMNS = ['message_id', 'anonymous_id', 'user_id', 'occurred_at'];

/** The displaced kept copies (DISPLACED_COPY_COLUMNS, cleaned as staging cleans them), as a subquery. */
export const displacedCopies = (delta: DeltaContext): string =>
  `(select ${DISPLACED_COPY_COLUMNS.join(', ')} from ${delta.changes[STAGED_EVENTS]} where change = 'removed')`;
