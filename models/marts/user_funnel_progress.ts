import type { Knex } from 'knex';
import { funnelDefinitionHash, funnelProgressSql } from '../../src/funnels/funnel-progress-sql.ts';
import { APPENDED_FROM, appendedUsersOf } from '../../src/identity/appended-users.ts';
import { goneKeys, touchedCte, touchedGoneOrRedefinedKeys } from '../../src/identity/touched-users-rows.ts';
import { defineModel, type BuildContext, type DeltaContext, type IncrementalContext } from '../../src/models/model-definition.ts';
import type { ProjectContent } from '../../src/project/project.ts';

const EMPTY = `select null::text as funnel, null::text as user_key, null::int as step_number, null::timestamptz as reached_at,
  null::float8 as seconds_from_previous, null::float8 as seconds_from_first, null::text as definition_hash where false`;

/**
 * `redefined as (select ... as changed)`: whether the stored rows were computed by other funnel
 * definitions than the project's (a funnel changed, was removed, or has no rows yet). Then
 * every user is recomputed: a user's rows are replaced as a whole (uniqueKey user_key), so
 * one funnel cannot be rebuilt for everyone while the others keep their rows. With a delta, the stored rows
 * were computed by this very SQL (its fingerprint), so of these definitions: no scan of every row for others.
 */
function redefinedCte(project: ProjectContent, incremental: IncrementalContext, delta?: DeltaContext): { sql: string; bindings: string[] } {
  return {
    sql: `definitions (funnel, definition_hash) as (values ${project.funnels.map(() => '(?::text, ?::text)').join(', ')}),
      redefined as (
        select ${delta ? '' : `exists (select funnel, definition_hash from ${incremental.this} except select funnel, definition_hash from definitions)
            or `}exists (select 1 from definitions d where not exists (select 1 from ${incremental.this} t where t.funnel = d.funnel)) as changed
      )`,
    bindings: project.funnels.flatMap((f) => [f.name, funnelDefinitionHash(f)]),
  };
}

const EVENTS = 'core.fct_events';

/**
 * `appended as materialized (...)`: the touched users whose only change is events after all their stored ones
 * (src/identity/appended-users.ts), none once a definition changed (after a `redefined` CTE).
 */
const appendedCte = (knex: Knex, ref: BuildContext['ref'], incremental: IncrementalContext, delta: DeltaContext) => `
      appended as materialized (
        select user_key from (${appendedUsersOf(knex, ref, incremental, delta)}) a
        where not (select changed from redefined)
      )`;

/**
 * Each user's progress through each funnel (funnels/*.yml), the per-user half of
 * marts.funnel_steps: the time of every step reached in order within the window and the
 * seconds from the previous and the first step (src/funnels/funnel-progress-sql.ts). A
 * function of the user's own events, so an incremental build recomputes only the users the
 * new batches touch (src/identity/touched-users-rows.ts, as marts.user_paths), and everyone
 * when a funnel's definition changed (`definition_hash`); funnel_steps groups these rows by
 * segment instead of re-reading every event. A touched user whose only change is later events
 * (appended) continues from their stored rows with the new events alone (funnelProgressSql's
 * `seeds`), and is written only when they reached a new step: progress can only grow then.
 */
