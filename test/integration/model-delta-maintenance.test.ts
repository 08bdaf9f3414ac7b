/**
 * Delta maintenance (src/models/model-changes.ts): a model with `deltaFrom` is updated from
 * its upstream's kept changes only when they follow exactly the version it was computed from,
 * and computed from scratch otherwise: after a run that skipped it, a run in which it failed,
 * a full build of the upstream, and a change of its SQL. Fixture: core.delta_items (incremental
 * by key, keepChanges) copies raw.delta_input for the keys in raw.delta_touched; core.delta_totals
 * sums it, by delta when it may (its action says which).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { discoverModels } from '../../src/models/model-discovery.ts';
import { runModels, type RunOptions } from '../../src/models/model-runner.ts';
import { writeModels } from '../support/fixture-models.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';

const DEFINE = `${PROJECT_ROOT}/src/models/model-definition.ts`;
const items = `import { defineModel } from '${DEFINE}';
export default defineModel({
  name: 'core.delta_items', description: 'fixture', owner: 'tests', materialized: 'incremental',
  incremental: { uniqueKey: 'k' }, keepChanges: {},
  staleKeys: (knex) => knex.raw('select k from raw.delta_touched where k not in (select k from raw.delta_input)'),
  columns: { k: { description: 'key', tests: ['not_null'] }, v: { description: 'value', type: 'integer', tests: [] } },
  build: (knex, { incremental }) => knex.raw(\`select k, v from raw.delta_input \${incremental ? 'where k in (select k from raw.delta_touched)' : ''}\`),
});
`;
/** A table model: its kept changes are a diff of the published table and the new one. */
const bag = `import { defineModel } from '${DEFINE}';
export default defineModel({
  name: 'core.delta_bag', description: 'fixture', owner: 'tests', materialized: 'table', keepChanges: { columns: ['k'] },
  columns: { k: { description: 'key', tests: [] }, v: { description: 'value', type: 'integer', tests: [] } },
  build: (knex) => knex.raw('select k, v from raw.delta_bag'),
});
`;
/** An append model: its kept changes are the rows each build appends. */
const log = `import { defineModel } from '${DEFINE}';
export default defineModel({
  name: 'core.delta_log', description: 'fixture', owner: 'tests', materialized: 'append', keepChanges: {},
  columns: { k: { description: 'key', tests: [] }, v: { description: 'value', type: 'integer', tests: [] } },
  build: (knex, { appendTo }) => knex.raw(\`select k, v from raw.delta_bag \${appendTo ? \`where v > (select coalesce(max(v), 0) from \${appendTo.toQuery()})\` : ''}\`),
});
`;
/** A table model keeping a JSON column among its changes. */
const docs = `import { defineModel } from '${DEFINE}';
export default defineModel({
  name: 'core.delta_docs', description: 'fixture', owner: 'tests', materialized: 'table', keepChanges: {},
  columns: { k: { description: 'key', tests: [] }, doc: { description: 'document', type: 'jsonb', tests: [] } },
  build: (knex) => knex.raw("select k, jsonb_build_object('v', v) as doc from raw.delta_bag"),
});
`;
/** A table model with a set-level test: its diff is staged beside that test, before the publish. */
const strict = `import { defineModel } from '${DEFINE}';
export default defineModel({
  name: 'core.delta_strict', description: 'fixture', owner: 'tests', materialized: 'table', keepChanges: {},
  columns: { k: { description: 'key', tests: ['not_null', 'unique'] }, v: { description: 'value', type: 'integer', tests: [] } },
  build: (knex) => knex.raw('select k, v from raw.delta_bag'),
});
`;
/** Fails while raw.delta_fail has a row; `note` changes the full SQL (and so its fingerprint). */
const totals = (note = '') => `import { defineModel } from '${DEFINE}';
const failSwitch = 'where 1 / (select case when exists (select 1 from raw.delta_fail) then 0 else 1 end) = 1';
export default defineModel({
  name: 'core.delta_totals', description: 'fixture', owner: 'tests', materialized: 'table', deltaFrom: ['core.delta_items'],
  columns: { total: { description: 'sum of v', type: 'bigint', tests: [] }, n: { description: 'rows', type: 'bigint', tests: [] } },
  build: (knex, { ref, delta }) => {
    const source = ref('core.delta_items');
    return knex.raw(delta
      ? \`select t.total + coalesce(sum(case when c.change = 'added' then c.v else -c.v end), 0)::bigint as total,
                t.n + coalesce(sum(case c.change when 'added' then 1 when 'removed' then -1 end), 0)::bigint as n
         from \${delta.this} t left join \${delta.changes['core.delta_items']} c on true \${failSwitch} group by t.total, t.n\`
      : \`select coalesce(sum(v), 0)::bigint as total, count(*)::bigint as n from \${source} \${failSwitch} ${note}\`);
  },
});
`;

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await db.knex.raw(`create table raw.delta_input (k text primary key, v integer); create table raw.delta_touched (k text); create table raw.delta_fail (x int); create table raw.delta_bag (k text, v integer)`);
});
afterAll(() => db.drop());

