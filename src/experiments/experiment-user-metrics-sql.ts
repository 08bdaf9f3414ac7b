/**
 * The per-user half of an experiment's sufficient statistics (marts.experiment_user_metrics):
 * per exposed user and metric, the value in [exposed_at, exposed_at + window_days), the CUPED
 * covariate (the same measure in [exposed_at − window_days, exposed_at)) and a ratio's
 * denominator. A user's rows depend only on their own exposure, events and outcomes, never on
 * the reference time, so an incremental build recomputes only the users that changed;
 * experiment-statistics-sql then sums these rows per variant × segment.
 *
 * Exposure: the user's first assignment (core.fct_experiment_assignments). Users assigned
 * more than one variant, or a variant the definition does not list, are left out here and
 * counted by experiment-exclusions. Every name from the YAML is a binding.
 */
import { createHash } from 'node:crypto';
import type { ExperimentDefinition, ExperimentMetric, Measure } from './experiment-definition.ts';
import { aggregate, type SqlPart } from './measure-aggregate.ts';

/** Relations the per-user rows read; `exposures` has experiment, user_key, variant, exposed_at (see exposuresSql). */
export interface UserMetricsRelations {
  exposures: string;
  outcomes: string;
  events: string;
}

/** The measures an experiment's metrics read, each once, with whether its pre-exposure value is needed. */
function measuresOf(metrics: ExperimentMetric[]): { key: string; measure: Measure; pre: boolean }[] {
  const found: { key: string; measure: Measure; pre: boolean }[] = [];
  const add = (measure: Measure, pre: boolean) => {
    const key = JSON.stringify(measure);
    const existing = found.find((m) => m.key === key);
    if (existing) existing.pre ||= pre;
    else found.push({ key, measure, pre });
  };
  for (const m of metrics) {
    if (m.type === 'ratio') {
      add(m.numerator, false);
      add(m.denominator, false);
    } else add(m.measure, m.cuped);
  }
  return found;
}

const keyOf = (measure: Measure) => JSON.stringify(measure);

/** The experiment's eligible exposures (one variant, a listed one) from core.fct_experiment_assignments. */
export function exposuresSql(experiment: ExperimentDefinition, assignments: string): SqlPart {
  return {
    sql: `select ?::text as experiment, user_key, variant, assigned_at as exposed_at
      from ${assignments} where experiment = ? and variant_count = 1 and variant = any(?::text[])`,
    bindings: [experiment.name, experiment.name, experiment.variants.map((v) => v.name)],
  };
}

/** Bindings collected in the order `bind` places their SQL parts in the text. */
function bindingsInOrder(): { bindings: unknown[]; bind: (part: SqlPart) => string } {
  const bindings: unknown[] = [];
  return { bindings, bind: (part) => (bindings.push(...part.bindings), part.sql) };
}

