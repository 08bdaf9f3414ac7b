/**
 * Incremental builds of stg_events and fct_events equal a full refresh, row for
 * row (md5 of the ordered rows), after a batch is replayed N times and batches
 * commit out of id order (an events load holding an earlier id commits after a
 * later users load and after a build).
 */
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadFile } from '../../src/load/batch-loader.ts';
import { discoverModels } from '../../src/models/model-discovery.ts';
import { runModels, type RunOptions } from '../../src/models/model-runner.ts';
import { reliabilityFull } from '../support/cli-process.ts';
import { csv, fixture } from '../support/fixture-files.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

const REPLAYS = reliabilityFull ? 10 : 3;
const OUT_OF_ORDER = reliabilityFull ? 5 : 2;

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

let seq = 0;
let seed = 7;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
/** Events for 20 users from `start` over `days`, gaps of 1 to 50 minutes (sessions of all lengths). */
function eventsFile(start: Date, days: number): string {
  const rows: string[] = [];
  for (let u = 0; u < 20; u++) {
    for (let t = start.getTime(); t < start.getTime() + days * 86_400_000; t += (1 + Math.floor(random() * 50)) * 60_000) {
      rows.push(`m${++seq},u${u},${random() < 0.5 ? 'page_view' : 'click'},${new Date(t).toISOString()}`);
    }
  }
  return fixture(`events-${seq}.csv`, csv('message_id,user_id,event,occurred_at', ...rows));
}
const build = async (options: RunOptions = {}) => {
  const summary = await runModels(db.knex, db.url, (await loadTestProject()).models, { select: ['+core.fct_events'], ...options });
  expect(summary.ok, JSON.stringify(summary.results.filter((r) => r.status !== 'success'))).toBe(true);
};
const checksum = async (table: string) =>
  (await db.knex.raw(`select count(*)::int as n, md5(string_agg(t::text, E'\\n' order by t.message_id)) as sum from ${table} t`)).rows[0];
const state = async () => ({ stg: await checksum('staging.stg_events'), fct: await checksum('core.fct_events') });

it(`incremental = full refresh after ${REPLAYS} replays and ${OUT_OF_ORDER} out-of-order commits`, async () => {
  const day = (d: number) => new Date(Date.UTC(2025, 0, d));
  await loadFile(db.url, eventsFile(day(1), 4), { into: 'events' });
  await build({ fullRefresh: true });

  const replayed = eventsFile(day(5), 1);
  for (let i = 0; i < REPLAYS; i++) {
    await loadFile(db.url, replayed, { into: 'events' });
    await build();
  }

  for (let round = 0; round < OUT_OF_ORDER; round++) {
    const holder = new pg.Client(db.url);
    await holder.connect();
    await holder.query('begin');
    await holder.query('lock table raw.events in share mode');
    // Late events (older than the lookback) take batch N and wait; users commit N+1; a build runs.
    const late = loadFile(db.url, eventsFile(day(1 + round), 1), { into: 'events' });
    for (let i = 0; (await db.knex.raw(`select count(*)::int as n from pg_stat_activity where application_name = 'seglayer load' and wait_event_type = 'Lock'`)).rows[0].n === 0; i++) {
      if (i > 400) throw new Error('the events load never waited on the lock');
      await new Promise((r) => setTimeout(r, 25));
    }
    await loadFile(db.url, fixture(`users-${round}.csv`, csv('user_id,plan', `u${round},pro`)), { into: 'users' });
    await build();
    await holder.query('commit');
    await holder.end();
    await late;
    await loadFile(db.url, eventsFile(day(6 + round), 1), { into: 'events' });
    await build();
  }

  const incremental = await state();
  await build({ fullRefresh: true });
  const full = await state();
  const raw = (await db.knex.raw(`select count(distinct message_id)::int as n from raw.events`)).rows[0].n;
  console.log(
    `reliability: incremental-equivalence replays=${REPLAYS} out_of_order=${OUT_OF_ORDER} raw_messages=${raw} ` +
      `stg_rows=${incremental.stg.n}/${full.stg.n} stg_equal=${incremental.stg.sum === full.stg.sum} ` +
      `fct_rows=${incremental.fct.n}/${full.fct.n} fct_equal=${incremental.fct.sum === full.fct.sum}`,
  );
  expect(incremental).toEqual(full);
  expect(full.stg.n).toBe(raw);
});
