/**
 * Data tests declared on a model's columns, compiled to queries that count
 * failing rows in a relation (the freshly built one, before it is published).
 */
import type { Knex } from 'knex';
import type { ColumnTest } from './model-definition.ts';
import type { Model } from './model-discovery.ts';
import { quoteRelation } from './model-compiler.ts';

export interface CompiledTest {
  /** e.g. `unique(user_key)`. */
  name: string;
  column: string | null;
  /** Counts failing rows. */
  query: Knex.Raw;
}

function describeTest(test: ColumnTest, column: string): string {
  if (typeof test === 'string') return `${test}(${column})`;
  if ('accepted_values' in test) return `accepted_values(${column})`;
  if ('relationships' in test) return `relationships(${column} -> ${test.relationships.to}.${test.relationships.field})`;
  return `expression(${column}: ${test.expression})`;
}

export function compileTests(knex: Knex, model: Model, relation: string): CompiledTest[] {
  const out: CompiledTest[] = [];
  for (const [column, spec] of Object.entries(model.columns)) {
    for (const test of spec.tests) {
      let query: Knex.Raw;
      if (test === 'not_null') {
        query = knex.raw(`select count(*)::bigint as failures from ${relation} where ?? is null`, [column]);
      } else if (test === 'unique') {
        query = knex.raw(`select count(*)::bigint as failures from (select ?? from ${relation} where ?? is not null group by ?? having count(*) > 1) d`, [column, column, column]);
      } else if ('accepted_values' in test) {
        const values = test.accepted_values.map(String);
        query = knex.raw(`select count(*)::bigint as failures from ${relation} where ?? is not null and ??::text <> all(?::text[])`, [column, column, values]);
      } else if ('relationships' in test) {
        const target = quoteRelation(test.relationships.to);
        query = knex.raw(
          `select count(*)::bigint as failures from ${relation} c where c.?? is not null and not exists (select 1 from ${target} p where p.?? = c.??)`,
          [column, test.relationships.field, column],
        );
      } else {
        // The expression is code from the model file, reviewed like the model's own SQL.
        query = knex.raw(`select count(*)::bigint as failures from ${relation} where not coalesce((${test.expression}), false)`);
      }
      out.push({ name: describeTest(test, column), column, query });
    }
  }
  for (const test of model.tests) {
    const cols = test.unique_combination;
    const list = cols.map(() => '??').join(', ');
    out.push({
      name: `unique_combination(${cols.join(', ')})`,
      column: null,
      query: knex.raw(`select count(*)::bigint as failures from (select ${list} from ${relation} group by ${list} having count(*) > 1) d`, [...cols, ...cols]),
    });
  }
  return out;
}
