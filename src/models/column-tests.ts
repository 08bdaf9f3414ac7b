/**
 * Data tests declared on a model, compiled against a relation (the freshly
 * built one, before it is published). Tests that judge one row at a time
 * (not_null, accepted_values, expression) become conditions
 * counted together in a single scan: on a view, every scan re-runs the view's
 * query, so one scan instead of one per test is most of a build's test cost.
 *
 * With an `increment` (the rows an incremental or append build adds, staged in a
 * temporary table) the tests judge those rows only: row-level tests and
 * relationships scan the increment, `unique` and `unique_combination` look up
 * the increment's keys in the whole relation (through the key's index when
 * there is one). Rows kept from earlier builds are unchanged and passed the same
 * tests then (the runner checks that, ops.model_runs.tests_fingerprint), and
 * any new duplicate involves an added row, so the verdict is the whole table's,
 * at the increment's cost; except relationships, whose old rows are not re-read
 * (docs/architecture.md says why).
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

/**
 * Keys of `column` that occur more than once: all of them, or those of the increment. With
 * an index led by the column, each increment key is counted through it (a cost that follows
 * the increment; the planner would rather hash-join the whole table, measured 3x slower at
 * 300k rows); without one, the increment's keys are semi-joined to one scan of the table.
 */
function uniqueQuery(knex: Knex, model: Model, relation: string, column: string, increment?: string): Knex.Raw {
  if (!increment) {
    return knex.raw(`select count(*)::bigint as failures from (select ?? from ${relation} where ?? is not null group by ?? having count(*) > 1) d`, [column, column, column]);
  }
  if (model.indexes.some((columns) => columns[0] === column)) {
    return knex.raw(
      `select count(*)::bigint as failures from (select distinct i.?? as key from ${increment} i where i.?? is not null) k
       where (select count(*) from ${relation} t where t.?? = k.key) > 1`,
      [column, column, column],
    );
  }
  return knex.raw(
    `select count(*)::bigint as failures from (select ?? from ${relation} where ?? in (select i.?? from ${increment} i where i.?? is not null) group by ?? having count(*) > 1) d`,
    [column, column, column, column, column],
  );
}

/**
 * `increment`: a relation holding the rows the build added to `relation` (already in
 * it): the tests judge those rows only. Unset: every row of `relation`.
 * `replacedBy`: columns such that the build deleted every published row sharing their values with an increment
 * row before adding it (an incremental model's uniqueKey; with replaceFrom, the key, its `by` columns and its column).
 * A kept row then cannot repeat an increment row's values of a superset of them, so a unique test over such a superset
 * looks for duplicates inside the increment alone, not through the whole table (0.04-0.1 s per model on the build
 * bench). Combinations with a null are not matched by the delete's `in`: those are still counted over the table.
 */
