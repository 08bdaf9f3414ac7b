import type { Knex } from 'knex';
import type { ExperimentDefinition } from '../../src/experiments/experiment-definition.ts';
import { appendedUserMetricsSql, experimentDefinitionHash, experimentUserMetricsSql, exposuresSql } from '../../src/experiments/experiment-user-metrics-sql.ts';
import type { SqlPart } from '../../src/experiments/measure-aggregate.ts';
import { APPENDED_FROM, appendedUsersOf } from '../../src/identity/appended-users.ts';
import { touchedCte } from '../../src/identity/touched-users-rows.ts';
import { defineModel, type DeltaContext, type IncrementalContext } from '../../src/models/model-definition.ts';
import type { ProjectContent } from '../../src/project/project.ts';

const EMPTY = `select null::text as experiment, null::text as user_key, null::text as variant, null::timestamptz as exposed_at, null::text as metric,
  null::text as metric_type, null::float8 as value, null::float8 as pre_value, null::float8 as denominator, null::text as definition_hash where false`;

type Ref = (name: string) => Knex.Raw;
const EVENTS = 'core.fct_events';
const ASSIGNMENTS = 'core.fct_experiment_assignments';

/** Every experiment's eligible exposures with its definition hash: experiment, user_key, variant, exposed_at, definition_hash. */
function exposuresOf(experiments: ExperimentDefinition[], ref: Ref): SqlPart {
  const parts = experiments.map((e) => exposuresSql(e, ref('core.fct_experiment_assignments').toQuery()));
  return {
    sql: parts.map((p) => `select x.*, ?::text as definition_hash from (${p.sql}) x`).join('\nunion all\n'),
    bindings: experiments.flatMap((e, i) => [experimentDefinitionHash(e), ...parts[i]!.bindings]),
  };
}

/**
 * Without a delta: `exposures`, `stored` (one read of the table), then `moved`: users whose exposure differs from their stored rows' (new, gone, another
 * variant or time, another definition hash). With the users the new batches touch, they are the ones
 * recomputed: assignment batches are not traced by `touched`, and a changed definition moves exactly its users.
 */
function movedCtes(project: ProjectContent, ref: Ref, incremental: IncrementalContext): SqlPart {
  const exposures = exposuresOf(project.experiments, ref);
  // A stored exposure once: every exposed user has a row per metric, so the rows of each experiment's first metric (a filter
  // instead of a distinct over every row), and every row of an experiment no longer defined (`except` removes duplicates).
  const firstMetrics = project.experiments.filter((e) => e.metrics.length > 0);
  const onePerExposure = [
    ...firstMetrics.map(() => '(experiment = ? and metric = ?)'),
    'not (experiment = any(?::text[]))',
  ].join(' or ');
  return {
    sql: `exposures as (${exposures.sql}),
      stored as materialized (select experiment, user_key, variant, exposed_at, definition_hash from ${incremental.this} where ${onePerExposure}),
      moved as (
        select user_key from ((select * from exposures except select * from stored) union all (select * from stored except select * from exposures)) d
      )`,
    bindings: [...exposures.bindings, ...firstMetrics.flatMap((e) => [e.name, e.metrics[0]!.name]), project.experiments.map((e) => e.name)],
  };
}

/**
 * With the assignments' kept changes (a delta): `exposures`, and `moved` as the users whose assignment rows changed. The
 * stored rows were computed from the assignments those changes follow, with these definitions (the delta's fingerprint).
 */
function movedFromChanges(project: ProjectContent, ref: Ref, delta: DeltaContext): SqlPart {
  const exposures = exposuresOf(project.experiments, ref);
  // Materialized, as without a delta (referenced twice there): inlined, `exposed` was estimated at a few users and the
  // touched users' events read per exposure with the array in the index condition (2-3 s for 2,114 users, 1.3 s as one read).
  return { sql: `exposures as materialized (${exposures.sql}), moved as (select distinct user_key from ${delta.changes[ASSIGNMENTS]})`, bindings: exposures.bindings };
}

/**
 * Per experiment (experiments/*.yml), exposed user and metric: the metric's value in the window
 * after first exposure, its CUPED covariate and a ratio's denominator — the per-user half of
 * marts.experiment_statistics (src/experiments/experiment-user-metrics-sql.ts). A function of the
 * user's own exposure, events and outcomes, so an incremental build recomputes only the users the
 * new batches touch (src/identity/touched-users-rows.ts) and those whose exposure or experiment
 * definition changed; experiment_statistics sums these rows per segment instead of joining every event.
 * A touched user whose only change is later events (appended) and whose exposures are as stored has
 * their stored rows updated with what the new events add (appendedUserMetricsSql), written only when a
 * value changed. With the kept changes of the assignments, the users they name are the moved ones.
 */
