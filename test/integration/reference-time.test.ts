/**
 * Features and cohorts do not depend on the day of the build. A slice of UCI Online
 * Retail (order lines only, no users or events: the common shape of real e-commerce
 * data) is built twice under a faked clock on two different days — PostgreSQL's now()
 * shadowed by a function ahead of pg_catalog in the database's search_path, and Node's
 * Date faked — and features.user_features, core.dim_users and core.reference_time come
 * out identical. The clock keywords a function cannot shadow (current_date, ...) are
 * checked in every model's compiled SQL instead.
 */
import { join } from 'node:path';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createKnex } from '../../src/database/knex-client.ts';
import { loadFile } from '../../src/load/batch-loader.ts';
import { readMappingFile } from '../../src/load/mapping-file.ts';
import { compileModel } from '../../src/models/model-compiler.ts';
import { runModels } from '../../src/models/model-runner.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';
import { readRetailLines, utcMonth, writeRetailSlice } from '../support/online-retail-csv.ts';

const SLICE = 30_000;
let db: TestDatabase;
let build: Knex;
let slice: Awaited<ReturnType<typeof readRetailLines>>;

const SNAPSHOTS = {
  'core.reference_time': 'select * from core.reference_time',
  'core.dim_users': 'select * from core.dim_users order by user_key',
  'features.user_features': 'select * from features.user_features order by user_key',
};

async function buildOn(day: string, env: Record<string, string> = {}): Promise<Record<string, unknown[]>> {
  await build.raw(`update fakeclock.clock set at = ?::timestamptz`, [day]);
  vi.useFakeTimers({ toFake: ['Date'], now: new Date(day) });
  try {
    const summary = await runModels(build, db.url, (await loadTestProject(env)).models);
    expect(summary.results.filter((r) => r.status !== 'success').map((r) => `${r.model}: ${r.error}`)).toEqual([]);
  } finally {
    vi.useRealTimers();
  }
  const out: Record<string, unknown[]> = {};
  for (const [name, sql] of Object.entries(SNAPSHOTS)) out[name] = (await build.raw(sql)).rows;
  return out;
}

beforeAll(async () => {
  db = await createTestDatabase();
  const file = writeRetailSlice(SLICE);
  const mapping = readMappingFile(join(PROJECT_ROOT, 'mappings/online_retail.yml'));
  await loadFile(db.url, file, { into: mapping.into, timezone: mapping.timezone, mapping: mapping.mapping });
  slice = await readRetailLines(SLICE);
  // The faked clock: now() resolves to fakeclock.now() for every new connection to this database.
  await db.knex.raw(`create schema fakeclock`);
  await db.knex.raw(`create table fakeclock.clock (at timestamptz not null)`);
  await db.knex.raw(`insert into fakeclock.clock values (now())`);
  await db.knex.raw(`create function fakeclock.now() returns timestamptz language sql stable as 'select at from fakeclock.clock'`);
  await db.knex.raw(`alter database ${db.name} set search_path = fakeclock, pg_catalog, "$user", public`);
  build = createKnex(db.url);
  expect((await build.raw(`update fakeclock.clock set at = '2031-05-05Z'; select now()::text as now`))[1].rows[0].now).toBe('2031-05-05 00:00:00+00');
}, 300_000);
afterAll(async () => {
  await build?.destroy();
  await db?.drop();
});

describe('reference time', () => {
  it('builds identical features and cohorts on two different days', async () => {
    const first = await buildOn('2030-01-15T09:00:00Z');
    const second = await buildOn('2032-07-01T18:30:00Z');
    expect(second).toEqual(first);
    // And they are the data's: the reference time is midnight after the slice's last line, cohorts its months.
    const last = slice.reduce((max, l) => Math.max(max, l.utcMs), -Infinity);
    const nextMidnight = new Date(Math.floor(last / 86_400_000) * 86_400_000 + 86_400_000);
    expect(first['core.reference_time']).toEqual([{ as_of_at: nextMidnight, last_activity_at: new Date(last), is_configured: false }]);
    const firstSeen = new Map<string, number>();
    for (const l of slice) if (l.customer) firstSeen.set(l.customer, Math.min(firstSeen.get(l.customer) ?? Infinity, l.utcMs));
    const users = first['core.dim_users'] as { user_key: string; first_seen_at: Date; cohort_month: Date }[];
    expect(users).toHaveLength(firstSeen.size);
    for (const u of users) {
      expect(u.first_seen_at.getTime(), u.user_key).toBe(firstSeen.get(u.user_key));
      expect(u.cohort_month.toISOString().slice(0, 7), u.user_key).toBe(utcMonth(firstSeen.get(u.user_key)!));
    }
  });

  it('takes SEGLAYER_REFERENCE_TIME when it is set', async () => {
    const fixed = await buildOn('2030-01-15T09:00:00Z', { SEGLAYER_REFERENCE_TIME: '2011-01-01T00:00:00Z' });
    expect(fixed['core.reference_time']).toMatchObject([{ as_of_at: new Date('2011-01-01T00:00:00Z'), is_configured: true }]);
    expect(new Set((fixed['features.user_features'] as { as_of_at: Date }[]).map((f) => f.as_of_at.toISOString()))).toEqual(new Set(['2011-01-01T00:00:00.000Z']));
  });

  it('no model reads the clock through a keyword a function cannot shadow', async () => {
    const project = await loadTestProject();
    const known = new Set(project.models.map((m) => m.name));
    const offenders = project.models
      .filter((m) => /\b(current_date|current_timestamp|localtimestamp|localtime|current_time|statement_timestamp|clock_timestamp|transaction_timestamp)\b/i.test(compileModel(m, known).sql))
      .map((m) => m.name);
    expect(offenders).toEqual([]);
  });
});
