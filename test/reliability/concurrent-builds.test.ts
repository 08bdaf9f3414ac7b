/**
 * N builders at once, on a running server (DATABASE_URL) and on the embedded
 * default with no server running: exactly one builds at a time (the runs in
 * ops.model_runs never overlap), builders with --wait all succeed, those
 * without exit cleanly with "another build is running".
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, stopEmbeddedPostgres } from '../../src/database/embedded-postgres.ts';
import { createKnex } from '../../src/database/knex-client.ts';
import { EMBEDDED_DATABASE, ensureDatabase } from '../../src/database/warehouse-connection.ts';
import { reliabilityFull, spawnCli } from '../support/cli-process.ts';
import { writeModels } from '../support/fixture-models.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

const BUILDERS = reliabilityFull ? 10 : 4;
const models = writeModels([{ name: 'core.slow', sql: 'select 1 as id from pg_sleep(0.5)' }]);

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

async function launch(env: Record<string, string>) {
  // Half queue with --wait, half try once.
  const runs = Array.from({ length: BUILDERS }, (_, i) => ({ wait: i % 2 === 0, run: spawnCli(['build', ...(i % 2 === 0 ? ['--wait'] : [])], { SEGLAYER_MODELS_DIR: models, SEGLAYER_SEGMENTS_DIR: join(models, 'segments') /* fixture models only: no segment definitions */, ...env }) }));
  return Promise.all(runs.map(async ({ wait, run }) => ({ wait, ...(await run.done) })));
}

async function overlaps(knex: Knex): Promise<{ runs: number; overlapping: number }> {
  const { rows } = await knex.raw(`
    with runs as (select run_id, min(started_at) as s, max(finished_at) as f from ops.model_runs group by run_id)
    select (select count(*)::int from runs) as runs,
           (select count(*)::int from runs a join runs b on a.run_id < b.run_id and a.s < b.f and b.s < a.f) as overlapping`);
  return rows[0];
}

function check(label: string, results: Awaited<ReturnType<typeof launch>>, runs: { runs: number; overlapping: number }) {
  const waited = results.filter((r) => r.wait);
  const tried = results.filter((r) => !r.wait);
  const built = waited.filter((r) => r.code === 0).length + tried.filter((r) => r.code === 0).length;
  const refused = tried.filter((r) => r.code === 1 && /another build is running on this warehouse/.test(r.output)).length;
  console.log(`reliability: concurrent-builds ${label} builders=${BUILDERS} built=${built} refused_cleanly=${refused} runs=${runs.runs} overlapping_runs=${runs.overlapping}`);
  for (const r of waited) expect(r.code, r.output).toBe(0);
  for (const r of tried) expect(r.code === 0 || (r.code === 1 && /another build is running/.test(r.output)), r.output).toBe(true);
  expect(runs).toEqual({ runs: built, overlapping: 0 });
}

describe('concurrent builders', () => {
  it('with a running server', async () => {
    const results = await launch({ DATABASE_URL: db.url });
    check('server=running', results, await overlaps(db.knex));
  });

  it('with no server running (embedded default)', async () => {
    const home = mkdtempSync(join(tmpdir(), 'seglayer-concurrent-'));
    try {
      const results = await launch({ SEGLAYER_HOME: home });
      // Every --wait builder must have succeeded before the runs can be counted.
      for (const r of results.filter((r) => r.wait)) expect(r.code, r.output).toBe(0);
      const server = await startEmbeddedPostgres({ dataDir: join(home, 'pg') });
      const knex = createKnex(await ensureDatabase(server.url, EMBEDDED_DATABASE));
      try {
        check('server=none', results, await overlaps(knex));
      } finally {
        await knex.destroy();
        await server.stop();
      }
    } finally {
      await stopEmbeddedPostgres(join(home, 'pg')).catch(() => {});
      rmSync(home, { recursive: true, force: true });
    }
  });
});
