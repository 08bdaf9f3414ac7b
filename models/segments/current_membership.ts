import { defineModel } from '../../src/models/model-definition.ts';
import type { ProjectContent } from '../../src/project/project.ts';
import { incrementalRuleMembers, TOUCHED_USERS, touchedUsers } from '../../src/segments/incremental-membership.ts';
import { ruleMembers } from '../../src/segments/segment-sql.ts';
import { segmentFeatures } from '../../src/segments/trait-definitions.ts';
import { refreshPolicy, type RuleSegment } from '../../src/segments/segment-definition.ts';

/**
 * A function of the project: the segment definitions decide its SQL. Rule segments with
 * `refresh: incremental` reuse this table's previous version for users no new load batch
 * touched (src/segments/incremental-membership.ts); every other segment is recomputed.
 */
export default (project: ProjectContent) => defineModel({
  name: 'segments.current_membership',
  description: 'Who is in which segment as of this build: rule segments, RFM bands and clusters, one row per user and segment, with the reference time it was computed to.',
  owner: 'data-platform',
  tags: ['segments'],
  readsPrevious: true,
  // Who is in what, for the models updated by delta (marts.cohort_retention, segments.membership_history): a diff of
  // the published table. With the version, which history records (cohort_retention nets it away by segment).
  keepChanges: { columns: ['user_key', 'definition', 'segment', 'version'] },
  tests: [{ unique_combination: ['user_key', 'definition', 'segment'] }],
  columns: {
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null'] },
    definition: { type: 'text', description: 'Definition name (segments/*.yml)', tests: ['not_null'] },
    segment: { type: 'text', description: 'The segment: the definition name for rules, the band for RFM, cluster_n for clusters', tests: ['not_null'] },
    version: { type: 'integer', description: 'Definition version', tests: ['not_null'] },
    reference_at: { type: 'timestamptz', description: 'Reference time of this build (core.reference_time.as_of_at): every window was measured to it', tests: ['not_null'] },
  },
  build: (knex, { ref, previous }) => {
    ref('segments.definition_versions'); // after it: a definition changed under an old version stops membership there
    // Read once for every rule (a CTE): each rule's branch scanned user_features and joined user_traits again (15 times in the demo).
    const features = 'rule_features';
    const featuresSql = segmentFeatures(project.traits, (name) => ref(name).toQuery());
    const referenceTime = ref('core.reference_time').toQuery();
    // Event predicates read events and outcomes up to the features' reference time (as_of_at); counts kept per user, from the facts.
    const sources = {
      events: ref('core.fct_events').toQuery(),
      outcomes: ref('core.fct_outcomes').toQuery(),
      facts: { relation: ref('segments.rule_event_facts').toQuery(), referenceTime },
    };
    const reuse = previous && {
      relation: previous.this.toQuery(),
      newBatches: previous.newBatches,
      referenceTime,
      identities: ref('core.user_identity_map').toQuery(),
      raw: { events: ref('raw.events').toQuery(), outcomes: ref('raw.outcomes').toQuery(), users: ref('raw.users').toQuery(), survey_responses: ref('raw.survey_responses').toQuery() },
    };
    const ruleSegments = project.segments.filter((d): d is RuleSegment => d.kind === 'rule');
    const incremental = reuse && ruleSegments.some((d) => refreshPolicy(d) === 'incremental') ? reuse : undefined;
    const rules = ruleSegments.map((d) =>
      incremental && refreshPolicy(d) === 'incremental' ? incrementalRuleMembers(d, features, project.featureCatalog.catalog, sources, incremental) : ruleMembers(d, features, project.featureCatalog.catalog, sources),
    );
    // The users the new batches touch, found once for every incremental segment.
    const touched = incremental ? touchedUsers(incremental) : undefined;
    const parts = [
      ...rules,
      { sql: `select user_key, definition, band as segment, version from ${ref('segments.rfm_scores').toQuery()} where band is not null`, bindings: [] },
      { sql: `select user_key, definition, segment, version from ${ref('segments.cluster_assignments').toQuery()}`, bindings: [] },
    ];
    const ctes = [...(touched ? [`${TOUCHED_USERS} as materialized (${touched.sql})`] : []), `${features} as materialized (${featuresSql})`];
    return knex.raw(
      `with ${ctes.join(',\n')}\nselect m.user_key, m.definition, m.segment, m.version, (select as_of_at from ${referenceTime}) as reference_at
       from (${parts.map((p) => `(${p.sql})`).join('\nunion all\n')}) m`,
      [...(touched?.bindings ?? []), ...parts.flatMap((p) => p.bindings)],
    );
  },
});
