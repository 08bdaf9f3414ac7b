import { defineModel } from '../../src/models/model-definition.ts';
import type { ProjectContent } from '../../src/project/project.ts';

/**
 * The build's reference time, one row: every time-dependent figure (recency, tenure,
 * age, RFM) is measured to it instead of now(), so rebuilding the same data on another
 * day gives the same features and cohorts. SEGLAYER_REFERENCE_TIME fixes it; unset, it is
 * midnight UTC after the last event or outcome. features.user_features repeats it as as_of_at.
 */
export default (project: ProjectContent) => defineModel({
  name: 'core.reference_time',
  description: 'One row: the reference time every time-dependent figure is measured to, and the last recorded activity it was derived from.',
  owner: 'data-platform',
  tags: ['features'],
  // A pinned time moves the figures through this row, which downstream models read and follow (user_features
  // recomputes everyone when it moves): its SQL changing is no reason to rebuild them in full.
  definitionReadAsData: true,
  columns: {
    as_of_at: { type: 'timestamptz', description: 'Reference time: SEGLAYER_REFERENCE_TIME when set, else midnight UTC after the last event or outcome (the key of the one row)', tests: ['not_null', 'unique'] },
    last_activity_at: { type: 'timestamptz', description: 'Latest event or outcome in the warehouse (null when there is none)' },
    is_configured: { type: 'boolean', description: 'True when as_of_at comes from SEGLAYER_REFERENCE_TIME', tests: ['not_null'] },
  },
  build: (knex, { ref }) =>
    knex.raw(
      `
      with activity as (
        select greatest((select max(occurred_at) from ${ref('core.fct_events')}), (select max(occurred_at) from ${ref('core.fct_outcomes')})) as last_activity_at
      )
      select coalesce(?::timestamptz,
                      (date_trunc('day', last_activity_at at time zone 'UTC') + interval '1 day') at time zone 'UTC',
                      timestamptz '1970-01-01 00:00:00+00') as as_of_at,   -- an empty warehouse still has one, fixed, reference time
             last_activity_at, ?::timestamptz is not null as is_configured
      from activity`,
      [project.settings.referenceTime ?? null, project.settings.referenceTime ?? null],
    ),
});
