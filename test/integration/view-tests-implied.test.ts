/**
 * `testsImpliedBy` (views only): a view whose tests follow from its upstream models' skips
 * them on ordinary builds (its columns are still checked) and runs them on --full-refresh and
 * `seglayer test`. Fixture: core.vti_rows (a table with a duplicate key) and core.vti_view over
 * it, whose `unique(k)` therefore fails wherever it runs.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { discoverModels } from '../../src/models/model-discovery.ts';
import { runModels, type RunOptions } from '../../src/models/model-runner.ts';
import { writeModels } from '../support/fixture-models.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';

const DEFINE = `${PROJECT_ROOT}/src/models/model-definition.ts`;
const rows = `import { defineModel } from '${DEFINE}';
export default defineModel({
  name: 'core.vti_rows', description: 'fixture', owner: 'tests',
  columns: { k: { description: 'key', type: 'integer', tests: ['not_null'] } },
  build: (knex) => knex.raw('select * from (values (1), (1), (2)) v(k)'),
});
`;
const view = (materialized: string) => `import { defineModel } from '${DEFINE}';
export default defineModel({
  name: 'core.vti_view', description: 'fixture', owner: 'tests', materialized: '${materialized}', testsImpliedBy: ['core.vti_rows'],
  columns: { k: { description: 'key', type: 'integer', tests: ['unique'] } },
  build: (knex, { ref }) => knex.raw(\`select k from \${ref('core.vti_rows')}\`),
});
`;

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const models = async (materialized = 'view') => discoverModels(PROJECT_ROOT, writeModels([
  { name: 'core.vti_rows', sql: '', source: rows },
  { name: 'core.vti_view', sql: '', source: view(materialized) },
]));
const build = async (options: RunOptions = {}) => (await runModels(db.knex, db.url, await models(), options)).results.find((r) => r.model === 'core.vti_view')!;

it('skips the view tests on an ordinary build and says why', async () => {
  const result = await build();
  expect(result).toMatchObject({ status: 'success', action: 'created (tests implied by core.vti_rows)', tests: [] });
});

it('runs them on --full-refresh and on seglayer test', async () => {
  expect(await build({ fullRefresh: true })).toMatchObject({ status: 'error', error: expect.stringContaining('unique(k)') });
  const tested = await build({ testsOnly: true });
  expect(tested.status).toBe('error');
  expect(tested.tests).toEqual([{ name: 'unique(k)', column: 'k', status: 'fail', failures: 1 }]);
});

it('is refused on anything but a view', async () => {
  await expect(models('table')).rejects.toThrow(/testsImpliedBy.*only a view leaves its tests/s);
});
