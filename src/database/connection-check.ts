/**
 * One line for a warehouse that cannot be reached: which setting pointed there (with
 * the password hidden) and the cause in words, instead of pg's stack trace, printed once
 * by the CLI. A connection is tried once before any pool exists, so knex does not log
 * its own "Acquire connection error" with the same stack first.
 */
import pg from 'pg';
import { UserError } from '../errors/user-error.js';

export class ConnectionError extends UserError {}

const CAUSES: Record<string, (url: URL, error: { message: string }) => string> = {
  ECONNREFUSED: (url) => `nothing accepts connections on ${url.hostname}:${url.port || 5432} (connection refused): is PostgreSQL running there?`,
  ENOTFOUND: (url) => `the host "${url.hostname}" is not known (DNS lookup failed)`,
  EAI_AGAIN: (url) => `the host "${url.hostname}" could not be looked up (DNS unavailable)`,
  ETIMEDOUT: (url) => `${url.hostname}:${url.port || 5432} did not answer in time (timeout): a firewall or a wrong host?`,
  EHOSTUNREACH: (url) => `${url.hostname} cannot be reached (no route to host)`,
  ECONNRESET: () => 'the server closed the connection while it was being set up',
  '28P01': (url) => `password authentication failed for user "${decodeURIComponent(url.username)}"`,
  '28000': (_url, error) => `the server refused the login (${error.message})`,
  '3D000': (url) => `the database "${decodeURIComponent(url.pathname.slice(1))}" does not exist on that server`,
  '57P03': () => 'the server is starting up or shutting down; try again shortly',
  '53300': () => 'the server has no free connection slots (too many clients)',
};

/** `postgres://user:***@host:port/db`; the text as given when it is not a URL. */
export function hidePassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}

/** A connection failure as one line naming the setting, or undefined for an error that is not one. */
export function describeConnectionError(error: unknown, url: string, setting = 'DATABASE_URL'): string | undefined {
  const e = error as { code?: string; message?: string; errors?: { code?: string }[] } | undefined;
  // Node reports a host with several addresses as an AggregateError of per-address errors.
  const code = e?.code ?? e?.errors?.[0]?.code;
  const message = e?.message ?? String(error);
  const timeout = /timeout expired|connection timeout/i.test(message) ? 'ETIMEDOUT' : undefined;
  const describe = CAUSES[code ?? timeout ?? ''] ?? (/ECONN|ENOTFOUND|EAI_|SSL|self[- ]signed|certificate/i.test(message) ? () => message : undefined);
  if (!describe) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `cannot connect to ${setting} ${hidePassword(url)}: ${message}`;
  }
  return `cannot connect to ${setting} ${hidePassword(url)}: ${describe(parsed, { message })}`;
}

/** Opens and closes one connection; throws ConnectionError with one clear line when that fails. */
export async function checkConnection(url: string, setting = 'DATABASE_URL'): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000, application_name: 'seglayer check' });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    throw new ConnectionError(describeConnectionError(error, url, setting) ?? `cannot connect to ${setting} ${hidePassword(url)}: ${(error as Error).message}`, { code: 'connection' });
  } finally {
    await client.end().catch(() => {});
  }
}
