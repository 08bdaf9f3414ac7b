/**
 * The build bench's loaded data kept between runs (src/bench/loaded-template.ts): the first
 * run loads a template, later runs copy it without loading again, every copy is fresh (what a
 * run left in the previous copy is gone), and a load that was interrupted is loaded again, not
 * reused. Demo data for 50 users.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { freshLoadedDatabase, templateName } from '../../src/bench/loaded-template.ts';
import { loadConfig } from '../../src/config.ts';
import { writeDemoFiles, type DemoManifest } from '../../src/demo/demo-generator.ts';
import { PROJECT_ROOT } from '../support/test-database.ts';

const USERS = 50;
const COPY = `test_bench_copy_${process.pid}`;
let dir: string;
let manifest: DemoManifest;
let template: string;
const server = () => inject('pgServerUrl');
const config = loadConfig({}, PROJECT_ROOT);

async function query<T>(database: string | undefined, sql: string, values: unknown[] = []): Promise<T[]> {
  const url = new URL(server());
  if (database) url.pathname = `/${database}`;
  const client = new pg.Client(url.toString());
  await client.connect();
  try {
    return (await client.query(sql, values)).rows as T[];
  } finally {
    await client.end();
  }
}
const oidOf = async (database: string) => (await query<{ oid: number }>(undefined, `select oid from pg_database where datname = $1`, [database]))[0]?.oid;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'seglayer-bench-template-'));
  manifest = await writeDemoFiles({ users: USERS, seed: 3, outDir: dir });
  template = templateName(USERS, manifest, readdirSync(join(PROJECT_ROOT, 'migrations')).filter((f) => /\.(ts|js)$/.test(f)).sort());
});
afterAll(async () => {
  for (const database of [COPY, template, `${template}_loading`]) await query(undefined, `drop database if exists "${database}" with (force)`);
  rmSync(dir, { recursive: true, force: true });
});

it('loads once, then starts every run from a fresh copy without loading again', async () => {
  const first = await freshLoadedDatabase(config, server(), COPY, USERS, manifest);
  expect(first.events).toBeGreaterThan(USERS);
  const loadedOid = await oidOf(template);
  expect(loadedOid).toBeDefined();
  await query(COPY, `create table public.left_by_a_run (x int)`);

  const second = await freshLoadedDatabase(config, server(), COPY, USERS, manifest);
  expect(second.events).toBe(first.events);
  expect(await oidOf(template)).toBe(loadedOid); // the same template: not loaded again
  expect(await query(COPY, `select to_regclass('public.left_by_a_run') as t`)).toEqual([{ t: null }]);
  // The copy is migrated and holds the load's batches.
  expect((await query<{ n: number }>(COPY, `select count(*)::int as n from ops.load_batches where status = 'loaded'`))[0]!.n).toBe(manifest.files.length);
});

it('refuses a copy the disk cannot hold, before dropping or copying anything', async () => {
  await freshLoadedDatabase(config, server(), COPY, USERS, manifest);
  await query(COPY, `create table public.left_by_a_run (x int)`);
  const dataDir = (await query<{ setting: string }>(undefined, `select setting from pg_settings where name = 'data_directory'`))[0]!.setting;
  const local = existsSync(join(dataDir, 'PG_VERSION'));
  // A factor no disk holds: with the server's disk on this machine (the embedded default) the run stops, naming the sizes.
  const huge = freshLoadedDatabase(config, server(), COPY, USERS, manifest, 1e9);
  if (local) {
    await expect(huge).rejects.toThrow(new RegExp(`not enough disk for the 50-user build: it needs about [\\d.]+ GB \\(1000000000× the loaded data, [\\d.]+ GB in ${template}\\), and [\\d.]+ GB are free on ${dataDir}`));
    // Nothing was dropped: the previous copy is as the last run left it.
    expect(await query(COPY, `select to_regclass('public.left_by_a_run') is not null as kept`)).toEqual([{ kept: true }]);
  } else {
    // A server whose disk this process cannot see (DATABASE_URL elsewhere): no check, the copy is made as before.
    expect((await huge).events).toBeGreaterThan(USERS);
  }
  // A factor the disk holds: copied as before.
  expect((await freshLoadedDatabase(config, server(), COPY, USERS, manifest, 2)).events).toBeGreaterThan(USERS);
  expect(await query(COPY, `select to_regclass('public.left_by_a_run') as t`)).toEqual([{ t: null }]);
});

it('loads again after an interrupted load: a half-loaded database is never used', async () => {
  const { events } = await freshLoadedDatabase(config, server(), COPY, USERS, manifest);
  await query(undefined, `drop database "${template}" with (force)`);
  await query(undefined, `create database "${template}_loading"`); // as a killed load leaves it
  const again = await freshLoadedDatabase(config, server(), COPY, USERS, manifest);
  expect(again.events).toBe(events);
  expect(await oidOf(`${template}_loading`)).toBeUndefined();
});
