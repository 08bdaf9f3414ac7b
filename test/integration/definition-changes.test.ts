/**
 * Definition changes (src/models/definition-changes.ts): an incremental model recomputes only
 * the keys new data touches, so a change outside the data — an upstream model's definition
 * (here a rate bound into its SQL, as seeds/fx_rates.csv is into core.fx_rates) or the model's
 * own SQL — must build it in full, or untouched keys keep figures computed the old way; an
 * upstream marked definitionReadAsData (the pinned reference time) must not.
 * Fixture: core.dc_rates (one rate), core.dc_items (incremental by key: v × rate for the keys
 * in raw.dc_touched), core.dc_plain (incremental by key, reads core.dc_pinned, read as data).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { discoverModels } from '../../src/models/model-discovery.ts';
import { runModels, type RunOptions } from '../../src/models/model-runner.ts';
import { writeModels } from '../support/fixture-models.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';

const DEFINE = `${PROJECT_ROOT}/src/models/model-definition.ts`;
const rates = (rate: number) => `import { defineModel } from '${DEFINE}';
export default defineModel({
  name: 'core.dc_rates', description: 'fixture', owner: 'tests',
  columns: { rate: { description: 'rate', type: 'numeric', tests: ['not_null'] } },
  build: (knex) => knex.raw('select ?::numeric as rate', [${rate}]),
});
`;
const items = `import { defineModel } from '${DEFINE}';
export default defineModel({
  name: 'core.dc_items', description: 'fixture', owner: 'tests', materialized: 'incremental', incremental: { uniqueKey: 'k' },
  columns: { k: { description: 'key', tests: ['not_null'] }, usd: { description: 'v times the rate', type: 'numeric', tests: [] } },
  build: (knex, { ref, incremental }) => knex.raw(\`select i.k, i.v * r.rate as usd from raw.dc_input i cross join \${ref('core.dc_rates')} r
    \${incremental ? 'where i.k in (select k from raw.dc_touched)' : ''}\`),
});
`;
/** A pinned setting its readers follow as data. */
const pinned = (at: string) => `import { defineModel } from '${DEFINE}';
export default defineModel({
  name: 'core.dc_pinned', description: 'fixture', owner: 'tests', definitionReadAsData: true,
  columns: { at: { description: 'pinned', type: 'text', tests: ['not_null'] } },
  build: (knex) => knex.raw('select ?::text as at', ['${at}']),
});
`;
/** \`note\` changes its SQL, not its rows. */
const plain = (note: string) => `import { defineModel } from '${DEFINE}';
export default defineModel({
  name: 'core.dc_plain', description: 'fixture', owner: 'tests', materialized: 'incremental', incremental: { uniqueKey: 'k' },
  columns: { k: { description: 'key', tests: ['not_null'] }, v: { description: 'value', type: 'integer', tests: [] } },
  build: (knex, { ref, incremental }) => knex.raw(\`select k, v \${'${note}' ? '/* ${note} */' : ''} from raw.dc_input
    where exists (select 1 from \${ref('core.dc_pinned')}) \${incremental ? 'and k in (select k from raw.dc_touched)' : ''}\`),
});
`;

/** A table keeping its changes; `note` changes its SQL, not its rows. */
const up = (note: string) => `import { defineModel } from '${DEFINE}';
export default defineModel({
  name: 'core.dc_up', description: 'fixture', owner: 'tests', keepChanges: {},
  columns: { k: { description: 'key', tests: ['not_null'] }, v: { description: 'value', type: 'integer', tests: [] } },
  build: (knex) => knex.raw(\`select k, v \${'${note}' ? '/* ${note} */' : ''} from raw.dc_input\`),
});
`;
/** Incremental by key from dc_up's changes: with a delta it returns only the changed keys' rows. */
const down = `import { defineModel } from '${DEFINE}';
export default defineModel({
  name: 'core.dc_down', description: 'fixture', owner: 'tests', materialized: 'incremental', incremental: { uniqueKey: 'k' }, deltaFrom: ['core.dc_up'],
  columns: { k: { description: 'key', tests: ['not_null'] }, v: { description: 'value', type: 'integer', tests: [] } },
  build: (knex, { ref, delta }) => knex.raw(delta
    ? \`select k, v from \${ref('core.dc_up')} where k in (select k from \${delta.changes['core.dc_up']})\`
    : \`select k, v from \${ref('core.dc_up')}\`),
});
`;

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await db.knex.raw(`create table raw.dc_input (k text primary key, v integer); create table raw.dc_touched (k text)`);
});
afterAll(() => db.drop());

