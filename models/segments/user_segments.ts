import { defineModel } from '../../src/models/model-definition.ts';
import type { ProjectContent } from '../../src/project/project.ts';
import { segmentColumns } from '../../src/segments/segment-cube.ts';

/**
 * A function of the project: one column per definition (is_<rule>, <rfm>_band,
 * <cluster>_cluster), so its declared columns follow the definitions. Cube reads this table.
 *
 * A user's row depends only on which (definition, segment) rows of segments.membership are
 * theirs, so when membership's kept changes follow the version this table was computed from
 * (delta maintenance, src/models/model-changes.ts) only the users in those changes and users
 * new to features.user_features are pivoted again; the other rows are copied, and users no
 * longer in user_features dropped. Otherwise every user is pivoted, which stays the definition.
 */
export default (project: ProjectContent) => {
  const columns = segmentColumns(project.segments);
  return defineModel({
    name: 'segments.user_segments',
    description: 'One row per user with one column per segment definition (membership flag, RFM band, cluster): what Cube exposes as segments and dimensions on users.',
    owner: 'data-platform',
    tags: ['segments'],
    deltaFrom: ['segments.membership'],
    columns: {
      user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null', 'unique'] },
      ...Object.fromEntries(columns.map((c) => [c.column, { type: c.type, description: c.description, ...(c.type === 'boolean' ? { tests: ['not_null' as const] } : {}) }])),
    },
    build: (knex, { ref, delta }) => {
      const select = columns.map((c) =>
        c.type === 'boolean'
          ? `coalesce(bool_or(m.definition = ? and m.segment = ?), false) as "${c.column}"`
          : `min(m.segment) filter (where m.definition = ?) as "${c.column}"`,
      );
      const bindings = columns.flatMap((c) => (c.type === 'boolean' ? [c.definition, c.definition] : [c.definition]));
      const users = ref('features.user_features').toQuery();
      const pivot = (where: string) => `select f.user_key${select.length ? ', ' + select.join(', ') : ''}
         from ${users} f left join ${ref('segments.membership').toQuery()} m using (user_key)${where}
         group by f.user_key`;
      if (!delta) return knex.raw(pivot(''), bindings);
      const self = delta.this.toQuery();
      const names = ['user_key', ...columns.map((c) => c.column)].map((c) => `p."${c}"`).join(', ');
      return knex.raw(
        `with redo as materialized (
           select user_key from ${delta.changes['segments.membership']!.toQuery()}
           union
           select f.user_key from ${users} f where not exists (select 1 from ${self} p where p.user_key = f.user_key)
         )
         select ${names} from ${self} p
         where exists (select 1 from ${users} f where f.user_key = p.user_key) and not exists (select 1 from redo r where r.user_key = p.user_key)
         union all
         ${pivot('\n         where f.user_key in (select user_key from redo)')}`,
        bindings,
      );
    },
  });
};
