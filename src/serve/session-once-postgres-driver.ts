/**
 * Cube's PostgreSQL driver, sending its session settings once per connection.
 *
 * Cube 0.33's driver (@cubejs-backend/postgres-driver 0.32) sends `SET TIME ZONE` and
 * `SET statement_timeout` before every statement, on pooled connections that keep both:
 * three round trips per query where one does. This driver sends them when a connection
 * does not have those values yet (a new connection, or another timeout asked for) and
 * remembers on the connection what it set. Cube sends nothing else that changes them.
 */
import { createRequire } from 'node:module';

interface CubePostgresDriver {
  config: { executionTimeout?: number; storeTimezone?: string };
  prepareConnection(conn: object, options?: { executionTimeout: number }): Promise<void>;
  query(sql: string, values?: unknown[]): Promise<Record<string, unknown>[]>;
  release(): Promise<void>;
}

const require = createRequire(import.meta.url);
const { PostgresDriver }: { PostgresDriver: new (config: Record<string, unknown>) => CubePostgresDriver } = require('@cubejs-backend/postgres-driver');

const SESSION_SET = Symbol('seglayer session settings');

export class SessionOncePostgresDriver extends PostgresDriver {
  override async prepareConnection(conn: Record<PropertyKey, unknown>, options?: { executionTimeout: number }): Promise<void> {
    // The driver's own default: CUBEJS_DB_QUERY_TIMEOUT in seconds, else 10 minutes.
    const timeout = options?.executionTimeout ?? (this.config.executionTimeout ? this.config.executionTimeout * 1000 : 600_000);
    const wanted = `${this.config.storeTimezone || 'UTC'}|${timeout}`;
    if (conn[SESSION_SET] === wanted) return;
    conn[SESSION_SET] = undefined; // a SET that fails leaves nothing remembered
    await super.prepareConnection(conn, { executionTimeout: timeout });
    conn[SESSION_SET] = wanted;
  }
}
