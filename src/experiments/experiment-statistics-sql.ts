/**
 * The SQL of an experiment's sufficient statistics: per variant × segment × metric,
 * the sums the statistics module needs (GrowthBook's names: n, sum, sum_squares;
 * pre_* and post_pre_sum_of_products for CUPED; d_* and m_d_sum_of_products for
 * ratios), summed over the per-user rows of marts.experiment_user_metrics
 * (src/experiments/experiment-user-metrics-sql.ts). No raw rows leave the database.
 * Segments: every segment of the listed definitions in segments.current_membership
 * (what changes with the reference time: a grouped pass over the users' rows, never
 * over events), plus `all_users`. Every name from the YAML is a binding.
 */
import type { ExperimentDefinition } from './experiment-definition.ts';
import { experimentUserMetricsSql, exposuresSql } from './experiment-user-metrics-sql.ts';
import type { SqlPart } from './measure-aggregate.ts';

export type { SqlPart } from './measure-aggregate.ts';

/** The segment row that holds every exposed user. */
export const ALL_USERS = 'all_users';

/** The statistics of an experiment from its per-user rows (`metrics`: marts.experiment_user_metrics) and membership. */
export function experimentSegmentsSql(experiment: ExperimentDefinition, relations: { metrics: string; membership: string }): SqlPart {
  const sql = `
    with metrics as (select * from ${relations.metrics} m where m.experiment = ?),
    grouped as (
      select m.*, ?::text as definition, ?::text as segment from metrics m
      union all
      select m.*, c.definition, c.segment
      from metrics m join ${relations.membership} c on c.user_key = m.user_key and c.definition = any(?::text[])
    )
    select ?::text as experiment, variant, definition, segment, metric, metric_type, count(*)::int as n,
           sum(value) as sum, sum(value * value) as sum_squares,
           sum(pre_value) as pre_sum, sum(pre_value * pre_value) as pre_sum_squares, sum(value * pre_value) as post_pre_sum_of_products,
           sum(denominator) as d_sum, sum(denominator * denominator) as d_sum_squares, sum(value * denominator) as m_d_sum_of_products
    from grouped group by variant, definition, segment, metric, metric_type`;
  return { sql, bindings: [experiment.name, ALL_USERS, ALL_USERS, experiment.segments, experiment.name] };
}

export interface Relations {
  assignments: string;
  outcomes: string;
  events: string;
  membership: string;
}

/** The same statistics in one pass from assignments, events and outcomes (the per-user rows as a subquery): for the experiments bench. */
export function experimentStatisticsSql(experiment: ExperimentDefinition, relations: Relations): SqlPart {
  const exposures = exposuresSql(experiment, relations.assignments);
  const metrics = experimentUserMetricsSql(experiment, { exposures: 'exposures', outcomes: relations.outcomes, events: relations.events });
  // Each part's bindings follow its text: exposures, then the per-user rows, then the statistics over them.
  const statistics = experimentSegmentsSql(experiment, { metrics: `(with exposures as (${exposures.sql}) ${metrics.sql})`, membership: relations.membership });
  return { sql: statistics.sql, bindings: [...exposures.bindings, ...metrics.bindings, ...statistics.bindings] };
}
