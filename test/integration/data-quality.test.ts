/**
 * Data-quality checks on a fixture with a stale source and a spiked day: source
 * freshness (raw.events ends in 2024; raw.outcomes is an hour old) and volume anomalies
 * (app_opened spikes to 400 one day, page_viewed drops to 10 another, a thin event's
 * spike stays below the floor), each recorded in ops.test_results; `seglayer build` and
 * `seglayer test` exit non-zero on errors and zero when the same findings only warn.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { loadFile } from '../../src/load/batch-loader.ts';
import { runQualityChecks } from '../../src/quality/quality-checks.ts';
import { findVolumeAnomalies } from '../../src/quality/volume-anomalies.ts';
import { spawnCli } from '../support/cli-process.ts';
import { csv, fixture } from '../support/fixture-files.ts';
import { writeModels } from '../support/fixture-models.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
// Data days: 2024-03-01 .. 2024-04-09 (40 days); the last is partial and not checked.
const FIRST = Date.UTC(2024, 2, 1);
const DAY = 86_400_000;
const dayOf = (i: number) => new Date(FIRST + i * DAY).toISOString().slice(0, 10);
const SPIKE = 36; // 2024-04-06
const DROP = 37; // 2024-04-07
const appOpened = (i: number) => (i === SPIKE ? 400 : 100 + (i % 7) * 3);
const pageViewed = (i: number) => (i === DROP ? 10 : 60 + (i % 5));
const rare = (i: number) => (i === SPIKE ? 12 : 2);

beforeAll(async () => {
  db = await createTestDatabase();
  const lines = ['message_id,event,occurred_at'];
  for (let i = 0; i < 40; i++) {
    const partial = i === 39;
    for (const [event, n] of [['app_opened', partial ? 5 : appOpened(i)], ['page_viewed', partial ? 3 : pageViewed(i)], ['rare', partial ? 1 : rare(i)]] as const) {
      for (let k = 0; k < n; k++) lines.push(`${event}-${i}-${k},${event},${dayOf(i)}T${String(k % 24).padStart(2, '0')}:00:00Z`);
    }
  }
  await loadFile(db.url, fixture('dq-events.csv', csv(...lines)), { into: 'events' });
  const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
  await loadFile(db.url, fixture('dq-outcomes.csv', csv('outcome_id,user_id,occurred_at,amount', `o1,u1,${hourAgo},10`)), { into: 'outcomes' });
});
afterAll(() => db.drop());

/** Median and MAD of the 28 days before `day`, computed here independently of the SQL. */
function robust(series: (i: number) => number, day: number) {
  const base = Array.from({ length: 28 }, (_, k) => series(day - 28 + k)).sort((a, b) => a - b);
  const median = (base[13]! + base[14]!) / 2;
  const deviations = base.map((n) => Math.abs(n - median)).sort((a, b) => a - b);
  const mad = (deviations[13]! + deviations[14]!) / 2;
  return { median, mad, score: (series(day) - median) / Math.max(1.4826 * mad, Math.sqrt(median)) };
}

describe('volume anomalies', () => {
  it('flags the spiked and the dropped day, with the median, MAD and score computed independently, and nothing else', async () => {
    const anomalies = await findVolumeAnomalies(db.knex, 6);
    const spike = robust(appOpened, SPIKE);
    const drop = robust(pageViewed, DROP);
    expect(anomalies.map((a) => [a.event, a.day, a.rows])).toEqual([['app_opened', dayOf(SPIKE), 400], ['page_viewed', dayOf(DROP), 10]]);
    expect(anomalies[0]).toMatchObject({ median: spike.median, mad: spike.mad });
    expect(anomalies[0]!.score).toBeCloseTo(spike.score, 6);
    expect(anomalies[1]).toMatchObject({ median: drop.median, mad: drop.mad });
    expect(anomalies[1]!.score).toBeCloseTo(drop.score, 6);
    expect(drop.score).toBeLessThan(-6);
  });
});

describe('quality checks', () => {
  it('record a stale source and the anomalies in ops.test_results', async () => {
    const config = loadConfig({ SEGLAYER_FRESHNESS_ERROR_AFTER: '30d', SEGLAYER_VOLUME_SEVERITY: 'fail' }, PROJECT_ROOT);
    const runId = '00000000-0000-4000-8000-000000000001';
    const results = await runQualityChecks(db.knex, config, runId);
    expect(results.map((r) => [r.check, r.source, r.subject, r.status])).toEqual([
      ['freshness', 'raw.events', 'occurred_at', 'fail'],
      ['freshness', 'raw.outcomes', 'occurred_at', 'pass'],
      ['volume', 'raw.events', 'app_opened', 'fail'],
      ['volume', 'raw.events', 'page_viewed', 'fail'],
    ]);
    expect(results[0]!.message).toMatch(/^newest occurred_at is 2024-04-09T\d\d:00:00\.000Z, \d+\.\d days old: older than 30d$/);
    const recorded = await db.knex('ops.test_results').where({ run_id: runId }).orderBy('test_result_id').select('model', 'test', 'status', 'failures');
    expect(recorded).toEqual([
      { model: 'source:raw.events', test: 'freshness(occurred_at)', status: 'fail', failures: 1 },
      { model: 'source:raw.outcomes', test: 'freshness(occurred_at)', status: 'pass', failures: 0 },
      { model: 'source:raw.events', test: 'volume(app_opened)', status: 'fail', failures: 1 },
      { model: 'source:raw.events', test: 'volume(page_viewed)', status: 'fail', failures: 1 },
    ]);
  });

  it('make build and test exit non-zero on errors, and zero when the same findings only warn', async () => {
    const models = writeModels([{ name: 'staging.stg_ok', sql: 'select 1 as id' }]);
    const env = { DATABASE_URL: db.url, SEGLAYER_MODELS_DIR: models, SEGLAYER_SEGMENTS_DIR: join(models, 'no-segments') };
    const strict = { ...env, SEGLAYER_FRESHNESS_ERROR_AFTER: '30d', SEGLAYER_VOLUME_SEVERITY: 'fail' };
    const build = await spawnCli(['build'], strict).done;
    expect(build.output).toMatch(/error freshness raw\.events occurred_at: newest occurred_at is 2024-04-09/);
    expect(build.output).toMatch(/error volume raw\.events app_opened: 2024-04-06: 400 rows against a median of 109/);
    expect(build.code).toBe(1);
    const test = await spawnCli(['test'], strict).done;
    expect(test.code).toBe(1);
    const lenient = await spawnCli(['test'], env).done;
    expect(lenient.output).toMatch(/warn freshness raw\.events occurred_at/);
    expect(lenient.output).toMatch(/warn volume raw\.events page_viewed/);
    expect(lenient.code).toBe(0);
  });
});
