import { experimentSegmentsSql } from '../../src/experiments/experiment-statistics-sql.ts';
import { defineModel } from '../../src/models/model-definition.ts';
import type { ProjectContent } from '../../src/project/project.ts';

const EMPTY = `select null::text as experiment, null::text as variant, null::text as definition, null::text as segment, null::text as metric,
  null::text as metric_type, null::int as n, null::float8 as sum, null::float8 as sum_squares, null::float8 as pre_sum, null::float8 as pre_sum_squares,
  null::float8 as post_pre_sum_of_products, null::float8 as d_sum, null::float8 as d_sum_squares, null::float8 as m_d_sum_of_products where false`;

/**
 * A function of the project: experiments/*.yml decide its SQL, one grouped pass per experiment over the users'
 * rows of marts.experiment_user_metrics (recomputed for touched users only) joined with current membership.
 */
export default (project: ProjectContent) => defineModel({
  name: 'marts.experiment_statistics',
  description:
    'Sufficient statistics per experiment × variant × segment × metric (GrowthBook names), from first exposure, excluding users seen in two variants. Final statistics are computed from these in TypeScript (src/stats) into marts.experiment_results.',
  owner: 'data-platform',
  tags: ['experiments'],
  tests: [{ unique_combination: ['experiment', 'variant', 'definition', 'segment', 'metric'] }],
  columns: {
    experiment: { type: 'text', description: 'Experiment key (experiments/*.yml name)', tests: ['not_null'] },
    variant: { type: 'text', description: 'Variant of the first exposure', tests: ['not_null'] },
    definition: { type: 'text', description: 'Segment definition broken down by, or all_users', tests: ['not_null'] },
    segment: { type: 'text', description: 'Segment within the definition, or all_users', tests: ['not_null'] },
    metric: { type: 'text', description: 'Metric name from the experiment file', tests: ['not_null'] },
    metric_type: { type: 'text', description: 'binomial, mean or ratio', tests: [{ accepted_values: ['binomial', 'mean', 'ratio'] }] },
    n: { type: 'integer', description: 'Exposed users (the unit of randomisation)', tests: ['not_null', { expression: 'n > 0' }] },
    sum: { type: 'double precision', description: 'Σy: successes (binomial), Σvalue (mean) or ΣM (ratio numerator) within the window', tests: ['not_null'] },
    sum_squares: { type: 'double precision', description: 'Σy²', tests: ['not_null'] },
    pre_sum: { type: 'double precision', description: 'CUPED: Σx of the pre-exposure covariate (null without CUPED)' },
    pre_sum_squares: { type: 'double precision', description: 'CUPED: Σx²' },
    post_pre_sum_of_products: { type: 'double precision', description: 'CUPED: Σxy' },
    d_sum: { type: 'double precision', description: 'Ratio: ΣD of the denominator (null for other metrics)' },
    d_sum_squares: { type: 'double precision', description: 'Ratio: ΣD²' },
    m_d_sum_of_products: { type: 'double precision', description: 'Ratio: ΣMD' },
  },
  build: (knex, { ref }) => {
    const relations = { metrics: ref('marts.experiment_user_metrics').toQuery(), membership: ref('segments.current_membership').toQuery() };
    const parts = project.experiments.map((e) => experimentSegmentsSql(e, relations));
    if (parts.length === 0) return knex.raw(EMPTY);
    return knex.raw(parts.map((p) => `(${p.sql})`).join('\nunion all\n'), parts.flatMap((p) => p.bindings) as never);
  },
});