/** Sets rows of raw.dc_input and marks only their keys touched. */
const change = async (rows: Record<string, number>) => {
  await db.knex.raw(`truncate raw.dc_touched`);
  for (const [k, v] of Object.entries(rows)) {
    await db.knex.raw(`insert into raw.dc_input values (?, ?) on conflict (k) do update set v = excluded.v`, [k, v]);
    await db.knex.raw(`insert into raw.dc_touched values (?)`, [k]);
  }
};
const build = async ({ rate, note = '', at = 'day 1', upNote = '', ...options }: RunOptions & { rate: number; note?: string; at?: string; upNote?: string }) => {
  const models = await discoverModels(PROJECT_ROOT, writeModels([
    { name: 'core.dc_rates', sql: '', source: rates(rate) },
    { name: 'core.dc_items', sql: '', source: items },
    { name: 'core.dc_plain', sql: '', source: plain(note) },
    { name: 'core.dc_pinned', sql: '', source: pinned(at) },
    { name: 'core.dc_up', sql: '', source: up(upNote) },
    { name: 'core.dc_down', sql: '', source: down },
  ]));
  const summary = await runModels(db.knex, db.url, models, options);
  expect(summary.ok).toBe(true);
  return Object.fromEntries(summary.results.map((r) => [r.model, r.action]));
};
const usd = async () =>
  Object.fromEntries((await db.knex.raw(`select k, usd::float as usd from core.dc_items order by k`)).rows.map((r: { k: string; usd: number }) => [r.k, r.usd]));

it('builds an incremental model in full when a model upstream publishes a new definition', async () => {
  await change({ a: 1, b: 2 });
  expect((await build({ rate: 2 }))['core.dc_items']).toBe('created'); // a first build gives no reason
  expect(await usd()).toEqual({ a: 2, b: 4 });

  await change({ a: 5 }); // only a is touched; b's figure depends on the rate alone
  const actions = await build({ rate: 3 });
  expect(actions['core.dc_items']).toMatch(/\(in full: core\.dc_rates changed since its last build\)$/);
  expect(await usd()).toEqual({ a: 15, b: 6 });

  await change({ b: 7 }); // same rate: incremental again
  expect((await build({ rate: 3 }))['core.dc_items']).toMatch(/^incremental/);
  expect(await usd()).toEqual({ a: 15, b: 21 });
});

it('goes by the rate the upstream model published, not the one the project holds now', async () => {
  // The project says 4, but only dc_items is built: it has not seen 4 and must not record it as seen.
  await change({ a: 1 });
  expect((await build({ rate: 4, select: ['core.dc_items'] }))['core.dc_items']).toMatch(/^incremental/);
  expect(await usd()).toEqual({ a: 3, b: 21 });
  // Once dc_rates publishes 4, every key is recomputed with it.
  await change({});
  expect((await build({ rate: 4 }))['core.dc_items']).toMatch(/in full: core\.dc_rates changed/);
  expect(await usd()).toEqual({ a: 4, b: 28 });
});

it('builds an incremental model in full when its own SQL changed, and only once', async () => {
  await change({ a: 2 });
  expect((await build({ rate: 4, note: 'v2' }))['core.dc_plain']).toMatch(/\(in full: its SQL changed since its last build\)$/);
  await change({ b: 3 });
  expect((await build({ rate: 4, note: 'v2' }))['core.dc_plain']).toMatch(/^incremental/);
  const rows = (await db.knex.raw(`select k, v from core.dc_plain order by k`)).rows;
  expect(rows).toEqual([{ k: 'a', v: 2 }, { k: 'b', v: 3 }]);
});

it('does not for an upstream whose definition is read as data', async () => {
  await change({ b: 4 });
  expect((await build({ rate: 4, note: 'v2', at: 'day 2' }))['core.dc_plain']).toMatch(/^incremental/);
});

it('says so when the last build recorded no definitions (a run before they were recorded)', async () => {
  await db.knex.raw(`update ops.model_runs set definition_fingerprints = null where model = 'core.dc_plain'`);
  await change({ a: 2 });
  expect((await build({ rate: 4, note: 'v2' }))['core.dc_plain']).toMatch(/\(in full: its last build recorded no definitions\)$/);
});

it('leaves --full-refresh as it was: no reason printed, the fingerprints recorded', async () => {
  const actions = await build({ rate: 5, fullRefresh: true });
  expect(actions['core.dc_items']).not.toMatch(/in full:/);
  expect(await usd()).toEqual({ a: 10, b: 20 });
  await change({ a: 3 });
  expect((await build({ rate: 5 }))['core.dc_items']).toMatch(/^incremental/);
});

it('builds a delta-maintained incremental model in full from scratch, not from the delta, when an upstream changed', async () => {
  await change({ e: 1 });
  expect((await build({ rate: 5 }))['core.dc_down']).toMatch(/delta from core\.dc_up/);
  await change({ f: 2 }); // dc_up's changes hold f only; its SQL changes too
  expect((await build({ rate: 5, upNote: 'v2' }))['core.dc_down']).toMatch(/in full: core\.dc_up changed since its last build/);
  const keys = (await db.knex.raw(`select k from core.dc_down order by k`)).rows.map((r: { k: string }) => r.k);
  expect(keys).toEqual((await db.knex.raw(`select k from raw.dc_input order by k`)).rows.map((r: { k: string }) => r.k));
  expect(keys.length).toBeGreaterThan(2);
});
