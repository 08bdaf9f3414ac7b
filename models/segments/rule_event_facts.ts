import { APPENDED_FROM, appendedUsersOf } from '../../src/identity/appended-users.ts';
import { touchedCte, touchedGoneOrRedefinedKeys } from '../../src/identity/touched-users-rows.ts';
import { defineModel, type IncrementalContext } from '../../src/models/model-definition.ts';
import type { ProjectContent } from '../../src/project/project.ts';
import { ruleFacts, type RuleFacts } from '../../src/segments/rule-event-facts.ts';
import type { RuleSegment } from '../../src/segments/segment-definition.ts';

const EVENTS = 'core.fct_events';
const EMPTY = `select null::text as definition, null::text as user_key, null::text as fact, null::bigint as value, null::text as definition_hash where false`;

const factsOf = (project: ProjectContent): RuleFacts[] =>
  project.segments
    .filter((d): d is RuleSegment => d.kind === 'rule')
    .map((d) => ruleFacts(d, project.featureCatalog.catalog))
    .filter((f): f is RuleFacts => f !== undefined);

/**
 * `redefined as (select ... as changed)`: the stored rows were computed by other rules than the
 * project's (a rule changed, was removed, or has no rows yet). Then every user is recomputed,
 * as in marts.user_funnel_progress: a user's rows are replaced as a whole.
 */
function redefinedCte(facts: RuleFacts[], incremental: IncrementalContext): { sql: string; bindings: string[] } {
  return {
    sql: `definitions (definition, definition_hash) as (values ${facts.map(() => '(?::text, ?::text)').join(', ')}),
      redefined as (
        select exists (select definition, definition_hash from ${incremental.this} except select definition, definition_hash from definitions)
            or exists (select 1 from definitions d where not exists (select 1 from ${incremental.this} t where t.definition = d.definition)) as changed
      )`,
    bindings: facts.flatMap((f) => [f.definition, f.hash]),
  };
}

/**
 * The counts rule event predicates take per user when they read neither the reference time nor
 * a window relative to it (src/segments/rule-event-facts.ts): segments.current_membership reads
 * them instead of grouping every event on every build. A function of the user's own events and
 * signup, so an incremental build recomputes only the users the new batches touch, and everyone
 * when a rule's facts are defined differently (`definition_hash`). A user the run only appends
 * events to (src/identity/appended-users.ts; signup unchanged: no users batch names them) keeps
 * their stored rows when no new event counts in any fact (outside its window, or of other events);
 * otherwise they are recomputed too (a distinct count cannot be added to).
 */
export default (project: ProjectContent) => defineModel({
  name: 'segments.rule_event_facts',
  description: 'Per rule definition, user and event predicate of the rule: the count it takes over the user\'s events (no window, or a window after signup), when not 0. What segments.current_membership reads for those rules instead of core.fct_events.',
  owner: 'data-platform',
  tags: ['segments'],
  materialized: 'incremental',
  // A touched user's facts change only when new events match a rule's predicates (bench: 125 of 1.9k rows): the rest are left alone.
  incremental: { uniqueKey: 'user_key', skipUnchanged: true },
  indexes: [['user_key']],
  deltaFrom: [...APPENDED_FROM],
  tests: [{ unique_combination: ['definition', 'user_key', 'fact'] }],
  columns: {
    definition: { type: 'text', description: 'Rule definition name (segments/*.yml)', tests: ['not_null'] },
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null'] },
    fact: { type: 'text', description: 'The predicate\'s column in the rule\'s compiled SQL (p1, p2, …)', tests: ['not_null'] },
    value: { type: 'bigint', description: 'Events (or distinct property values) the predicate counts; users with 0 have no row', tests: ['not_null', { expression: 'value > 0' }] },
    definition_hash: { type: 'text', description: 'Hash of what the rule\'s facts compute per user: rows of another hash are recomputed', tests: ['not_null'] },
  },
  staleKeys: (knex, { ref, incremental, delta }) => {
    const facts = factsOf(project);
    return touchedGoneOrRedefinedKeys(knex, ref, incremental!, facts.length ? redefinedCte(facts, incremental!) : undefined, delta);
  },
  build: (knex, { ref, incremental, delta }) => {
    const facts = factsOf(project);
    if (facts.length === 0) return knex.raw(EMPTY);
    const users = ref('core.dim_users').toQuery();
    const columns = 'user_key, occurred_at, event, properties';
    const events = incremental ? 'events' : ref('core.fct_events').toQuery();
    const parts = facts.map((f) => f.rows(events, users));
    const union = parts.map((p) => `(${p.sql})`).join('\nunion all\n');
    const bindings = parts.flatMap((p) => p.bindings);
    if (!incremental) return knex.raw(union, bindings);
    // The touched users' events of the rules' event names (by the user_key index), or everyone's once a rule
    // changed (one-time filters: only one branch runs). Materialized: the rules' scans read it once.
    const eventNames = [...new Set(facts.flatMap((f) => f.eventNames))];
    const redefined = redefinedCte(facts, incremental);
    if (!delta) {
      return knex.raw(`
      with ${touchedCte(knex, ref, incremental)},
      ${redefined.sql},
      events as materialized (
        select ${columns} from ${ref(EVENTS)} where user_key = any(array(select user_key from touched)) and event = any(?::text[]) and not (select changed from redefined)
        union all
        select ${columns} from ${ref(EVENTS)} where event = any(?::text[]) and (select changed from redefined)
      )
      ${union}`, [...redefined.bindings, eventNames, eventNames, ...bindings]);
    }
    // Appended users whose new events no fact counts (the facts over those events alone have no row) keep their rows.
    const hits = facts.map((f) => f.rows('new_events', users));
    const appended = appendedUsersOf(knex, ref, incremental, delta);
    return knex.raw(`
      with ${touchedCte(knex, ref, incremental)},
      ${redefined.sql},
      appended as materialized (select user_key from (${appended}) a where not (select changed from redefined)),
      new_events as materialized (
        select ${columns} from ${delta.changes[EVENTS]} where change = 'added' and user_key in (select user_key from appended) and event = any(?::text[])
      ),
      kept as materialized (
        select user_key from appended
        except select user_key from (${hits.map((h) => `(${h.sql})`).join('\nunion all\n')}) h
      ),
      events as materialized (
        select ${columns} from ${ref(EVENTS)}
        where user_key = any(array(select user_key from touched except select user_key from kept)) and event = any(?::text[]) and not (select changed from redefined)
        union all
        select ${columns} from ${ref(EVENTS)} where event = any(?::text[]) and (select changed from redefined)
      )
      ${union}
      union all
      select definition, user_key, fact, value, definition_hash from ${delta.this} where user_key = any(array(select user_key from kept))`,
    [...redefined.bindings, eventNames, ...hits.flatMap((h) => h.bindings), eventNames, eventNames, ...bindings]);
  },
});