/** user_key, variant, exposed_at, metric, metric_type, value, pre_value, denominator: one row per exposed user and metric. */
function userMetricsBody(experiment: ExperimentDefinition, relations: UserMetricsRelations): SqlPart {
  const { bindings, bind } = bindingsInOrder();
  const measures = measuresOf(experiment.metrics);
  const index = (m: Measure) => measures.findIndex((x) => x.key === keyOf(m));
  const post = `r.occurred_at >= e.exposed_at and r.occurred_at < e.exposed_at + make_interval(days => ?)`;
  const pre = `r.occurred_at >= e.exposed_at - make_interval(days => ?) and r.occurred_at < e.exposed_at`;
  const days = experiment.window_days;

  const sourceColumns = (source: 'outcomes' | 'events') =>
    measures.flatMap(({ measure, pre: needsPre }, k) => {
      if (('outcomes' in measure) !== (source === 'outcomes')) return [];
      const columns = [`${bind(aggregate(measure, post, [days]))} as post_${k}`];
      if (needsPre) columns.push(`${bind(aggregate(measure, pre, [days]))} as pre_${k}`);
      return columns;
    });

  const exposure = `
    exposure as (select x.user_key, x.variant, x.exposed_at from ${relations.exposures} x where x.experiment = ${bind({ sql: '?::text', bindings: [experiment.name] })})`;
  const windowSpan = `r.occurred_at >= e.exposed_at - make_interval(days => ?) and r.occurred_at < e.exposed_at + make_interval(days => ?)`;
  const perSource = (source: 'outcomes' | 'events', relation: string): string | undefined => {
    const columns = sourceColumns(source);
    if (columns.length === 0) return undefined;
    const sql = `
    ${source}_values as (
      select e.user_key, ${columns.join(',\n             ')}
      from exposure e join ${relation} r on r.user_key = e.user_key and ${windowSpan}
      group by e.user_key
    )`;
    bindings.push(days, days);
    return sql;
  };
  const outcomeCte = perSource('outcomes', relations.outcomes);
  const eventCte = perSource('events', relations.events);

  const column = (k: number, when: 'post' | 'pre') => {
    const source = 'outcomes' in measures[k]!.measure ? 'o' : 'v';
    return `coalesce(${source}.${when}_${k}, 0)::float8`;
  };
  // Per user and metric: y (the metric's value), x (its covariate) or d (a ratio's denominator).
  const unitColumns = experiment.metrics.flatMap((m, i) => {
    if (m.type === 'ratio') return [`${column(index(m.numerator), 'post')} as y_${i}`, `${column(index(m.denominator), 'post')} as d_${i}`];
    const k = index(m.measure);
    const value = (when: 'post' | 'pre') => (m.type === 'binomial' ? `(${column(k, when)} > 0)::int::float8` : column(k, when));
    return m.cuped ? [`${value('post')} as y_${i}`, `${value('pre')} as x_${i}`] : [`${value('post')} as y_${i}`];
  });
  const units = `
    units as (
      select e.user_key, e.variant, e.exposed_at, ${unitColumns.join(', ')}
      from exposure e
      ${outcomeCte ? 'left join outcomes_values o on o.user_key = e.user_key' : ''}
      ${eventCte ? 'left join events_values v on v.user_key = e.user_key' : ''}
    )`;
  // Unpivot: one row per metric; pre_value only with CUPED, denominator only for ratios (null otherwise, so their sums are null).
  const rows = experiment.metrics.map((m, i) => {
    const name = bind({ sql: '?::text', bindings: [m.name] });
    const type = bind({ sql: '?::text', bindings: [m.type] });
    const x = m.type !== 'ratio' && m.cuped ? `u.x_${i}` : 'null::float8';
    const d = m.type === 'ratio' ? `u.d_${i}` : 'null::float8';
    return `(${name}, ${type}, u.y_${i}, ${x}, ${d})`;
  });
  const ctes = [exposure, outcomeCte, eventCte, units].filter(Boolean).join(',');
  const sql = `
    with ${ctes}
    select u.user_key, u.variant, u.exposed_at, s.metric, s.metric_type, s.value, s.pre_value, s.denominator
    from units u
    cross join lateral (values ${rows.join(',\n      ')}) as s(metric, metric_type, value, pre_value, denominator)`;
  return { sql, bindings };
}

/**
 * What an experiment computes per user, as a hash of that SQL and its bindings (variants,
 * window, metrics and their measures; not title, hypothesis, owner or segments, which only
 * the statistics read). Stored with each row: rows of another hash are recomputed.
 */
export function experimentDefinitionHash(experiment: ExperimentDefinition): string {
  const exposures = exposuresSql(experiment, 'assignments');
  const body = userMetricsBody(experiment, { exposures: 'exposures', outcomes: 'outcomes', events: 'events' });
  return createHash('sha256').update(JSON.stringify([exposures.sql, exposures.bindings, body.sql, body.bindings])).digest('hex').slice(0, 16);
}

/** The experiment's rows of marts.experiment_user_metrics over `relations` (exposures of the users to compute, and their events and outcomes). */
export function experimentUserMetricsSql(experiment: ExperimentDefinition, relations: UserMetricsRelations): SqlPart {
  const body = userMetricsBody(experiment, relations);
  return {
    sql: `select ?::text as experiment, m.user_key, m.variant, m.exposed_at, m.metric, m.metric_type, m.value, m.pre_value, m.denominator, ?::text as definition_hash
    from (${body.sql}) m`,
    bindings: [experiment.name, experimentDefinitionHash(experiment), ...body.bindings],
  };
}

/** What the rows of users whose only change is later events (appended) are updated from. */
export interface AppendedMetricsRelations {
  /** The stored rows of marts.experiment_user_metrics of those users (their exposures are as stored). */
  stored: string;
  /**
   * user_key, occurred_at, event, session_id, stored: their new events (stored false) and, where a new event continues
   * the last stored session, that session's stored events (stored true), so a session is counted once.
   */
  events: string;
}