export default (project: ProjectContent) => defineModel({
  name: 'marts.experiment_user_metrics',
  description: 'Per experiment (experiments/*.yml), exposed user (one variant, a listed one) and metric: the value in [exposed_at, exposed_at + window_days), the CUPED covariate in the window before, and a ratio’s denominator. What marts.experiment_statistics sums.',
  owner: 'data-platform',
  tags: ['experiments'],
  materialized: 'incremental',
  // Users touched by new batches whose metrics come out the same (bench: 440 of 1.1k rows) are left alone.
  incremental: { uniqueKey: 'user_key', skipUnchanged: true },
  indexes: [['user_key']],
  // Appended users (their new events from fct_events' kept changes), and whose exposures moved from the assignments' kept
  // changes; without an unbroken chain, every touched user from history and `moved` by comparing every exposure.
  deltaFrom: [...APPENDED_FROM, ASSIGNMENTS],
  tests: [{ unique_combination: ['experiment', 'user_key', 'metric'] }],
  columns: {
    experiment: { type: 'text', description: 'Experiment key (experiments/*.yml name)', tests: ['not_null'] },
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null'] },
    variant: { type: 'text', description: 'Variant of the first exposure', tests: ['not_null'] },
    exposed_at: { type: 'timestamptz', description: 'First exposure (core.fct_experiment_assignments.assigned_at)', tests: ['not_null'] },
    metric: { type: 'text', description: 'Metric name from the experiment file', tests: ['not_null'] },
    metric_type: { type: 'text', description: 'binomial, mean or ratio', tests: ['not_null', { accepted_values: ['binomial', 'mean', 'ratio'] }] },
    value: { type: 'double precision', description: 'y: 1/0 (binomial), the value (mean) or the numerator (ratio) within the window after exposure', tests: ['not_null'] },
    pre_value: { type: 'double precision', description: 'CUPED covariate: the same measure in the window before exposure (null without CUPED)' },
    denominator: { type: 'double precision', description: 'Ratio: the denominator within the window (null for other metrics)' },
    definition_hash: { type: 'text', description: 'Hash of what the experiment computes per user (variants, window, metrics): rows of another hash are recomputed', tests: ['not_null'] },
  },
  // The build returns a row per metric for every recomputed user who is exposed (replaced by key), so only stored users exposed to
  // nothing now are left: an assignment or a listed variant gone, an experiment removed, a key merged away (exposures carry current
  // keys). Neither the touched users nor `moved` are computed a second time here (~0.3-0.7 s on the 20k bench database).
  // With the assignments' changes, only the users they name can have lost their exposures.
  staleKeys: (knex, { ref, incremental, delta }) => {
    if (project.experiments.length === 0) return knex.raw(`select user_key from ${incremental!.this}`);
    const exposures = exposuresOf(project.experiments, ref);
    return knex.raw(`
      with exposures as (${exposures.sql})
      select distinct t.user_key from ${incremental!.this} t where not exists (select 1 from exposures x where x.user_key = t.user_key)
      ${delta ? `and t.user_key in (select user_key from ${delta.changes[ASSIGNMENTS]})` : ''}`, exposures.bindings as never);
  },
  build: (knex, { ref, incremental, delta }) => {
    if (project.experiments.length === 0) return knex.raw(EMPTY);
    if (!incremental) {
      const exposures = exposuresOf(project.experiments, ref);
      const parts = project.experiments.map((e) => experimentUserMetricsSql(e, { exposures: 'exposures', outcomes: ref('core.fct_outcomes').toQuery(), events: ref('core.fct_events').toQuery() }));
      return knex.raw(`with exposures as (${exposures.sql})\n${parts.map((p) => `(${p.sql})`).join('\nunion all\n')}`, [...exposures.bindings, ...parts.flatMap((p) => p.bindings)] as never);
    }
    // The recomputed users' exposures, and the events (of the measured names, through the user_key index) and outcomes of
    // those exposed: a touched user in no experiment has no rows to compute.
    const measuredEvents = [...new Set(project.experiments.flatMap((e) => e.metrics.flatMap((m) => (m.type === 'ratio' ? [m.numerator, m.denominator] : [m.measure]))).flatMap((m) => ('events' in m ? m.events : [])))];
    const parts = project.experiments.map((e) => experimentUserMetricsSql(e, { exposures: 'exposed', outcomes: 'outcomes', events: 'events' }));
    if (!delta) {
      const moved = movedCtes(project, ref, incremental);
      return knex.raw(`
      with ${touchedCte(knex, ref, incremental)},
      ${moved.sql},
      recomputed as (select user_key from touched union select user_key from moved),
      exposed as (select * from exposures where user_key in (select user_key from recomputed)),
      events as (select user_key, occurred_at, event, session_id from ${ref(EVENTS)} where user_key = any(array(select distinct user_key from exposed)) and event = any(?::text[])),
      outcomes as (select user_key, occurred_at, outcome_type, revenue_usd from ${ref('core.fct_outcomes')} where user_key in (select user_key from exposed))
      ${parts.map((p) => `(${p.sql})`).join('\nunion all\n')}`, [...moved.bindings, measuredEvents, ...parts.flatMap((p) => p.bindings)] as never);
    }
    // Appended users whose exposures are as stored: their stored rows, new events (the added rows of fct_events' changes)
    // and, where a new event continues their last stored session, its stored events; the rest from history, as without a delta.
    const continued = project.experiments.map((e) => appendedUserMetricsSql(e, { stored: 'appended_stored', events: 'appended_events' }));
    const movedByChanges = movedFromChanges(project, ref, delta);
    return knex.raw(`
      with ${touchedCte(knex, ref, incremental)},
      ${movedByChanges.sql},
      appended as materialized (
        select a.user_key, a.last_old_at from (${appendedUsersOf(knex, ref, incremental, delta)}) a
        where a.user_key not in (select user_key from moved)
      ),
      recomputed as (select user_key from touched where user_key not in (select user_key from appended) union select user_key from moved),
      exposed as (select * from exposures where user_key in (select user_key from recomputed)),
      -- One read of the recomputed users' events (materialized): not a probe per exposure with the array as well.
      events as materialized (select user_key, occurred_at, event, session_id from ${ref(EVENTS)} where user_key = any(array(select distinct user_key from exposed)) and event = any(?::text[])),
      outcomes as (select user_key, occurred_at, outcome_type, revenue_usd from ${ref('core.fct_outcomes')} where user_key in (select user_key from exposed)),
      appended_stored as materialized (select * from ${incremental.this} where user_key = any(array(select user_key from appended))),
      new_events as materialized (
        select user_key, occurred_at, event, session_id from ${delta.changes[EVENTS]}
        where change = 'added' and event = any(?::text[]) and user_key in (select user_key from appended_stored)
      ),
      -- A new event in the last stored session continues it (sessions are contiguous in time): that session's stored
      -- events, so a distinct-sessions measure counts it once. Probed per user and new session, from the new events.
      continuing as materialized (
        select a.user_key, a.last_old_at, n.session_id
        from (select distinct user_key, session_id from new_events) n
        join appended a on a.user_key = n.user_key
        where n.session_id = (select l.session_id from ${ref(EVENTS)} l where l.user_key = a.user_key and l.occurred_at = a.last_old_at limit 1)
      ),
      appended_events as (
        select user_key, occurred_at, event, session_id, false as stored from new_events
        union all
        select e.user_key, e.occurred_at, e.event, e.session_id, true
        from continuing c join ${ref(EVENTS)} e on e.user_key = c.user_key and e.occurred_at <= c.last_old_at and e.session_id = c.session_id and e.event = any(?::text[])
      ),
      continued as (${continued.map((p) => `(${p.sql})`).join('\nunion all\n')}),
      -- Only who has a value that changed: all their rows (replaced by key); the others keep theirs.
      changed as (
        select c.user_key from continued c join appended_stored s on s.experiment = c.experiment and s.user_key = c.user_key and s.metric = c.metric
        where (c.value, c.pre_value, c.denominator) is distinct from (s.value, s.pre_value, s.denominator)
      )
      ${parts.map((p) => `(${p.sql})`).join('\nunion all\n')}
      union all
      select * from continued where user_key in (select user_key from changed)`,
    [...movedByChanges.bindings, measuredEvents, measuredEvents, measuredEvents, ...continued.flatMap((p) => p.bindings), ...parts.flatMap((p) => p.bindings)] as never);
  },
});