export default (project: ProjectContent) => defineModel({
  name: 'marts.user_funnel_progress',
  description: 'Per funnel (funnels/*.yml), user and step the user reached in order within the conversion window: when, and the seconds from the previous and from the first step. What marts.funnel_steps counts.',
  owner: 'data-platform',
  tags: ['marts', 'funnels'],
  materialized: 'incremental',
  // A touched user's progress changes only when new events are funnel steps (bench: 76 of 741 rows): the rest are left alone.
  incremental: { uniqueKey: 'user_key', skipUnchanged: true },
  indexes: [['user_key']],
  // Appended users (their new events from fct_events' kept changes); without an unbroken chain, every touched user from history.
  deltaFrom: [...APPENDED_FROM],
  tests: [{ unique_combination: ['funnel', 'user_key', 'step_number'] }],
  columns: {
    funnel: { type: 'text', description: 'Funnel name', tests: ['not_null'] },
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null'] },
    step_number: { type: 'integer', description: 'Step reached, 1 = first (the user’s first step-1 event)', tests: ['not_null', { expression: 'step_number >= 1' }] },
    reached_at: { type: 'timestamptz', description: 'First event of the step after the previous step, within the window from step 1', tests: ['not_null'] },
    seconds_from_previous: { type: 'double precision', description: 'Seconds from the previous step (null at step 1)' },
    seconds_from_first: { type: 'double precision', description: 'Seconds from step 1', tests: ['not_null'] },
    definition_hash: { type: 'text', description: 'Hash of what the funnel computes per user (steps, conditions, window, properties): rows of another hash are recomputed', tests: ['not_null'] },
  },
  // With a delta, a user's rows can only shrink (or go) when they lost an event (a removed row in fct_events' changes) or
  // their key: the build returns every other recomputed user with all their rows (replaced by key), and an appended one
  // only when they reached a new step.
  staleKeys: (knex, { ref, incremental, delta }) => {
    if (!project.funnels.length || !delta) return touchedGoneOrRedefinedKeys(knex, ref, incremental!, project.funnels.length ? redefinedCte(project, incremental!) : undefined);
    const redefined = redefinedCte(project, incremental!, delta);
    return knex.raw(`
      with ${redefined.sql}
      select user_key from ${delta.changes[EVENTS]} where change = 'removed'
      union${goneKeys(ref, incremental!, delta)}
      union
      select user_key from ${incremental!.this} where (select changed from redefined)`, redefined.bindings);
  },
  build: (knex, { ref, incremental, delta }) => {
    if (project.funnels.length === 0) return knex.raw(EMPTY);
    const columns = 'user_key, occurred_at, event, device_type, os, browser, country, properties';
    // On an incremental run: the touched users' events of the funnels' step events (kept once for every funnel),
    // or everyone's once a definition changed (one-time filters: only one branch runs).
    const stepEvents = [...new Set(project.funnels.flatMap((f) => f.steps.map((s) => s.event)))];
    const events = incremental ? 'events' : ref('core.fct_events').toQuery();
    const parts = project.funnels.map((funnel) => funnelProgressSql(funnel, events));
    const union = parts.map((p) => `(${p.sql})`).join('\nunion all\n');
    const bindings = parts.flatMap((p) => p.bindings);
    if (!incremental) return knex.raw(union, bindings);
    const redefined = redefinedCte(project, incremental, delta);
    if (!delta) {
      return knex.raw(`
      with ${touchedCte(knex, ref, incremental)},
      ${redefined.sql},
      events as (
        select ${columns} from ${ref('core.fct_events')} where user_key = any(array(select user_key from touched)) and event = any(?::text[]) and not (select changed from redefined)
        union all
        select ${columns} from ${ref('core.fct_events')} where event = any(?::text[]) and (select changed from redefined)
      )
      ${union}`, [...redefined.bindings, stepEvents, stepEvents, ...bindings]);
    }
    // Appended users: their stored rows (seeds) and new events (the added rows of fct_events' changes); the other
    // touched users from their history, as without a delta.
    const continued = project.funnels.map((funnel) => funnelProgressSql(funnel, 'new_events', 'seeds'));
    return knex.raw(`
      with ${touchedCte(knex, ref, incremental)},
      ${redefined.sql},
      ${appendedCte(knex, ref, incremental, delta)},
      events as (
        select ${columns} from ${ref('core.fct_events')}
        where user_key = any(array(select user_key from touched except select user_key from appended)) and event = any(?::text[]) and not (select changed from redefined)
        union all
        select ${columns} from ${ref('core.fct_events')} where event = any(?::text[]) and (select changed from redefined)
      ),
      new_events as (select ${columns} from ${delta.changes[EVENTS]} where change = 'added' and user_key in (select user_key from appended) and event = any(?::text[])),
      seeds as materialized (select funnel, user_key, step_number, reached_at from ${incremental.this} where user_key = any(array(select user_key from appended))),
      continued as (${continued.map((p) => `(${p.sql})`).join('\nunion all\n')}),
      -- Who reached a new step: more rows than stored (the stored ones come back as they were).
      grown as (
        select c.user_key from (select user_key, count(*) as n from continued group by user_key) c
        left join (select user_key, count(*) as n from seeds group by user_key) s on s.user_key = c.user_key
        where c.n > coalesce(s.n, 0)
      )
      ${union}
      union all
      select * from continued where user_key in (select user_key from grown)`,
    [...redefined.bindings, stepEvents, stepEvents, stepEvents, ...continued.flatMap((p) => p.bindings), ...bindings]);
  },
});
