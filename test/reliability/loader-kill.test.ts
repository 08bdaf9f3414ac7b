/**
 * Reliability: the CLI loader dies mid-load, two ways, and the warehouse is all
 * or nothing:
 *  - SIGKILL of the `seglayer load` process (no cleanup code runs);
 *  - pg_terminate_backend of its connection (the process must exit with one
 *    clear error line, no crash, its spool folder removed, the failure recorded).
 * Neither leaves a row, a quarantined row or a batch record behind, and the next
 * load of the same file loads all of it (and sweeps the killed load's spool).
 *
 * 300k rows by default; SEGLAYER_RELIABILITY_FULL=1 runs 3M.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';

const FULL = process.env.SEGLAYER_RELIABILITY_FULL === '1';
const ROWS = FULL ? 3_000_000 : 300_000;
const BAD_EVERY = 1000;
const PROGRESS_EVERY = FULL ? 100_000 : 20_000;
const dir = mkdtempSync(join(tmpdir(), 'seglayer-loader-kill-'));
/** The child's TMPDIR: where its spool folders go. */
const childTmp = mkdtempSync(join(tmpdir(), 'seglayer-loader-kill-tmp-'));

let db: TestDatabase;
let big: string;
beforeAll(async () => {
  db = await createTestDatabase();
  big = join(dir, 'big.csv');
  const fd = openSync(big, 'w');
  writeSync(fd, 'message_id,user_id,event,occurred_at,properties\n');
  let lines: string[] = [];
  for (let i = 1; i <= ROWS; i++) {
    lines.push(i % BAD_EVERY === 0 ? `k${i},u1,x,not-a-date,{}` : `k${i},u${i % 500},app_opened,2025-01-01T00:00:00Z,"{""i"":${i}}"`);
    if (lines.length === 50_000) {
      writeSync(fd, `${lines.join('\n')}\n`);
      lines = [];
    }
  }
  if (lines.length) writeSync(fd, `${lines.join('\n')}\n`);
  closeSync(fd);
});
afterAll(async () => {
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(childTmp, { recursive: true, force: true });
});

const state = async () =>
  (
    await db.knex.raw(`select (select count(*) from raw.events)::int as events, (select count(*) from ops.quarantine)::int as quarantine,
                              (select count(*) from ops.load_batches where status = 'loaded')::int as batches`)
  ).rows[0] as { events: number; quarantine: number; batches: number };
const spools = () => readdirSync(childTmp).filter((name) => name.startsWith('seglayer-spool-'));

/** Runs `seglayer load big.csv --into events`; `midway` fires once, at the first progress line. */
function cliLoad(midway?: (pid: number) => Promise<void> | void) {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'scripts/seglayer.mjs'), 'load', big, '--into', 'events'], {
    env: { ...process.env, DATABASE_URL: db.url, SEGLAYER_PROGRESS_EVERY: String(PROGRESS_EVERY), TMPDIR: childTmp },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let fired = false;
  let midwayDone: Promise<void> = Promise.resolve();
  const onData = (chunk: Buffer) => {
    output += chunk;
    if (midway && !fired && /rows read/.test(output)) {
      fired = true;
      midwayDone = Promise.resolve(midway(child.pid!));
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string; fired: boolean }>((resolve) =>
    child.on('exit', (code, signal) => void midwayDone.then(() => resolve({ code, signal, output, fired }))),
  );
}

async function loaderGone() {
  for (let i = 0; i < 200; i++) {
    const { rows } = await db.knex.raw(`select count(*)::int as n from pg_stat_activity where application_name = 'seglayer load' and datname = current_database()`);
    if (rows[0].n === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the killed load still has a backend after 20 s');
}

it('SIGKILL, then a terminated backend, then a clean load: all or nothing each time', async () => {
  const started = Date.now();
  const before = await state();

  // 1. SIGKILL mid-load: nothing of the batch, only an orphaned spool folder.
  const killed = await cliLoad((pid) => void process.kill(pid, 'SIGKILL'));
  expect(killed.fired).toBe(true);
  expect(killed.signal).toBe('SIGKILL');
  await loaderGone();
  expect(await state()).toEqual(before);
  const orphaned = spools().length;

  // 2. The backend terminated mid-load: one clear error, exit 1, spool removed, failure recorded.
  const terminated = await cliLoad(async () => {
    await db.knex.raw(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'seglayer load' and datname = current_database()`);
  });
  expect(terminated.fired).toBe(true);
  expect(terminated.code).toBe(1);
  expect(terminated.output).toMatch(/error: connection lost while loading .*big\.csv: nothing of batch \d+ was committed/);
  expect(terminated.output).not.toMatch(/\n\s+at |Uncaught|node:internal/);
  await loaderGone();
  expect(await state()).toEqual(before);
  const failed = await db.knex('ops.load_batches').where({ status: 'failed' }).pluck('error');
  expect(failed).toEqual([expect.stringMatching(/^connection lost while loading/)]);

  // 3. The next load recovers: every row in or quarantined, and no spool folder left, the SIGKILLed one included.
  const clean = await cliLoad();
  expect(clean.code, clean.output).toBe(0);
  const after = await state();
  const bad = Math.floor(ROWS / BAD_EVERY);
  expect(after).toEqual({ events: before.events + ROWS - bad, quarantine: before.quarantine + bad, batches: before.batches + 1 });
  expect(spools()).toEqual([]);
  console.log(
    `reliability: loader-kill rows=${ROWS} sigkill=nothing-stored orphaned_spools=${orphaned} terminate=exit-${terminated.code}` +
      ` failed_batches=${failed.length} next_load=${after.events - before.events}+${after.quarantine - before.quarantine} spools_left=${spools().length}` +
      ` seconds=${((Date.now() - started) / 1000).toFixed(1)}`,
  );
});
