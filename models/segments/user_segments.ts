import { defineModel } from '../../src/models/model-definition.ts';
import type { ProjectContent } from '../../src/project/project.ts';
import { segmentColumns } from '../../src/segments/segment-cube.ts';

/**
 * A function of the project: one column per definition (is_<rule>, <rfm>_band,
 * <cluster>_cluster), so its declared columns follow the definitions. Cube reads this table.
 */
export default (project: ProjectContent) => {
  const columns = segmentColumns(project.segments);
  return defineModel({
    name: 'segments.user_segments',
    description: 'One row per user with one column per segment definition (membership flag, RFM band, cluster): what Cube exposes as segments and dimensions on users.',
    owner: 'data-platform',
    tags: ['segments'],
    columns: {
      user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null', 'unique'] },
      ...Object.fromEntries(columns.map((c) => [c.column, { type: c.type, description: c.description, ...(c.type === 'boolean' ? { tests: ['not_null' as const] } : {}) }])),
    },
    build: (knex, { ref }) => {
      const select = columns.map((c) =>
        c.type === 'boolean'
          ? `coalesce(bool_or(m.definition = ? and m.segment = ?), false) as "${c.column}"`
          : `min(m.segment) filter (where m.definition = ?) as "${c.column}"`,
      );
      const bindings = columns.flatMap((c) => (c.type === 'boolean' ? [c.definition, c.definition] : [c.definition]));
      return knex.raw(
        `select f.user_key${select.length ? ', ' + select.join(', ') : ''}
         from ${ref('features.user_features').toQuery()} f left join ${ref('segments.membership').toQuery()} m using (user_key)
         group by f.user_key`,
        bindings,
      );
    },
  });
};
