/**
 * `refresh: incremental` for a rule segment: recompute only the users the new load
 * batches touch and reuse everyone else's membership from the previous build.
 *
 * A user's membership in a rule segment is a function of their own events, outcomes,
 * user row and survey answers, their identities, the definition, and the reference time
 * (every window — "in last 14 days", "stopped performing", recency, tenure — is measured
 * to it). So the previous rows are reused only while all of these hold:
 *   - the reference time did not move: when it does, a window slides over every user,
 *     and a user with no new event can leave "performed ≥ 2 in last 14 days". Finding
 *     exactly who could would need each predicate's window edges swept from the old to
 *     the new reference time (and feature columns such as recency or tenure change for
 *     everyone), so the segment is recomputed for every user instead;
 *   - the previous version holds this definition at this version (a new or re-versioned
 *     definition, or one with no members, is computed in full);
 *   - every new batch loads only tables whose rows name their user (events, outcomes,
 *     users, survey responses): an identity link re-keys events across users, and
 *     costs or experiment assignments are not traced to users here, so such a batch
 *     means a full recompute. A reverted batch means one too (the runner withholds the
 *     previous version).
 * The users touched are those of the new batches' rows, and of older rows sharing an event
 * or outcome id with them (de-duplication may let a new row displace another user's), under
 * every key they may have (mapped user id, mapped anonymous id, anon:<id>): a superset is harmless, since
 * recomputing an unchanged user gives the same answer. Reused rows are kept only for
 * users still in the features.
 *
 * When it pays: loads that do not move the reference time (late events for past days,
 * several loads within a day, a pinned SEGLAYER_REFERENCE_TIME). What it does not see: a
 * change that is no load batch (seeds such as fx rates, traits.yml, the features model)
 * — `seglayer build --full-refresh` recomputes everything.
 */
import type { FeatureCatalog } from './rule-compiler.ts';
import type { RuleSegment } from './segment-definition.ts';
import { ruleMembers, type EventSources, type Sql } from './segment-sql.ts';

/**
 * Raw tables whose rows name their user: the columns that do, and the key staging
 * de-duplicates on across users (a new row can displace another user's row with the same
 * key, so every row sharing a key with a new one counts as touched).
 */
const TRACED_TABLES = {
  events: { users: ['user_id', 'anonymous_id'], key: 'message_id' },
  outcomes: { users: ['user_id'], key: 'outcome_id' },
  users: { users: ['user_id'], key: undefined },
  survey_responses: { users: ['user_id'], key: undefined },
} as const;
type TracedTable = keyof typeof TRACED_TABLES;

export interface PreviousMembership {
  /** The published segments.current_membership (user_key, definition, segment, version, reference_at). */
  relation: string;
  /** Load batches committed since it was built. */
  newBatches: number[];
  /** core.reference_time (its as_of_at is this build's reference time). */
  referenceTime: string;
  /** core.user_identity_map (identity → user_key). */
  identities: string;
  /** The raw tables, as relations (from ref()). */
  raw: Record<TracedTable, string>;
}

/** The relation name incremental segment queries read the touched users from (a CTE of the membership query). */
export const TOUCHED_USERS = 'refresh_touched_users';

/**
 * Every user key the new batches touch, computed once for all incremental segments: one
 * scan of each raw table for the new rows and the rows sharing their de-duplication key.
 */
export function touchedUsers(previous: PreviousMembership): Sql {
  const batchArray = `{${previous.newBatches.join(',')}}`;
  const parts: string[] = [];
  const bindings: string[] = [];
  for (const [table, traced] of Object.entries(TRACED_TABLES) as [TracedTable, (typeof TRACED_TABLES)[TracedTable]][]) {
    const relation = previous.raw[table];
    const rows = traced.key
      ? `select ${traced.users.join(', ')} from ${relation} r
         where r.load_batch_id = any(?::bigint[]) or trim(r.${traced.key}) in (select trim(n.${traced.key}) from ${relation} n where n.load_batch_id = any(?::bigint[]))`
      : `select ${traced.users.join(', ')} from ${relation} r where r.load_batch_id = any(?::bigint[])`;
    bindings.push(...(traced.key ? [batchArray, batchArray] : [batchArray]));
    const alias = `touched_${table}`;
    const keys = traced.users.map((column) => `select m.user_key from ${alias} t join ${previous.identities} m on m.identity = t.${column}`);
    // Events of an anonymous id no identity maps are keyed anon:<id> (as core.fct_events keys them).
    if (table === 'events') keys.push(`select 'anon:' || t.anonymous_id from ${alias} t where t.anonymous_id is not null`);
    parts.push(`select user_key from (with ${alias} as materialized (${rows}) ${keys.join(' union ')}) k`);
  }
  return { sql: parts.join('\n union '), bindings };
}

/**
 * user_key, definition, segment, version of the rule's members: the touched users
 * (TOUCHED_USERS, a CTE the caller defines with touchedUsers) recomputed, the others reused.
 */
export function incrementalRuleMembers(definition: RuleSegment, features: string, catalog: FeatureCatalog, sources: EventSources, previous: PreviousMembership): Sql {
  const batchArray = `{${previous.newBatches.join(',')}}`;
  const tracedTables = Object.keys(TRACED_TABLES).map((t) => `raw.${t}`);
  const recomputed = `(select ff.* from ${features} ff where ff.user_key in (select user_key from recompute))`;
  const fresh = ruleMembers(definition, recomputed, catalog, sources);
  return {
    sql: `
      with refresh_state as (
        select (select max(p.reference_at) from ${previous.relation} p) = (select as_of_at from ${previous.referenceTime})
           and exists (select 1 from ${previous.relation} p where p.definition = ? and p.version = ?)
           and not exists (select 1 from ops.load_batches b where b.batch_id = any(?::bigint[]) and not (b.target_tables <@ ?::text[]))
           as reuse
      ),
      recompute as (
        select user_key from ${TOUCHED_USERS} where (select reuse from refresh_state)
        union all
        select user_key from ${features} a where not (select reuse from refresh_state)
      )
      select * from (${fresh.sql}) fresh
      union all
      select p.user_key, p.definition, p.segment, p.version from ${previous.relation} p
      where (select reuse from refresh_state) and p.definition = ?
        and not exists (select 1 from recompute c where c.user_key = p.user_key)
        and exists (select 1 from ${features} f where f.user_key = p.user_key)`,
    bindings: [definition.name, definition.version, batchArray, `{${tracedTables.join(',')}}`, ...fresh.bindings, definition.name],
  };
}
