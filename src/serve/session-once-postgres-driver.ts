/**
 * Cube's PostgreSQL driver, sending its session settings once per connection, and listing
 * pre-aggregation tables without missing one created while the list was being read.
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
  getTablesQuery(schemaName: string): Promise<Record<string, unknown>[]>;
  loadPreAggregationIntoTable(tableName: string, loadSql: string, params: unknown[], options: object): Promise<unknown>;
  dropTable(tableName: string, options?: object): Promise<unknown>;
  release(): Promise<void>;
  pool: { totalCount: number; on(event: 'remove', listener: () => void): void };
}

const require = createRequire(import.meta.url);
const { PostgresDriver }: { PostgresDriver: new (config: Record<string, unknown>) => CubePostgresDriver } = require('@cubejs-backend/postgres-driver');

const SESSION_SET = Symbol('seglayer session settings');

/**
 * Pre-aggregation tables this process created or dropped so far, across driver instances
 * (Cube asks the factory for several): a list read while the count moved may be stale.
 */
let tablesChanged = 0;
/** Enough for any burst of partition builds; past it the last list is returned as Cube would. */
const MAX_LIST_ATTEMPTS = 10;
/** How long release() waits for the pool's connections to close before giving up on them. */
const CLOSE_WAIT_MS = 5_000;

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

  /**
   * Cube 0.33 keeps one list of pre-aggregation tables per schema, and every reader of the
   * database overwrites it when its query returns. When partitions build at once, a list
   * read before partition A's table was committed can return after A has stored a fresh
   * one: A then looks for its table in the stale list and fails the query with "Pre-aggregation
   * table is not found for … after it was successfully created". A list during which this
   * process created or dropped a table is read again, so none returns older than the last
   * change that finished before it.
   */
  override async getTablesQuery(schemaName: string): Promise<Record<string, unknown>[]> {
    for (let attempt = 1; ; attempt++) {
      const changedBefore = tablesChanged;
      const tables = await super.getTablesQuery(schemaName);
      if (tablesChanged === changedBefore || attempt >= MAX_LIST_ATTEMPTS) return tables;
    }
  }

  override async loadPreAggregationIntoTable(tableName: string, loadSql: string, params: unknown[], options: object): Promise<unknown> {
    try {
      return await super.loadPreAggregationIntoTable(tableName, loadSql, params, options);
    } finally {
      tablesChanged++;
    }
  }

  override async dropTable(tableName: string, options?: object): Promise<unknown> {
    try {
      return await super.dropTable(tableName, options);
    } finally {
      tablesChanged++;
    }
  }

  /**
   * Ends the pool and waits until its connections have closed. Cube's release() calls the
   * pool's end() without waiting, and even awaited, pg-pool resolves it once the clients are
   * off its list, before their sockets close: `serve` then stopped the embedded server while
   * those connections were still open, the server's shutdown ended them with "terminating
   * connection due to administrator command", and Cube's pool printed "Unexpected error on
   * idle client" for each (serve-signals, on a loaded machine). The pool emits `remove` when a
   * client's end() has finished, its socket closed.
   */
  override async release(): Promise<void> {
    const { pool } = this;
    let open = pool.totalCount;
    const closed = new Promise<void>((resolve) => {
      if (open === 0) return resolve();
      pool.on('remove', () => {
        if (--open === 0) resolve();
      });
    });
    await super.release();
    let timer: NodeJS.Timeout | undefined;
    // A connection still running a query leaves only when that query ends: not waited for past the bound.
    await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
  }
}
