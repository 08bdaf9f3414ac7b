/**
 * A load killed midway (SIGKILL: no cleanup code runs) leaves nothing of its
 * batch visible: no rows, no quarantine, no batch record.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadFile } from '../../src/load/batch-loader.ts';
import { csv, fixture } from '../support/fixture-files.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const state = async () =>
  (
    await db.knex.raw(`select (select count(*) from raw.events)::int as events, (select count(*) from ops.quarantine)::int as quarantine,
                              (select count(*) from ops.load_batches)::int as batches`)
  ).rows[0];

it('a load killed with SIGKILL after streaming rows leaves no trace of its batch', async () => {
  const header = 'message_id,user_id,event,occurred_at,properties';
  await loadFile(db.url, fixture('first.csv', csv(header, 'k0,u0,app_opened,2025-01-01T00:00:00Z,{}')), { into: 'events' });
  const before = await state();

  const lines = [header];
  for (let i = 1; i <= 400_000; i++) lines.push(i % 1000 === 0 ? `k${i},u1,x,not-a-date,{}` : `k${i},u${i % 500},app_opened,2025-01-01T00:00:00Z,"{""i"":${i}}"`);
  const big = fixture('big.csv', `${lines.join('\n')}\n`);
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'scripts/seglayer.mjs'), 'load', big, '--into', 'events'], {
    env: { ...process.env, DATABASE_URL: db.url, SEGLAYER_PROGRESS_EVERY: '20000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk) => {
      output += chunk;
      if (/rows read/.test(output)) resolve();
    });
    child.on('exit', () => reject(new Error(`load ended before it could be killed:\n${output}`)));
  });
  child.kill('SIGKILL');
  await new Promise((resolve) => child.on('exit', resolve));
  expect(output).toMatch(/\d+ rows read, \d+ quarantined/); // it really was midway

  // The server notices the dead client and rolls its transaction back.
  for (let i = 0; i < 100; i++) {
    const { rows } = await db.knex.raw(`select count(*)::int as n from pg_stat_activity where application_name = 'seglayer load' and datname = current_database()`);
    if (rows[0].n === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(await state()).toEqual(before);
});