/**
 * The experiment's stored rows of appended users, with what their new events add: a count adds the new events in
 * the window, distinct sessions the sessions in the window that were not counted yet (only the last stored session
 * can continue), and a binomial is 1 once the sum is positive. Outcomes are as stored: a new outcome names its user
 * (not appended). Exact: every value is an integer count or sum of such, the same float8 as a full build's.
 */
export function appendedUserMetricsSql(experiment: ExperimentDefinition, relations: AppendedMetricsRelations): SqlPart {
  const { bindings, bind } = bindingsInOrder();
  const measures = measuresOf(experiment.metrics);
  const index = (m: Measure) => measures.findIndex((x) => x.key === keyOf(m));
  const days = experiment.window_days;
  const post = `r.occurred_at >= e.exposed_at and r.occurred_at < e.exposed_at + make_interval(days => ?)`;
  const pre = `r.occurred_at >= e.exposed_at - make_interval(days => ?) and r.occurred_at < e.exposed_at`;
  // What the new events add to each events measure: new events only, or for sessions those not among the stored ones'.
  const added = (measure: Measure, when: string) => (measure.value === 'sessions'
    ? `(${bind(aggregate(measure, when, [days]))} - ${bind(aggregate(measure, `${when} and r.stored`, [days]))})`
    : bind(aggregate(measure, `${when} and not r.stored`, [days])));
  const exposure = `
    exposure as (select s.user_key, s.exposed_at from ${relations.stored} s where s.experiment = ${bind({ sql: '?::text', bindings: [experiment.name] })} and s.metric = ${bind({ sql: '?::text', bindings: [experiment.metrics[0]!.name] })})`;
  const columns = measures.flatMap(({ measure, pre: needsPre }, k) => {
    if ('outcomes' in measure) return [];
    return [`${added(measure, post)} as post_${k}`, ...(needsPre ? [`${added(measure, pre)} as pre_${k}`] : [])];
  });
  const eventCte = columns.length === 0 ? undefined : `
    events_values as (
      select e.user_key, ${columns.join(',\n             ')}
      from exposure e join ${relations.events} r on r.user_key = e.user_key
        and r.occurred_at >= e.exposed_at - make_interval(days => ${bind({ sql: '?', bindings: [days] })}) and r.occurred_at < e.exposed_at + make_interval(days => ${bind({ sql: '?', bindings: [days] })})
      group by e.user_key
    )`;
  const fromEvents = (m: Measure) => !('outcomes' in m);
  const sum = (column: string, k: number, when: 'post' | 'pre') => `${column} + coalesce(v.${when}_${k}, 0)::float8`;
  const any = (column: string, k: number, when: 'post' | 'pre') => `greatest(${column}, (coalesce(v.${when}_${k}, 0) > 0)::int::float8)`;
  // Per metric its new value, covariate and denominator; a metric of outcomes keeps its row as stored.
  const updates = experiment.metrics.flatMap((m) => {
    if (m.type === 'ratio') {
      if (!fromEvents(m.numerator) && !fromEvents(m.denominator)) return [];
      const value = fromEvents(m.numerator) ? sum('s.value', index(m.numerator), 'post') : 's.value';
      const denominator = fromEvents(m.denominator) ? sum('s.denominator', index(m.denominator), 'post') : 's.denominator';
      return [{ name: m.name, value, pre: 's.pre_value', denominator }];
    }
    if (!fromEvents(m.measure)) return [];
    const k = index(m.measure);
    const update = m.type === 'binomial' ? any : sum;
    return [{ name: m.name, value: update('s.value', k, 'post'), pre: m.cuped ? update('s.pre_value', k, 'pre') : 's.pre_value', denominator: 's.denominator' }];
  });
  const when = (column: 'value' | 'pre' | 'denominator', stored: string) =>
    updates.length === 0 ? stored : `case s.metric ${updates.map((u) => `when ${bind({ sql: '?::text', bindings: [u.name] })} then ${u[column]}`).join(' ')} else ${stored} end`;
  const value = when('value', 's.value');
  const preValue = when('pre', 's.pre_value');
  const denominator = when('denominator', 's.denominator');
  const experimentName = bind({ sql: '?::text', bindings: [experiment.name] });
  return {
    sql: `
    with ${[exposure, eventCte].filter(Boolean).join(',')}
    select s.experiment, s.user_key, s.variant, s.exposed_at, s.metric, s.metric_type, ${value} as value, ${preValue} as pre_value, ${denominator} as denominator, s.definition_hash
    from ${relations.stored} s ${eventCte ? 'left join events_values v on v.user_key = s.user_key' : ''}
    where s.experiment = ${experimentName}`,
    bindings,
  };
}