export function compileTests(knex: Knex, model: Model, relation: string, increment?: string, replacedBy?: readonly string[]): CompiledTest[] {
  const out: CompiledTest[] = [];
  // Rows a set-level test reads: the increment's, or the relation's.
  const judged = increment ?? relation;
  const withinIncrement = (columns: string[]) => increment !== undefined && replacedBy !== undefined && replacedBy.length > 0 && replacedBy.every((c) => columns.includes(c));
  for (const [column, spec] of Object.entries(model.columns)) {
    for (const test of spec.tests) {
      const name = describeTest(test, column);
      if (test === 'not_null') {
        out.push({ name, column, failingRow: knex.raw(`t.?? is null`, [column]) });
      } else if (test === 'unique') {
        // Duplicates only inside the increment: all of its keys, grouped in it.
        const query = withinIncrement([column]) ? uniqueQuery(knex, model, increment!, column) : uniqueQuery(knex, model, relation, column, increment);
        out.push({ name, column, query });
      } else if ('accepted_values' in test) {
        out.push({ name, column, failingRow: knex.raw(`t.?? is not null and t.??::text <> all(?::text[])`, [column, column, test.accepted_values.map(String)]) });
      } else if ('relationships' in test) {
        // Set-level on purpose: inside an aggregate filter the anti-join would run once per row.
        const target = quoteRelation(test.relationships.to);
        out.push({
          name,
          column,
          query: knex.raw(`select count(*)::bigint as failures from ${judged} c where c.?? is not null and not exists (select 1 from ${target} p where p.?? = c.??)`, [column, test.relationships.field, column]),
        });
      } else {
        // The expression is code from the model file, reviewed like the model's own SQL.
        out.push({ name, column, failingRow: knex.raw(`not coalesce((${test.expression}), false)`) });
      }
    }
  }
  for (const test of model.tests) {
    if ('mutually_exclusive_ranges' in test) {
      out.push(mutuallyExclusiveRanges(knex, model, relation, test.mutually_exclusive_ranges, increment));
      continue;
    }
    const cols = test.unique_combination;
    const list = cols.map(() => '??').join(', ');
    const duplicates = (where: Knex.Raw, among = relation) =>
      knex.raw(`select count(*)::bigint as n from (select ${list} from ${among} r where ${where.toQuery()} group by ${list} having count(*) > 1) d`, [...cols, ...cols]).toQuery();
    const anyNull = (alias: string) => cols.map((c) => knex.raw(`${alias}.?? is null`, [c]).toQuery()).join(' or ');
    // With an increment: the combinations it holds, by a semi-join. Null never equals null in
    // `in`, so combinations with a null are counted apart, and only if the increment has one. With an index led by the
    // first column, its values as an array too (indexedIncrementValues).
    let query = knex.raw(`select (${duplicates(knex.raw('true'))}) as failures`);
    if (increment) {
      const byIndex = indexedIncrementValues(knex, model, increment, cols[0]!);
      const withoutNulls = withinIncrement(cols)
        ? duplicates(knex.raw(`not (${anyNull('r')})`), increment)
        : duplicates(knex.raw(`${byIndex ? `${byIndex} and ` : ''}(${list}) in (select ${list} from ${increment})`, [...cols, ...cols]));
      // The scan for nulls under a CASE: as a condition inside it, the scan was skipped, but the parallel workers
      // planned for it were still started (40-50 ms per test on tables of 100k+ rows; 5 ms now).
      query = knex.raw(`select (${withoutNulls})
                + case when exists (select 1 from ${increment} i where ${anyNull('i')}) then (${duplicates(knex.raw(`${anyNull('r')}`))}) else 0 end as failures`);
    }
    out.push({ name: `unique_combination(${cols.join(', ')})`, column: null, query });
  }
  return out;
}

/**
 * With an index led by `column`, a condition on `r` naming the increment's values of it as an
 * array: one bitmap of their rows, where a semi-join on the key columns alone scanned the whole
 * table (marts.user_days, 6.6k added rows of 284k: 0.13-0.32 s against 0.34-0.63 s).
 */
function indexedIncrementValues(knex: Knex, model: Model, increment: string, column: string): string | undefined {
  if (!model.indexes.some((columns) => columns[0] === column)) return undefined;
  return knex.raw(`r.?? = any(array(select distinct i.?? from ${increment} i))`, [column, column]).toQuery();
}

/**
 * Rows whose range starts before the end of an earlier range of the same partition (ordered by
 * lower, then upper bound; an open-ended earlier range reaches every later one). With an
 * increment: only the partitions it holds, through the first partition column's index when
 * there is one; a new overlap involves an added row, so that is the whole table's verdict.
 */
function mutuallyExclusiveRanges(
  knex: Knex,
  model: Model,
  relation: string,
  spec: { lower_bound_column: string; upper_bound_column: string; partition_by: string[] },
  increment?: string,
): CompiledTest {
  const { lower_bound_column: lower, upper_bound_column: upper, partition_by: by } = spec;
  const list = by.map(() => '??').join(', ');
  const rList = by.map(() => 'r.??').join(', ');
  const byIndex = increment ? indexedIncrementValues(knex, model, increment, by[0]!) : undefined;
  const scope = !increment ? ''
    : (byIndex ? `and ${byIndex} ` : '') + knex.raw(`and (${rList}) in (select ${list} from ${increment})`, [...by, ...by]).toQuery();
  const window = knex.raw(`partition by ${rList} order by r.??, r.?? nulls last rows between unbounded preceding and 1 preceding`, [...by, lower, upper]).toQuery();
  const query = knex.raw(
    `select count(*)::bigint as failures from (
       select r.?? as lower, bool_or(r.?? is null) over w as open_before, max(r.??) over w as reached
       from ${relation} r
       where r.?? is not null and (r.?? is null or r.?? > r.??) ${scope}
       window w as (${window})
     ) x where x.open_before or x.reached > x.lower`,
    [lower, upper, upper, lower, upper, upper, lower],
  );
  return { name: `mutually_exclusive_ranges(${lower}, ${upper} by ${by.join(', ')})`, column: null, query };
}

