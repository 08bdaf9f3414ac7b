/**
 * The build bench's loaded data, kept between runs: loading the demo data is the same work
 * every time (≈20 s at 20k users, ≈14 min at 1M), so the first run loads it once into a
 * template database (migrated, raw tables loaded, no models) and every run starts from a copy
 * of it (`create database ... template`, a file copy). The template's name carries a hash of
 * the demo manifest and of the migration file names: new data or a new migration makes a new
 * template, and the old ones for that size are dropped.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { Config } from '../config.ts';
import { createKnex } from '../database/knex-client.ts';
import { migrateLatest } from '../database/migrator.ts';
import { ensureDatabase } from '../database/warehouse-connection.ts';
import type { DemoManifest } from '../demo/demo-generator.ts';
import { loadFile } from '../load/batch-loader.ts';
import { count, dim, gigabytes, say } from '../terminal/terminal-output.ts';

const TEMPLATE_PREFIX = 'seglayer_bench_loaded_';

/** The template's name for this size, data and migrations. */
export function templateName(users: number, manifest: DemoManifest, migrations: string[]): string {
  const hash = createHash('sha256').update(JSON.stringify(manifest)).update(migrations.join('\n')).digest('hex').slice(0, 10);
  return `${TEMPLATE_PREFIX}${users}_${hash}`;
}

const databaseUrl = (serverUrl: string, database: string) => {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
};

async function onServer<T>(serverUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(serverUrl);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The loaded template for `users` (loaded first when it does not exist yet); returns its name. */
export async function loadedTemplate(config: Config, serverUrl: string, users: number, manifest: DemoManifest): Promise<string> {
  const migrations = readdirSync(join(config.projectRoot, 'migrations')).filter((f) => /\.(ts|js)$/.test(f)).sort();
  const template = templateName(users, manifest, migrations);
  const existing: string[] = await onServer(serverUrl, async (c) =>
    (await c.query(`select datname from pg_database where datname like $1`, [`${TEMPLATE_PREFIX}${users}\\_%`])).rows.map((r) => r.datname));
  if (existing.includes(template)) {
    say(dim(`reusing the loaded demo data of ${count(users)} users (database ${template})`));
    return template;
  }
  for (const old of existing) await onServer(serverUrl, (c) => c.query(`drop database if exists ${c.escapeIdentifier(old)} with (force)`));
  // Loaded under a temporary name and renamed when complete: an interrupted load is never reused.
  const loading = `${template}_loading`;
  await onServer(serverUrl, (c) => c.query(`drop database if exists ${c.escapeIdentifier(loading)} with (force)`));
  const url = await ensureDatabase(serverUrl, loading);
  const knex = createKnex(url, { workMem: config.SEGLAYER_WORK_MEM });
  try {
    await migrateLatest(knex, config.projectRoot);
  } finally {
    await knex.destroy();
  }
  say(dim(`loading the demo data of ${count(users)} users once, into ${template}`));
  for (const file of manifest.files) await loadFile(url, file.path, { into: file.into });
  await onServer(serverUrl, (c) => c.query(`alter database ${c.escapeIdentifier(loading)} rename to ${c.escapeIdentifier(template)}`));
  return template;
}

/**
 * Free bytes on the file system of the server's data directory, when that directory is on this
 * machine (the embedded warehouse, a local server) and readable by this role (pg_settings hides it from
 * roles without pg_read_all_settings: no row); otherwise undefined.
 */
async function localFreeBytes(serverUrl: string): Promise<{ dir: string; bytes: number } | undefined> {
  const dir = await onServer(serverUrl, async (c) =>
    (await c.query(`select setting from pg_settings where name = 'data_directory'`)).rows[0]?.setting as string | undefined);
  if (!dir || !existsSync(join(dir, 'PG_VERSION'))) return undefined;
  const fs = statfsSync(dir);
  return { dir, bytes: fs.bavail * fs.bsize };
}

/**
 * Recreates `database` as a copy of the loaded template for `users` (loading the template
 * first when it does not exist yet); returns the copy's URL and how many raw events it holds.
 * `diskFactor`: what the run will need on disk, as a multiple of the loaded data's size (the copy
 * and what is built in it); when the server's disk is on this machine and has less free (the
 * previous copy's space counted as free), nothing is dropped or copied and the error says so —
 * before hours of building, not with "No space left on device" in the middle of them.
 */
export async function freshLoadedDatabase(config: Config, serverUrl: string, database: string, users: number, manifest: DemoManifest, diskFactor?: number): Promise<{ url: string; events: number }> {
  const template = await loadedTemplate(config, serverUrl, users, manifest);
  if (diskFactor !== undefined) {
    const free = await localFreeBytes(serverUrl);
    if (free) {
      const [{ loaded, previous }] = await onServer(serverUrl, async (c) =>
        (await c.query(`select pg_database_size($1::name)::float8 as loaded, coalesce((select pg_database_size(datname) from pg_database where datname = $2), 0)::float8 as previous`, [template, database])).rows);
      const needed = loaded * diskFactor;
      if (needed > free.bytes + previous) {
        throw new Error(
          `not enough disk for the ${count(users)}-user build: it needs about ${gigabytes(needed)} (${diskFactor}× the loaded data, ${gigabytes(loaded)} in ${template}), ` +
            `and ${gigabytes(free.bytes + previous)} are free on ${free.dir}${previous ? ` (counting the previous ${database})` : ''}. Free disk space or run fewer --users; the loaded data is kept.`,
        );
      }
    }
  }
  await onServer(serverUrl, async (c) => {
    await c.query(`drop database if exists ${c.escapeIdentifier(database)} with (force)`);
    await c.query(`create database ${c.escapeIdentifier(database)} template ${c.escapeIdentifier(template)}`);
  });
  const url = databaseUrl(serverUrl, database);
  const events = await onServer(url, async (c) => Number((await c.query('select count(*) from raw.events')).rows[0].count));
  return { url, events };
}
