/**
 * The SQL of an experiment's sufficient statistics: one set-based pass that
 * gives, per variant × segment × metric, the sums the statistics module needs
 * (GrowthBook's names: n, sum, sum_squares; pre_* and post_pre_sum_of_products
 * for CUPED; d_* and m_d_sum_of_products for ratios). No raw rows leave the
 * database. Every name from the YAML (experiment, variants, events, outcome
 * types, metric and segment names) is a binding.
 *
 * Exposure: the user's first assignment (core.fct_experiment_assignments).
 * Users assigned more than one variant, or a variant the definition does not
 * list, are left out here and counted by experiment-exclusions.
 * Metric windows: [exposed_at, exposed_at + window_days) after exposure;
 * the CUPED covariate is the same measure in [exposed_at − window_days, exposed_at).
 * Segments: every segment of the listed definitions in segments.current_membership,
 * plus `all_users`.
 */
import type { ExperimentDefinition, ExperimentMetric, Measure } from './experiment-definition.ts';

export interface SqlPart {
  sql: string;
  bindings: unknown[];
}

/** The segment row that holds every exposed user. */
export const ALL_USERS = 'all_users';

export interface Relations {
  assignments: string;
  outcomes: string;
  events: string;
  membership: string;
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

/** One aggregate over joined rows `r` (outcomes or events) for the window `when` (changes/*.yml measure the same way). */
export function aggregate(measure: Measure, when: string, whenBindings: unknown[]): SqlPart {
  if ('outcomes' in measure) {
    const filter = `r.outcome_type = any(?::text[]) and ${when}`;
    const bindings = [measure.outcomes, ...whenBindings];
    return measure.value === 'count'
      ? { sql: `count(*) filter (where ${filter})`, bindings }
      : { sql: `coalesce(sum(r.revenue_usd) filter (where ${filter}), 0)`, bindings };
  }
  const filter = `r.event = any(?::text[]) and ${when}`;
  const bindings = [measure.events, ...whenBindings];
  return measure.value === 'count' ? { sql: `count(*) filter (where ${filter})`, bindings } : { sql: `count(distinct r.session_id) filter (where ${filter})`, bindings };
}

export function experimentStatisticsSql(experiment: ExperimentDefinition, relations: Relations): SqlPart {
  const bindings: unknown[] = [];
  const bind = (part: SqlPart) => {
    bindings.push(...part.bindings);
    return part.sql;
  };
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
    exposure as (
      select user_key, variant, assigned_at as exposed_at
      from ${relations.assignments}
      where experiment = ${bind({ sql: '?', bindings: [experiment.name] })} and variant_count = 1 and variant = any(${bind({ sql: '?::text[]', bindings: [experiment.variants.map((v) => v.name)] })})
    )`;
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
      select e.user_key, e.variant, ${unitColumns.join(', ')}
      from exposure e
      ${outcomeCte ? 'left join outcomes_values o on o.user_key = e.user_key' : ''}
      ${eventCte ? 'left join events_values v on v.user_key = e.user_key' : ''}
    )`;
  const allUsers = () => bind({ sql: '?::text', bindings: [ALL_USERS] });
  const grouped = `
    grouped as (
      select u.*, ${allUsers()} as definition, ${allUsers()} as segment from units u
      union all
      select u.*, m.definition, m.segment
      from units u join ${relations.membership} m on m.user_key = u.user_key and m.definition = any(${bind({ sql: '?::text[]', bindings: [experiment.segments] })})
    )`;
  const sums = experiment.metrics.flatMap((m, i) => {
    const columns = [`sum(y_${i}) as s_${i}`, `sum(y_${i} * y_${i}) as ss_${i}`];
    if (m.type === 'ratio') columns.push(`sum(d_${i}) as ds_${i}`, `sum(d_${i} * d_${i}) as dss_${i}`, `sum(y_${i} * d_${i}) as yd_${i}`);
    else if (m.cuped) columns.push(`sum(x_${i}) as xs_${i}`, `sum(x_${i} * x_${i}) as xss_${i}`, `sum(y_${i} * x_${i}) as yx_${i}`);
    return columns;
  });
  const aggregated = `
    aggregated as (
      select definition, segment, variant, count(*)::int as n, ${sums.join(', ')}
      from grouped group by definition, segment, variant
    )`;
  const experimentName = bind({ sql: '?::text', bindings: [experiment.name] });
  // Unpivot: one row per metric, from the one aggregate row per variant × segment.
  const rows = experiment.metrics.map((m, i) => {
    const name = bind({ sql: '?::text', bindings: [m.name] });
    const type = bind({ sql: '?::text', bindings: [m.type] });
    const cupedOrNull = (column: string) => (m.type !== 'ratio' && m.cuped ? `a.${column}_${i}` : 'null::float8');
    const ratioOrNull = (column: string) => (m.type === 'ratio' ? `a.${column}_${i}` : 'null::float8');
    return `(${name}, ${type}, a.s_${i}, a.ss_${i}, ${cupedOrNull('xs')}, ${cupedOrNull('xss')}, ${cupedOrNull('yx')}, ${ratioOrNull('ds')}, ${ratioOrNull('dss')}, ${ratioOrNull('yd')})`;
  });
  const ctes = [exposure, outcomeCte, eventCte, units, grouped, aggregated].filter(Boolean).join(',');
  const sql = `
    with ${ctes}
    select ${experimentName} as experiment, a.variant, a.definition, a.segment, s.metric, s.metric_type, a.n,
           s.sum, s.sum_squares, s.pre_sum, s.pre_sum_squares, s.post_pre_sum_of_products,
           s.d_sum, s.d_sum_squares, s.m_d_sum_of_products
    from aggregated a
    cross join lateral (values ${rows.join(',\n      ')})
      as s(metric, metric_type, sum, sum_squares, pre_sum, pre_sum_squares, post_pre_sum_of_products, d_sum, d_sum_squares, m_d_sum_of_products)`;
  return { sql, bindings };
}
