/**
 * Data tests declared on a model, compiled against a relation (the freshly
 * built one, before it is published). Tests that judge one row at a time
 * (not_null, accepted_values, expression) become conditions
 * counted together in a single scan: on a view, every scan re-runs the view's
 * query, so one scan instead of one per test is most of a build's test cost.
 */
import type { Knex } from 'knex';
import type { ColumnTest } from './model-definition.ts';
import type { Model } from './model-discovery.ts';
import { quoteRelation } from './model-compiler.ts';

export interface CompiledTest {
  /** e.g. `unique(user_key)`. */
  name: string;
  column: string | null;
  /** A condition true for each failing row (row-level tests) ... */
  failingRow?: Knex.Raw;
  /** ... or a query returning `failures` (set-level tests). */
  query?: Knex.Raw;
}

export interface TestOutcome {
  name: string;
  column: string | null;
  status: 'pass' | 'fail';
  failures: number;
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
      const name = describeTest(test, column);
      if (test === 'not_null') {
        out.push({ name, column, failingRow: knex.raw(`t.?? is null`, [column]) });
      } else if (test === 'unique') {
        out.push({ name, column, query: knex.raw(`select count(*)::bigint as failures from (select ?? from ${relation} where ?? is not null group by ?? having count(*) > 1) d`, [column, column, column]) });
      } else if ('accepted_values' in test) {
        out.push({ name, column, failingRow: knex.raw(`t.?? is not null and t.??::text <> all(?::text[])`, [column, column, test.accepted_values.map(String)]) });
      } else if ('relationships' in test) {
        // Set-level on purpose: inside an aggregate filter the anti-join would run once per row.
        const target = quoteRelation(test.relationships.to);
        out.push({
          name,
          column,
          query: knex.raw(`select count(*)::bigint as failures from ${relation} c where c.?? is not null and not exists (select 1 from ${target} p where p.?? = c.??)`, [column, test.relationships.field, column]),
        });
      } else {
        // The expression is code from the model file, reviewed like the model's own SQL.
        out.push({ name, column, failingRow: knex.raw(`not coalesce((${test.expression}), false)`) });
      }
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

/** Runs the tests: all row-level ones in one scan, set-level ones each on their own. */
export async function runTests(db: Knex | Knex.Transaction, relation: string, tests: CompiledTest[]): Promise<TestOutcome[]> {
  const failures = new Map<CompiledTest, number>();
  const rowLevel = tests.filter((t) => t.failingRow);
  if (rowLevel.length) {
    const counts = rowLevel.map((t, i) => `count(*) filter (where ${t.failingRow!.toQuery()})::bigint as f${i}`).join(', ');
    const { rows } = await db.raw(`select ${counts} from ${relation} t`);
    rowLevel.forEach((t, i) => failures.set(t, Number(rows[0][`f${i}`])));
  }
  for (const test of tests.filter((t) => t.query)) {
    const { rows } = await db.raw(test.query!.toQuery());
    failures.set(test, Number(rows[0].failures));
  }
  return tests.map((t) => {
    const n = failures.get(t)!;
    return { name: t.name, column: t.column, status: n === 0 ? 'pass' : 'fail', failures: n };
  });
}
