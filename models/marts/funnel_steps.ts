import { NO_SEGMENT, funnelStepsSql } from '../../src/funnels/funnel-sql.ts';
import { defineModel } from '../../src/models/model-definition.ts';
import type { ProjectContent } from '../../src/project/project.ts';

/** The columns' types, for the empty relation built when there are no funnels. */
const EMPTY = `select null::text as funnel, null::int as step_number, null::text as step_title, null::text as event, null::text as breakdown_definition,
  null::text as segment, null::bigint as users, null::bigint as previous_step_users, null::float8 as conversion_from_previous,
  null::float8 as conversion_from_previous_ci_lower, null::float8 as conversion_from_previous_ci_upper, null::bigint as first_step_users,
  null::float8 as conversion_from_first, null::float8 as conversion_from_first_ci_lower, null::float8 as conversion_from_first_ci_upper,
  null::float8 as median_seconds_from_previous, null::float8 as median_seconds_from_first, null::text as conversion_window where false`;

/**
 * A function of the project: one grouped query over every funnels/*.yml definition (src/funnels/funnel-sql.ts) and
 * the users' progress (marts.user_funnel_progress, recomputed for touched users only), joined with membership.
 */
export default (project: ProjectContent) => defineModel({
  name: 'marts.funnel_steps',
  description: `Funnels as code (funnels/*.yml): per funnel, step and segment of its breakdown definition ("all" for everyone, "${NO_SEGMENT}" for users in no segment of it), the users who reached the step in order within the conversion window, conversion from the previous and the first step with Wilson 95% CIs, and the median time to convert.`,
  owner: 'data-platform',
  tags: ['marts', 'funnels'],
  tests: [{ unique_combination: ['funnel', 'segment', 'step_number'] }],
  columns: {
    funnel: { type: 'text', description: 'Funnel name', tests: ['not_null'] },
    step_number: { type: 'integer', description: 'Step, 1 = first', tests: ['not_null'] },
    step_title: { type: 'text', description: 'Step label (its title, else its event)', tests: ['not_null'] },
    event: { type: 'text', description: 'Event the step matches', tests: ['not_null'] },
    breakdown_definition: { type: 'text', description: 'Segment definition the funnel is broken down by; "all" without breakdown', tests: ['not_null'] },
    segment: { type: 'text', description: `Segment (current membership); "all" for everyone, "${NO_SEGMENT}" for users in none`, tests: ['not_null'] },
    users: { type: 'bigint', description: 'Users who reached this step in order within the window', tests: ['not_null'] },
    previous_step_users: { type: 'bigint', description: 'Users who reached the previous step (null at step 1)' },
    conversion_from_previous: { type: 'double precision', description: 'users / previous_step_users' },
    conversion_from_previous_ci_lower: { type: 'double precision', description: 'Wilson 95% CI lower bound' },
    conversion_from_previous_ci_upper: { type: 'double precision', description: 'Wilson 95% CI upper bound' },
    first_step_users: { type: 'bigint', description: 'Users who reached step 1', tests: ['not_null'] },
    conversion_from_first: { type: 'double precision', description: 'users / first_step_users' },
    conversion_from_first_ci_lower: { type: 'double precision', description: 'Wilson 95% CI lower bound' },
    conversion_from_first_ci_upper: { type: 'double precision', description: 'Wilson 95% CI upper bound' },
    median_seconds_from_previous: { type: 'double precision', description: 'Median seconds from the previous step to this one, among users who reached it' },
    median_seconds_from_first: { type: 'double precision', description: 'Median seconds from step 1 to this one, among users who reached it' },
    conversion_window: { type: 'text', description: 'The funnel’s conversion window, from step 1', tests: ['not_null'] },
  },
  build: (knex, { ref }) => {
    if (project.funnels.length === 0) return knex.raw(EMPTY);
    const relations = { progress: ref('marts.user_funnel_progress').toQuery(), membership: ref('segments.membership').toQuery() };
    const { sql, bindings } = funnelStepsSql(project.funnels, relations);
    return knex.raw(sql, bindings);
  },
});