const modelsWith = async (note?: string) => discoverModels(PROJECT_ROOT, writeModels([
  { name: 'core.delta_items', sql: '', source: items },
  { name: 'core.delta_totals', sql: '', source: totals(note) },
  { name: 'core.delta_bag', sql: '', source: bag },
  { name: 'core.delta_log', sql: '', source: log },
  { name: 'core.delta_docs', sql: '', source: docs },
  { name: 'core.delta_strict', sql: '', source: strict },
]));
/** Sets rows of raw.delta_input (null: deletes it) and marks their keys touched. */
const change = async (rows: Record<string, number | null>) => {
  await db.knex.raw(`truncate raw.delta_touched`);
  for (const [k, v] of Object.entries(rows)) {
    await db.knex.raw(`delete from raw.delta_input where k = ?`, [k]);
    if (v !== null) await db.knex.raw(`insert into raw.delta_input values (?, ?)`, [k, v]);
    await db.knex.raw(`insert into raw.delta_touched values (?)`, [k]);
  }
};
/** Builds; returns core.delta_totals' action (undefined when not built) after checking it against a sum of the input. */
const build = async (options: RunOptions & { note?: string } = {}) => {
  const summary = await runModels(db.knex, db.url, await modelsWith(options.note), options);
  const result = summary.results.find((r) => r.model === 'core.delta_totals');
  if (result?.status === 'success') {
    const expected = (await db.knex.raw(`select coalesce(sum(v), 0)::int as total, count(*)::int as n from raw.delta_input`)).rows[0];
    const built = (await db.knex.raw(`select total::int, n::int from core.delta_totals`)).rows[0];
    expect(built).toEqual(expected);
  }
  return { summary, action: result?.status === 'success' ? result.action : result?.status };
};
const DELTA = /\(delta from core\.delta_items\)$/;

it('applies the kept changes when they follow the version it was computed from', async () => {
  await change({ a: 1, b: 2, c: 3 });
  expect((await build()).action).toBe('created');
  await change({ a: 10, d: 4 });
  expect((await build()).action).toMatch(DELTA);
  await change({ b: null }); // a key that goes: only its removal is a change
  expect((await build()).action).toMatch(DELTA);
  const kept = (await db.knex.raw(`select change, k, v from core.__seglayer_changes_delta_items order by 1, 2`)).rows;
  expect(kept).toEqual([{ change: 'removed', k: 'b', v: 2 }]);
});

it('computes from scratch after a run that skipped it, then applies deltas again', async () => {
  await change({ c: 30 });
  expect((await build({ exclude: ['core.delta_totals'] })).action).toBeUndefined();
  await change({ d: 40 });
  const { action } = await build();
  expect(action).toBe('swapped');
  await change({ a: 100 });
  expect((await build()).action).toMatch(DELTA);
});

it('computes from scratch after a run in which it failed', async () => {
  await db.knex.raw(`insert into raw.delta_fail values (1)`);
  await change({ e: 5 });
  const failed = await build();
  expect(failed.action).toBe('error');
  expect(failed.summary.results.find((r) => r.model === 'core.delta_items')!.status).toBe('success');
  await db.knex.raw(`truncate raw.delta_fail`);
  await change({ e: 50 });
  expect((await build()).action).toBe('swapped');
  expect((await build()).action).toMatch(DELTA);
});

it('computes from scratch after a full build of its upstream, on --full-refresh and when its SQL changed', async () => {
  await change({ f: 6 });
  await build({ select: ['core.delta_items'], fullRefresh: true });
  await change({ f: 60 });
  expect((await build()).action).toBe('swapped');
  await change({ g: 7 });
  expect((await build({ fullRefresh: true })).action).toBe('swapped');
  await change({ g: 70 });
  expect((await build({ note: '-- changed' })).action).toBe('swapped');
  await change({ g: 700 });
  expect((await build({ note: '-- changed' })).action).toMatch(DELTA);
});

it("keeps a table model's changes as a multiset diff of the kept columns, nulls included", async () => {
  await db.knex.raw(`insert into raw.delta_bag values ('a', 1), ('a', 2), (null, 3), ('b', 4)`);
  await build({ select: ['core.delta_bag'] });
  await db.knex.raw(`truncate raw.delta_bag; insert into raw.delta_bag values ('a', 9), (null, 3), (null, 5), ('c', 6), ('c', 7)`);
  await build({ select: ['core.delta_bag'] });
  const kept = (await db.knex.raw(`select change, k from core.__seglayer_changes_delta_bag order by 1, 2 nulls first`)).rows;
  // a: 2 -> 1 (v is not kept), null: 1 -> 2, b: gone, c: twice new.
  expect(kept).toEqual([
    { change: 'added', k: null }, { change: 'added', k: 'c' }, { change: 'added', k: 'c' },
    { change: 'removed', k: 'a' }, { change: 'removed', k: 'b' },
  ]);
  const stamp = (await db.knex.raw(`select follows_run_id is not null as follows from ops.model_changes where model = 'core.delta_bag'`)).rows;
  expect(stamp).toEqual([{ follows: true }]);
});

