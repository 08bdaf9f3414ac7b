import { defineModel } from '../../src/models/model-definition.ts';
import { segmentFeatures } from '../../src/segments/trait-definitions.ts';
import type { ProjectContent } from '../../src/project/project.ts';
import { rfmScores } from '../../src/segments/segment-sql.ts';
import type { RfmSegment } from '../../src/segments/segment-definition.ts';

/** A function of the project: the segment definitions decide its SQL. */
export default (project: ProjectContent) => defineModel({
  name: 'segments.rfm_scores',
  description: 'Recency, frequency and monetary scores (1–5, by each definition\'s scoring method: rank, qcut or rank_first) and the band of every scored user, per RFM definition in segments/.',
  owner: 'data-platform',
  tags: ['segments'],
  tests: [{ unique_combination: ['user_key', 'definition'] }],
  columns: {
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null'] },
    definition: { type: 'text', description: 'RFM definition name', tests: ['not_null'] },
    version: { type: 'integer', description: 'Definition version', tests: ['not_null'] },
    recency_value: { description: 'Recency in days: the numeric feature the definition names, or whole days from its time feature to the reference' },
    frequency_value: { description: 'The frequency feature, in the type of the feature the definition names' },
    monetary_value: { description: 'The monetary feature, in the type of the feature the definition names' },
    r: { type: 'integer', description: 'Recency score, 5 = most recent', tests: ['not_null', { accepted_values: [1, 2, 3, 4, 5] }] },
    f: { type: 'integer', description: 'Frequency score, 5 = most frequent', tests: ['not_null', { accepted_values: [1, 2, 3, 4, 5] }] },
    m: { type: 'integer', description: 'Monetary score, 5 = highest value', tests: ['not_null', { accepted_values: [1, 2, 3, 4, 5] }] },
    band: { type: 'text', description: 'First band whose rule holds; null when none does' },
  },
  build: (knex, { ref }) => {
    const parts = project.segments.filter((d): d is RfmSegment => d.kind === 'rfm').map((d) => rfmScores(d, segmentFeatures(project.traits, (name) => ref(name).toQuery()), project.featureCatalog.catalog, ref('core.reference_time').toQuery()));
    if (parts.length === 0) {
      return knex.raw(`select null::text as user_key, null::text as definition, null::int as version, null::numeric as recency_value, null::numeric as frequency_value,
        null::numeric as monetary_value, null::int as r, null::int as f, null::int as m, null::text as band where false`);
    }
    return knex.raw(parts.map((p) => `(${p.sql})`).join('\nunion all\n'), parts.flatMap((p) => p.bindings));
  },
});
