import { changeStatisticsSql } from '../../src/changes/change-statistics-sql.ts';
import { defineModel } from '../../src/models/model-definition.ts';
import type { ProjectContent } from '../../src/project/project.ts';

const EMPTY = `select null::text as change, null::text as "group", null::text as definition, null::text as segment, null::text as membership_basis,
  null::boolean as comparison_is_everyone_else, null::text as metric, null::text as metric_type, null::int as n,
  null::float8 as pre_sum, null::float8 as pre_sum_squares, null::float8 as post_sum, null::float8 as post_sum_squares, null::float8 as post_pre_sum_of_products,
  null::int as trend_weeks, null::float8 as slope_sum, null::float8 as slope_sum_squares where false`;

/** A function of the project: changes/*.yml decide its SQL (one set-based pass per change). */
export default (project: ProjectContent) => defineModel({
  name: 'marts.change_statistics',
  description:
    'Sufficient statistics per change (changes/*.yml) × group (exposed, comparison) × metric: n, Σ and Σ² of each user\'s value before and after the release, Σ(post·pre), and Σ and Σ² of each user\'s weekly slope before it. The difference-in-differences is computed from these in TypeScript (src/stats) into marts.change_effects.',
  owner: 'data-platform',
  tags: ['changes'],
  tests: [{ unique_combination: ['change', 'group', 'metric'] }],
  columns: {
    change: { type: 'text', description: 'Change key (changes/*.yml name)', tests: ['not_null'] },
    group: { type: 'text', description: 'exposed or comparison', tests: [{ accepted_values: ['exposed', 'comparison'] }] },
    definition: { type: 'text', description: 'Segment definition of the group, or everyone_else', tests: ['not_null'] },
    segment: { type: 'text', description: 'Segment of the group, or everyone_else', tests: ['not_null'] },
    membership_basis: { type: 'text', description: 'as_of_release (from segments.membership_history) or current (history does not reach back to the release)', tests: [{ accepted_values: ['as_of_release', 'current'] }] },
    comparison_is_everyone_else: { type: 'boolean', description: 'The comparison group is every user not exposed', tests: ['not_null'] },
    metric: { type: 'text', description: 'Metric name from the change file', tests: ['not_null'] },
    metric_type: { type: 'text', description: 'binomial or mean', tests: [{ accepted_values: ['binomial', 'mean'] }] },
    n: { type: 'integer', description: 'Users in the group first seen before the pre window (0 when none)', tests: ['not_null', { expression: 'n >= 0' }] },
    pre_sum: { type: 'double precision', description: 'Σ of the value in the pre window (binomial: users with it)', tests: ['not_null'] },
    pre_sum_squares: { type: 'double precision', description: 'Σ of the squared pre value', tests: ['not_null'] },
    post_sum: { type: 'double precision', description: 'Σ of the value in the post window', tests: ['not_null'] },
    post_sum_squares: { type: 'double precision', description: 'Σ of the squared post value', tests: ['not_null'] },
    post_pre_sum_of_products: { type: 'double precision', description: 'Σ post·pre over the group\'s users', tests: ['not_null'] },
    trend_weeks: { type: 'integer', description: 'Whole weeks of the pre window used for the parallel-trends slope', tests: ['not_null'] },
    slope_sum: { type: 'double precision', description: 'Σ of each user\'s least-squares slope of the weekly value over the trend weeks', tests: ['not_null'] },
    slope_sum_squares: { type: 'double precision', description: 'Σ of the squared slopes', tests: ['not_null'] },
  },
  build: (knex, { ref }) => {
    const relations = {
      outcomes: ref('core.fct_outcomes').toQuery(),
      events: ref('core.fct_events').toQuery(),
      membership: ref('segments.current_membership').toQuery(),
      history: ref('segments.membership_history').toQuery(),
      users: ref('core.dim_users').toQuery(),
    };
    const parts = project.changes.map((c) => changeStatisticsSql(c, relations));
    if (parts.length === 0) return knex.raw(EMPTY);
    return knex.raw(parts.map((p) => `(${p.sql})`).join('\nunion all\n'), parts.flatMap((p) => p.bindings) as never);
  },
});
