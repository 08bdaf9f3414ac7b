/**
 * The loader's connection dies mid-load (the server terminates its backend):
 * the load rejects with a clear error instead of crashing the process, nothing
 * of the batch is stored, its spool files are removed, the failure is recorded,
 * and the next load works.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadFile, LoadError } from '../../src/load/batch-loader.ts';
import { csv, fixture } from '../support/fixture-files.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

const HEADER = 'message_id,user_id,event,occurred_at,properties';
let db: TestDatabase;
let spoolParent: string;
const uncaught: unknown[] = [];
const onUncaught = (error: unknown) => uncaught.push(error);
const savedTmp = process.env.TMPDIR;

beforeAll(async () => {
  db = await createTestDatabase();
  // Spool folders go to os.tmpdir(); a private one shows whether ours were removed.
  spoolParent = mkdtempSync(join(tmpdir(), 'seglayer-spool-parent-'));
  process.env.TMPDIR = spoolParent;
  process.on('uncaughtException', onUncaught);
});
afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  rmSync(spoolParent, { recursive: true, force: true });
  await db.drop();
});

const terminateLoader = () =>
  db.knex.raw(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'seglayer load' and datname = current_database()`);

it('a terminated backend mid-load: clear error, nothing stored, spool removed, failure recorded, next load works', async () => {
  await loadFile(db.url, fixture('first.csv', csv(HEADER, 'f1,u1,app_opened,2025-01-01T00:00:00Z,{}')), { into: 'events' });
  const lines = [HEADER];
  // Every 50th row is bad, so the quarantine spool folder exists when the connection dies.
  for (let i = 0; i < 300_000; i++) lines.push(i % 50 === 0 ? `b${i},u1,x,not-a-date,{}` : `b${i},u${i % 300},app_opened,2025-01-01T00:00:00Z,"{""i"":${i}}"`);
  const big = fixture('big-conn.csv', `${lines.join('\n')}\n`);

  let terminated = false;
  const attempt = loadFile(db.url, big, {
    into: 'events',
    progressEvery: 20_000,
    // The load waits while its backend is terminated, so the kill lands mid-batch.
    onProgress: async () => {
      if (terminated) return;
      const { rows } = await terminateLoader();
      terminated = rows.length === 1 && rows[0].pg_terminate_backend === true;
    },
  });
  await expect(attempt).rejects.toThrow(LoadError);
  await expect(attempt).rejects.toThrow(/^connection lost while loading .*big-conn\.csv: nothing of batch \d+ was committed/);
  expect(terminated).toBe(true);
  const message = await attempt.then(() => '', (e: Error) => e.message);
  const batch = Number(message.match(/batch (\d+)/)![1]);

  expect(uncaught).toEqual([]);
  expect(await db.knex('raw.events').where({ load_batch_id: batch }).count({ n: '*' }).first()).toEqual({ n: 0 });
  expect(await db.knex('raw.events').count({ n: '*' }).first()).toEqual({ n: 1 });
  expect(await db.knex('ops.quarantine').where({ batch_id: batch }).count({ n: '*' }).first()).toEqual({ n: 0 });
  expect(readdirSync(spoolParent).filter((name) => name.startsWith('seglayer-spool-'))).toEqual([]);
  const failed = await db.knex('ops.load_batches').where({ status: 'failed' }).select('source', 'error');
  expect(failed).toEqual([{ source: big, error: expect.stringMatching(/^connection lost while loading .*: nothing of batch \d+ was committed/) }]);

  const next = await loadFile(db.url, fixture('after.csv', csv(HEADER, 'a1,u1,app_opened,2025-01-01T00:00:00Z,{}')), { into: 'events' });
  expect(next).toMatchObject({ rowsIn: 1, rowsLoaded: 1 });
  expect(await db.knex('raw.events').count({ n: '*' }).first()).toEqual({ n: 2 });
});