it("keeps an append model's appended rows as its changes, following its previous publish", async () => {
  await db.knex.raw(`drop table if exists core.delta_log; truncate raw.delta_bag; insert into raw.delta_bag values ('a', 1), ('b', 2)`);
  await build({ select: ['core.delta_log'] }); // first build: created, no diff
  const stamp = async () => (await db.knex.raw(`select follows_run_id is not null as follows from ops.model_changes where model = 'core.delta_log'`)).rows;
  expect(await stamp()).toEqual([{ follows: false }]);
  await db.knex.raw(`insert into raw.delta_bag values ('c', 3), ('c', 4)`);
  await build({ select: ['core.delta_log'] });
  const kept = (await db.knex.raw(`select change, k, v from core.__seglayer_changes_delta_log order by v`)).rows;
  expect(kept).toEqual([{ change: 'added', k: 'c', v: 3 }, { change: 'added', k: 'c', v: 4 }]);
  expect(await stamp()).toEqual([{ follows: true }]);
  await build({ select: ['core.delta_log'] }); // nothing new: no changes, still a diff of the previous publish
  expect((await db.knex.raw(`select count(*)::int as n from core.__seglayer_changes_delta_log`)).rows).toEqual([{ n: 0 }]);
  expect(await stamp()).toEqual([{ follows: true }]);
});

it('analyzes the kept changes, JSON columns aside, on a small sample, so the models reading them plan on their size', async () => {
  await db.knex.raw(`truncate raw.delta_bag; insert into raw.delta_bag select 'k' || g, g from generate_series(1, 4000) g`);
  await build({ select: ['core.delta_docs'] });
  await db.knex.raw(`update raw.delta_bag set v = v + 10000 where v <= 3000`);
  await build({ select: ['core.delta_docs'] });
  const analyzed = (await db.knex.raw(
    `select attname, array_length(histogram_bounds, 1) as bounds from pg_stats
     where schemaname = 'core' and tablename = '__seglayer_changes_delta_docs' order by attname`)).rows;
  // Statistics target 10: a histogram of 10 buckets over 3,000 distinct keys (the default, 100, would have 101 bounds).
  expect(analyzed).toEqual([{ attname: 'change', bounds: null }, { attname: 'k', bounds: 11 }]);
  const { reltuples } = (await db.knex.raw(`select reltuples::int from pg_class where oid = 'core.__seglayer_changes_delta_docs'::regclass`)).rows[0];
  expect(reltuples).toBe(6000); // 3,000 removed, 3,000 added
});

it('publishes the diff staged beside the tests, and neither the diff nor the table when a test fails', async () => {
  await db.knex.raw(`truncate raw.delta_bag; insert into raw.delta_bag values ('a', 1), ('b', 2)`);
  await build({ select: ['core.delta_strict'] });
  await db.knex.raw(`truncate raw.delta_bag; insert into raw.delta_bag values ('a', 1), ('b', 3), ('c', 4)`);
  await build({ select: ['core.delta_strict'] });
  const kept = async () => (await db.knex.raw(`select change, k, v from core.__seglayer_changes_delta_strict order by change, k`)).rows;
  const stamp = async () => (await db.knex.raw(`select run_id, follows_run_id from ops.model_changes where model = 'core.delta_strict'`)).rows;
  const diff = [{ change: 'added', k: 'b', v: 3 }, { change: 'added', k: 'c', v: 4 }, { change: 'removed', k: 'b', v: 2 }];
  expect(await kept()).toEqual(diff);
  const stamped = await stamp();
  expect(stamped[0].follows_run_id).not.toBeNull();
  // A duplicate key: the test fails while the diff is being staged on another connection.
  await db.knex.raw(`insert into raw.delta_bag values ('c', 5)`);
  const { summary } = await build({ select: ['core.delta_strict'] });
  expect(summary.results.find((r) => r.model === 'core.delta_strict')?.status).toBe('error');
  expect((await db.knex.raw(`select k, v from core.delta_strict order by k`)).rows).toEqual([{ k: 'a', v: 1 }, { k: 'b', v: 3 }, { k: 'c', v: 4 }]);
  expect(await kept()).toEqual(diff);
  expect(await stamp()).toEqual(stamped);
  const leftovers = (await db.knex.raw(`select relname from pg_class where relname like '\\_\\_seglayer\\_tmp\\_%'`)).rows;
  expect(leftovers).toEqual([]);
});
