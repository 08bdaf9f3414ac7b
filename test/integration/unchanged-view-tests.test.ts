/**
 * A staging view over raw tables is tested again only when something that decides its rows
 * changed since its tests passed: a batch into one of its raw tables, a revert of one it saw,
 * its SQL or its tests. A build that changed none of them checks its columns and skips the
 * tests; --full-refresh and `seglayer test` always run them.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { revertBatch } from '../../src/batches/batch-revert.ts';
import { loadFile } from '../../src/load/batch-loader.ts';
import { runModels, type ModelResult, type RunOptions } from '../../src/models/model-runner.ts';
import type { Project } from '../../src/project/project.ts';
import { csv, fixture } from '../support/fixture-files.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

let db: TestDatabase;
let project: Project;
let seq = 0;

const VIEW = 'staging.stg_users';
const users = (...ids: string[]) =>
  fixture(`uvt-users-${++seq}.csv`, csv('user_id,signed_up_at,plan,country,updated_at', ...ids.map((id) => `${id},2025-01-01T00:00:00Z,free,DE,2025-01-01T00:00:00Z`)));
const build = async (options: RunOptions = {}): Promise<ModelResult> => {
  const summary = await runModels(db.knex, db.url, project.models, { select: [VIEW], ...options });
  expect(summary.ok, JSON.stringify(summary.results)).toBe(true);
  return summary.results[0]!;
};
const tested = (result: ModelResult) => result.tests.length > 0;

beforeAll(async () => {
  db = await createTestDatabase();
  project = await loadTestProject();
  await loadFile(db.url, users('u1', 'u2'), { into: 'users' });
});
afterAll(() => db?.drop());

it('skips the tests of an unchanged view, and runs them after a batch into its source, a revert, --full-refresh or seglayer test', async () => {
  expect(tested(await build())).toBe(true); // first build
  const unchanged = await build();
  expect(tested(unchanged)).toBe(false);
  expect(unchanged.action).toBe('replaced (tests passed on the same rows before)');

  // A batch into another raw table leaves the view's rows alone.
  await loadFile(db.url, fixture(`uvt-outcomes-${++seq}.csv`, csv('outcome_id,user_id,outcome_type,occurred_at,amount,currency', 'o1,u1,purchase,2025-01-02T00:00:00Z,5.00,USD')), { into: 'outcomes' });
  expect(tested(await build())).toBe(false);

  const { batchId } = await loadFile(db.url, users('u3'), { into: 'users' });
  const afterBatch = await build();
  expect(tested(afterBatch)).toBe(true);
  expect(afterBatch.tests.every((t) => t.status === 'pass')).toBe(true);
  expect(tested(await build())).toBe(false);

  await revertBatch(db.knex, batchId, 'test');
  expect(tested(await build())).toBe(true);
  expect(tested(await build())).toBe(false);

  expect(tested(await build({ fullRefresh: true }))).toBe(true);
  expect(tested(await build({ testsOnly: true }))).toBe(true);
  // A tests-only run records the tests alone, not the view's SQL: the next build judges the rows again.
  expect(tested(await build())).toBe(true);
  expect(tested(await build())).toBe(false);
});

it('runs them again when the view is built from other SQL', async () => {
  expect(tested(await build())).toBe(false);
  const models = project.models.map((m) => (m.name === VIEW ? { ...m, build: (knex: Parameters<typeof m.build>[0], context: Parameters<typeof m.build>[1]) => knex.raw(`select * from (${m.build(knex, context).toQuery()}) v where user_id <> 'nobody'`) } : m));
  const summary = await runModels(db.knex, db.url, models, { select: [VIEW] });
  expect(summary.results[0]!.tests.length).toBeGreaterThan(0);
});
