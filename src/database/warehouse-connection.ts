/**
 * Resolves which PostgreSQL seglayer talks to: DATABASE_URL when set, otherwise
 * the embedded server under SEGLAYER_HOME with a `seglayer` database in it.
 */
import { join } from 'node:path';
import pg from 'pg';
import type { Config } from '../config.ts';
import { startEmbeddedPostgres, type EmbeddedServer } from './embedded-postgres.ts';

export interface Warehouse {
  /** Connection URL of the warehouse database. */
  url: string;
  /** Human description of where the data lives, for terminal output. */
  location: string;
  embedded?: EmbeddedServer;
  /** Stops the embedded server if this process started it; no-op otherwise. */
  close(): Promise<void>;
}

export const EMBEDDED_DATABASE = 'seglayer';

export async function openWarehouse(config: Config): Promise<Warehouse> {
  if (config.DATABASE_URL) {
    return { url: config.DATABASE_URL, location: redact(config.DATABASE_URL), close: async () => {} };
  }
  const embedded = await startEmbeddedPostgres({ dataDir: join(config.homeDir, 'pg'), port: config.SEGLAYER_PG_PORT });
  const url = await ensureDatabase(embedded.url, EMBEDDED_DATABASE);
  stopOnSignals(embedded);
  return {
    url,
    embedded,
    location: `embedded PostgreSQL in ${embedded.dataDir} (port ${embedded.port}${embedded.owned ? '' : ', already running'})`,
    close: () => embedded.stop(),
  };
}

/** Create `database` on the server of `serverUrl` if missing; returns its URL. */
export async function ensureDatabase(serverUrl: string, database: string): Promise<string> {
  const client = new pg.Client(serverUrl);
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (!rowCount) {
      await client.query(`create database ${client.escapeIdentifier(database)}`).catch((error: { code?: string }) => {
        if (error.code !== '42P04') throw error; // created concurrently: fine
      });
    }
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

/** Ctrl-C and SIGTERM stop a server this process started, then exit. */
function stopOnSignals(server: EmbeddedServer): void {
  if (!server.owned) return;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void server.stop().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
}
