/**
 * Resolves which PostgreSQL seglayer talks to: DATABASE_URL when set, otherwise
 * the embedded server under SEGLAYER_HOME with a `seglayer` database in it.
 */
import { join } from 'node:path';
import pg from 'pg';
import type { Config } from '../config.ts';
import { startEmbeddedPostgres, type EmbeddedServer } from './embedded-postgres.ts';
import { UserError } from '../errors/user-error.js';
import { checkConnection, hidePassword } from './connection-check.ts';

export interface Warehouse {
  /** Connection URL of the warehouse database. */
  url: string;
  /** Human description of where the data lives, for terminal output. */
  location: string;
  embedded?: EmbeddedServer;
  /** Gives up this process's use of the embedded server (the last user stops it); no-op for DATABASE_URL. */
  close(): Promise<void>;
}

export const EMBEDDED_DATABASE = 'seglayer';

export async function openWarehouse(config: Config): Promise<Warehouse> {
  if (config.DATABASE_URL) {
    await checkConnection(config.DATABASE_URL);
    return { url: config.DATABASE_URL, location: redact(config.DATABASE_URL), close: async () => {} };
  }
  const embedded = await startEmbeddedPostgres({ dataDir: join(config.homeDir, 'pg'), port: config.SEGLAYER_PG_PORT });
  const url = await ensureDatabase(embedded.url, EMBEDDED_DATABASE);
  stopOnSignals(embedded);
  return {
    url,
    embedded,
    location: `embedded PostgreSQL in ${embedded.dataDir} (port ${embedded.port}${embedded.owned ? '' : ', already running'}${embedded.portTaken ? `; port ${embedded.portTaken} (SEGLAYER_PG_PORT) was taken, so a free one was used: saved connections need the new port` : ''})`,
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
        // created concurrently: fine (42P04, or 23505 when both passed the catalog check)
        if (error.code !== '42P04' && error.code !== '23505') throw error;
      });
    }
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export const redact = hidePassword;

export class WarehouseLostError extends UserError {}

let shuttingDown = false;

/**
 * Resolves never; rejects with WarehouseLostError when the server behind `url`
 * goes away (stopped by someone else, crashed, killed), unless this process is
 * itself shutting down on a signal. Keeps one idle connection open to notice.
 */
export async function watchWarehouse(url: string, location: string): Promise<{ lost: Promise<never> }> {
  const client = new pg.Client({ connectionString: url, application_name: 'seglayer watch', keepAlive: true });
  const gone = (error?: Error) => new WarehouseLostError(`PostgreSQL stopped: ${location} is gone${error ? ` (${error.message})` : ''}`);
  // Listening before connecting: a shutdown's "terminating connection" can arrive in the same read as the
  // handshake's end, and pg emits it before `connect()`'s caller resumes; with no listener yet that was an
  // uncaught 'error' and exit 1 instead of 130 (seen on Ctrl-C right after the server came up).
  const lost = new Promise<never>((_, reject) => {
    const onLost = (error?: Error) => {
      if (!shuttingDown) reject(gone(error));
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
  });
  lost.catch(() => {}); // when connecting fails, the error below is the one reported
  try {
    await client.connect();
  } catch (error) {
    // Ctrl-C / SIGTERM while connecting: the signal handler stops the server and exits.
    if (shuttingDown) return { lost: new Promise<never>(() => {}) };
    throw gone(error as Error);
  }
  // Resolved once watching: the caller says it serves only when a loss would be seen.
  return { lost };
}

/** What must close before the embedded server stops on a signal (the API: Cube's pools hold connections to it). */
const beforeStopping = new Set<() => Promise<void>>();

/**
 * Runs `close` before the embedded server stops on Ctrl-C / SIGTERM; returns the way to take it back.
 * Without it the server's fast shutdown ended Cube's idle pool connections while the API was still
 * closing, and Cube's driver printed "Unexpected error on idle client" with a stack for each.
 */
export function closeBeforeWarehouseStops(close: () => Promise<void>): () => void {
  beforeStopping.add(close);
  return () => beforeStopping.delete(close);
}

/** Ctrl-C and SIGTERM give up this process's lease (stopping the server if it was the last user), then exit. */
function stopOnSignals(server: EmbeddedServer): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      shuttingDown = true;
      void Promise.allSettled([...beforeStopping].map((close) => close()))
        .then(() => server.stop())
        .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
}
