/**
 * Several commands sharing the embedded server: started together with no server
 * running, none sees a half-started server, and none loses it to another that
 * finishes first. The last one to leave stops it.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { stopEmbeddedPostgres } from '../../src/database/embedded-postgres.ts';
import { writeModels } from '../support/fixture-models.ts';
import { spawnCli } from '../support/cli-process.ts';

const home = mkdtempSync(join(tmpdir(), 'seglayer-shared-'));
afterAll(async () => {
  await stopEmbeddedPostgres(join(home, 'pg')).catch(() => {});
  rmSync(home, { recursive: true, force: true });
});

it('five `build --wait` started together with no server running all succeed, and the last one stops the server', async () => {
  // Each build holds the lock for about a second, so the first finishes while the others still queue.
  const models = writeModels([{ name: 'core.slow', sql: 'select 1 as id from pg_sleep(1)' }]);
  const runs = await Promise.all(
    Array.from({ length: 5 }, () => spawnCli(['build', '--wait'], { SEGLAYER_HOME: home, SEGLAYER_MODELS_DIR: models, SEGLAYER_SEGMENTS_DIR: join(models, 'segments') /* fixture models only: no segment definitions */ }).done),
  );
  for (const run of runs) expect(run, run.output).toMatchObject({ code: 0 });
  expect(existsSync(join(home, 'pg', 'postmaster.pid'))).toBe(false);
  expect(existsSync(join(home, 'pg.leases')) ? readdirSync(join(home, 'pg.leases')) : []).toEqual([]);
}, 240_000);
