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
 * The users touched are those of the new batches' rows, under every key they may have
 * (mapped user id, mapped anonymous id, anon:<id>): a superset is harmless, since
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

/** Raw tables whose rows name their user, with the columns that do. */
const TRACED_TABLES = {
  events: ['user_id', 'anonymous_id'],
  outcomes: ['user_id'],
  users: ['user_id'],
  survey_responses: ['user_id'],
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

/** user_key, definition, segment, version of the rule's members: the touched users recomputed, the others reused. */
export function incrementalRuleMembers(definition: RuleSegment, features: string, catalog: FeatureCatalog, sources: EventSources, previous: PreviousMembership): Sql {
  const batches = `?::bigint[]`;
  const touched: string[] = [];
  for (const [table, columns] of Object.entries(TRACED_TABLES) as [TracedTable, readonly string[]][]) {
    for (const column of columns) {
      touched.push(`select m.user_key from ${previous.raw[table]} r join ${previous.identities} m on m.identity = r.${column} where r.load_batch_id = any(${batches})`);
    }
  }
  // Events of an anonymous id no identity maps are keyed anon:<id> (as core.fct_events keys them).
  touched.push(`select 'anon:' || r.anonymous_id from ${previous.raw.events} r where r.load_batch_id = any(${batches}) and r.anonymous_id is not null`);
  const batchArray = `{${previous.newBatches.join(',')}}`;
  const tracedTables = Object.keys(TRACED_TABLES).map((t) => `raw.${t}`);
  const recomputed = `(select ff.* from ${features} ff where ff.user_key in (select user_key from recompute))`;
  const fresh = ruleMembers(definition, recomputed, catalog, sources);
  return {
    sql: `
      with refresh_state as (
        select (select max(p.reference_at) from ${previous.relation} p) = (select as_of_at from ${previous.referenceTime})
           and exists (select 1 from ${previous.relation} p where p.definition = ? and p.version = ?)
           and not exists (select 1 from ops.load_batches b where b.batch_id = any(${batches}) and not (b.target_tables <@ ?::text[]))
           as reuse
      ),
      touched as (${touched.join('\n        union ')}),
      recompute as (
        select user_key from touched where (select reuse from refresh_state)
        union all
        select user_key from ${features} a where not (select reuse from refresh_state)
      )
      select * from (${fresh.sql}) fresh
      union all
      select p.user_key, p.definition, p.segment, p.version from ${previous.relation} p
      where (select reuse from refresh_state) and p.definition = ?
        and not exists (select 1 from recompute c where c.user_key = p.user_key)
        and exists (select 1 from ${features} f where f.user_key = p.user_key)`,
    bindings: [
      definition.name,
      definition.version,
      batchArray,
      `{${tracedTables.join(',')}}`,
      ...touched.map(() => batchArray),
      ...fresh.bindings,
      definition.name,
    ],
  };
}
