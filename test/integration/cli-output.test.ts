/** `--json` and `--fail-fast` for build, test and ls, on fixture models. */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli } from '../support/cli-process.ts';
import { writeModels } from '../support/fixture-models.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
let env: Record<string, string>;
beforeAll(async () => {
  db = await createTestDatabase();
  const models = writeModels([
    { name: 'staging.stg_a', sql: 'select 1 as id' },
    { name: 'staging.stg_broken', sql: 'select 1 / 0 as id' },
    { name: 'staging.stg_c', sql: 'select 3 as id' },
  ]);
  env = { DATABASE_URL: db.url, SEGLAYER_MODELS_DIR: models, SEGLAYER_SEGMENTS_DIR: join(models, 'none') };
});
afterAll(() => db.drop());

const json = (output: string) => JSON.parse(output.slice(output.indexOf('\n{') + 1 || output.indexOf('{'), output.lastIndexOf('}') + 1));

describe('machine-readable runs', () => {
  it('ls --json lists the models with their owner and file', async () => {
    const run = await spawnCli(['ls', '--json'], env).done;
    expect(run.code).toBe(0);
    const models = JSON.parse(run.output.slice(run.output.indexOf('['))) as { model: string; owner: string }[];
    expect(models.map((m) => [m.model, m.owner])).toEqual([['staging.stg_a', 'tests'], ['staging.stg_broken', 'tests'], ['staging.stg_c', 'tests']]);
  });

  it('build --json reports every model, its tests and the quality checks; a failure exits 1', async () => {
    const run = await spawnCli(['build', '--json', '--threads', '1'], env).done;
    expect(run.code).toBe(1);
    const report = json(run.output) as { ok: boolean; models: { model: string; status: string; error?: string }[]; quality: unknown[] };
    expect(report.ok).toBe(false);
    expect(report.models.map((m) => [m.model, m.status])).toEqual([['staging.stg_a', 'success'], ['staging.stg_broken', 'error'], ['staging.stg_c', 'success']]);
    expect(report.models[1]!.error).toMatch(/division by zero/);
    expect(Array.isArray(report.quality)).toBe(true);
  });

  it('build --fail-fast starts nothing after the first failure', async () => {
    // A database with no build history: the scheduler puts the models with the longest last build first
    // (build-scheduler.ts), so after the runs above the broken model could start before stg_a.
    const fresh = await createTestDatabase();
    const run = await spawnCli(['build', '--json', '--fail-fast', '--threads', '1'], { ...env, DATABASE_URL: fresh.url }).done.finally(() => fresh.drop());
    expect(run.code).toBe(1);
    const report = json(run.output) as { models: { model: string; status: string; error?: string }[] };
    expect(report.models.map((m) => [m.model, m.status])).toEqual([['staging.stg_a', 'success'], ['staging.stg_broken', 'error'], ['staging.stg_c', 'skipped']]);
    expect(report.models[2]!.error).toBe('not run: staging.stg_broken failed and --fail-fast stops the run');
  });

  it('test --json', async () => {
    const run = await spawnCli(['test', '--json', '--exclude', 'staging.stg_broken'], env).done;
    const report = json(run.output) as { models: { model: string; status: string }[] };
    expect(report.models.map((m) => m.model)).toEqual(['staging.stg_a', 'staging.stg_c']);
    expect(run.code).toBe(0);
  });
});