/**
 * Runs the tests: all row-level ones in one scan (of `increment` when given: the rows
 * the build added, see compileTests), set-level ones each on their own. Outside a
 * transaction (a table's tests read the committed table built beside the published one)
 * the scan and the set-level queries run side by side on the pool's connections: a
 * build's longest path is one model at a time, with the second core idle while a model's
 * tests ran one after another (segments.current_membership: a unique_combination over
 * 3M rows after the not_null scan). Inside one, a transaction has one connection.
 */
export async function runTests(db: Knex | Knex.Transaction, relation: string, tests: CompiledTest[], increment?: string): Promise<TestOutcome[]> {
  const failures = new Map<CompiledTest, number>();
  const rowLevel = tests.filter((t) => t.failingRow);
  const queries: (() => Promise<void>)[] = [];
  if (rowLevel.length) {
    const counts = rowLevel.map((t, i) => `count(*) filter (where ${t.failingRow!.toQuery()})::bigint as f${i}`).join(', ');
    queries.push(async () => {
      const { rows } = await db.raw(`select ${counts} from ${increment ?? relation} t`);
      rowLevel.forEach((t, i) => failures.set(t, Number(rows[0][`f${i}`])));
    });
  }
  for (const test of tests.filter((t) => t.query)) {
    queries.push(async () => {
      const { rows } = await db.raw(test.query!.toQuery());
      failures.set(test, Number(rows[0].failures));
    });
  }
  if (isTransaction(db)) for (const query of queries) await query();
  else await settleAll(queries.map((query) => query()));
  return tests.map((t) => {
    const n = failures.get(t)!;
    return { name: t.name, column: t.column, status: n === 0 ? 'pass' : 'fail', failures: n };
  });
}

const isTransaction = (db: Knex | Knex.Transaction): db is Knex.Transaction => (db as Knex.Transaction).isTransaction === true;

/** Every promise settled before the first rejection is thrown: nothing is left running on a connection behind the caller. */
export async function settleAll<T extends readonly Promise<unknown>[]>(work: readonly [...T]): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(work);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
}

/** What the tests of a view read when they share one run of its query. */
const SHARED_SCAN = '__seglayer_tested';

/**
 * Every test of `relation` in one statement over one run of its query (a materialized
 * CTE). For views: each test scanning a view runs the view's query again, so a view with
 * a unique_combination ran its query twice per build for its tests alone. Tables are
 * read per test instead, where a copy into the CTE would cost more than a second read.
 */
export async function runTestsInOneScan(db: Knex | Knex.Transaction, model: Model, relation: string): Promise<TestOutcome[]> {
  const tests = compileTests(db, model, SHARED_SCAN);
  if (!tests.length) return [];
  const rowLevel = tests.filter((t) => t.failingRow);
  const setLevel = tests.filter((t) => t.query);
  const rowCounts = rowLevel.length
    ? `(select ${rowLevel.map((t, i) => `count(*) filter (where ${t.failingRow!.toQuery()})::bigint as f${i}`).join(', ')} from ${SHARED_SCAN} t)`
    : '(select)';
  const setCounts = setLevel.map((t, i) => `, (${t.query!.toQuery()}) as s${i}`).join('');
  const { rows } = await db.raw(`with ${SHARED_SCAN} as materialized (select * from ${relation}) select r.*${setCounts} from ${rowCounts} r`);
  const failures = new Map<CompiledTest, number>([
    ...rowLevel.map((t, i) => [t, Number(rows[0][`f${i}`])] as const),
    ...setLevel.map((t, i) => [t, Number(rows[0][`s${i}`])] as const),
  ]);
  return tests.map((t) => {
    const n = failures.get(t)!;
    return { name: t.name, column: t.column, status: n === 0 ? 'pass' : 'fail', failures: n };
  });
}
