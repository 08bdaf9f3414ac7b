/**
 * Cube's PostgreSQL driver sends its session settings once per connection
 * (src/serve/session-once-postgres-driver.ts), and every query still runs with them: on
 * a database whose own default time zone and statement timeout differ, on a reused
 * connection, and on the new connection that replaces a terminated one. And a list of
 * pre-aggregation tables never returns without a table created while it was being read.
 */
import { createRequire } from 'node:module';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionOncePostgresDriver } from '../../src/serve/session-once-postgres-driver.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

const SETTINGS = `select current_setting('TimeZone') as time_zone, current_setting('statement_timeout') as statement_timeout, pg_backend_pid() as pid`;

describe('SessionOncePostgresDriver', () => {
  let db: TestDatabase;
  let driver: SessionOncePostgresDriver;
  const sent: string[] = [];
  let restore: () => void;

  beforeAll(async () => {
    db = await createTestDatabase({ migrate: false });
    // What a connection has when nobody sets anything: neither is what Cube asks for.
    await db.knex.raw(`alter database ${db.name} set timezone = 'America/New_York'`);
    await db.knex.raw(`alter database ${db.name} set statement_timeout = '123s'`);
    // Every statement the driver's pg sends, as text.
    const driverPg = createRequire(createRequire(import.meta.url).resolve('@cubejs-backend/postgres-driver'))('pg') as typeof pg;
    const query = driverPg.Client.prototype.query as (...args: unknown[]) => unknown;
    driverPg.Client.prototype.query = function (this: unknown, ...args: unknown[]) {
      const config = args[0];
      const text = typeof config === 'string' ? config : (config as { text?: unknown } | undefined)?.text;
      if (typeof text === 'string') sent.push(text);
      return query.apply(this, args);
    } as typeof driverPg.Client.prototype.query;
    restore = () => (driverPg.Client.prototype.query = query as typeof driverPg.Client.prototype.query);
    driver = new SessionOncePostgresDriver({ connectionString: db.url, maxPoolSize: 1, executionTimeout: 45 });
  });

  afterAll(async () => {
    restore?.();
    await driver?.release();
    await db?.drop();
  });

  it('sets the time zone and timeout on the first query of a connection, and not again', async () => {
    const sets = () => sent.filter((text) => /^SET /i.test(text));
    const first = (await driver.query(SETTINGS))[0]!;
    expect(first).toMatchObject({ time_zone: 'UTC', statement_timeout: '45s' });
    expect(sets()).toEqual([`SET TIME ZONE 'UTC'`, 'SET statement_timeout TO 45000']);

    for (let i = 0; i < 5; i++) {
      const again = (await driver.query(SETTINGS))[0]!;
      expect(again).toMatchObject({ time_zone: 'UTC', statement_timeout: '45s', pid: first.pid });
    }
    expect(sets()).toHaveLength(2);
    // Cube's own driver would have sent two SETs before each of the six queries.
    expect(sent.filter((text) => text === SETTINGS)).toHaveLength(6);
  });

  it('sets them on every new connection of the pool', async () => {
    const setsBefore = sent.filter((text) => /^SET /i.test(text)).length;
    const wide = new SessionOncePostgresDriver({ connectionString: db.url, maxPoolSize: 3, executionTimeout: 45 });
    try {
      // Three at once open three connections; each must be set before its query runs.
      const rows = (await Promise.all([1, 2, 3].map(() => wide.query(`select pg_sleep(0.2), ${SETTINGS.slice('select '.length)}`)))).map((r) => r[0]!);
      expect(new Set(rows.map((row) => row.pid)).size).toBe(3);
      for (const row of rows) expect(row).toMatchObject({ time_zone: 'UTC', statement_timeout: '45s' });
      // And again on the same three connections: no further SET.
      const again = (await Promise.all([1, 2, 3].map(() => wide.query(SETTINGS)))).map((r) => r[0]!);
      for (const row of again) expect(row).toMatchObject({ time_zone: 'UTC', statement_timeout: '45s' });
      expect(sent.filter((text) => /^SET /i.test(text)).length - setsBefore).toBe(6);
    } finally {
      await wide.release();
    }
  });
});

describe('the list of pre-aggregation tables', () => {
  /** Holds the answer of the next table list until released: a list read before a commit that returns after it. */
  class HeldListDriver extends SessionOncePostgresDriver {
    hold: { listed: () => void; release: Promise<void> } | undefined;
    override async query(sql: string, values?: unknown[]): Promise<Record<string, unknown>[]> {
      const rows = await super.query(sql, values);
      const hold = this.hold;
      if (hold && sql.includes('information_schema.tables')) {
        this.hold = undefined;
        hold.listed();
        await hold.release;
      }
      return rows;
    }
  }

  it('is read again when a table was created while it was being read (Cube 0.33 then lost the new partition)', async () => {
    const db = await createTestDatabase({ migrate: false });
    const lister = new HeldListDriver({ connectionString: db.url, maxPoolSize: 1 });
    const builder = new SessionOncePostgresDriver({ connectionString: db.url, maxPoolSize: 1 });
    try {
      await db.knex.raw('create schema rollups; create table rollups.old_partition (n int)');
      let release!: () => void;
      const listed = new Promise<void>((done) => {
        lister.hold = { listed: done, release: new Promise<void>((go) => (release = go)) };
      });
      const list = lister.getTablesQuery('rollups');
      await listed; // its SQL has run, before the new table exists
      await builder.loadPreAggregationIntoTable('rollups.new_partition', 'create table rollups.new_partition as select 1 as n', [], {});
      release();
      const names = (await list).map((row) => row.table_name).sort();
      expect(names).toEqual(['new_partition', 'old_partition']);
      // A drop while listing is caught the same way.
      const listedAgain = new Promise<void>((done) => {
        lister.hold = { listed: done, release: new Promise<void>((go) => (release = go)) };
      });
      const second = lister.getTablesQuery('rollups');
      await listedAgain;
      await builder.dropTable('rollups.old_partition');
      release();
      expect((await second).map((row) => row.table_name)).toEqual(['new_partition']);
    } finally {
      await lister.release();
      await builder.release();
      await db.drop();
    }
  });
});

describe('release', () => {
  it('returns once its connections have closed, so the server can stop after it without ending them', async () => {
    const db = await createTestDatabase({ migrate: false });
    const closing = new SessionOncePostgresDriver({ connectionString: db.url, maxPoolSize: 3 });
    try {
      const clients: pg.Client[] = [];
      (closing as unknown as { pool: pg.Pool }).pool.on('connect', (client) => clients.push(client));
      // Three connections at once, then idle in the pool (serve's state when Ctrl-C comes).
      const pids = (await Promise.all([1, 2, 3].map(() => closing.query('select pg_backend_pid() as pid, pg_sleep(0.05)')))).map((rows) => rows[0]!.pid);
      expect(clients).toHaveLength(3);
      expect(new Set(pids).size).toBe(3);
      await closing.release();
      // Each socket is closed when release() returns: Cube's release() returned while they were still open (it does not
      // wait for the pool, and the pool's end() resolves before its clients' sockets close).
      for (const client of clients) expect((client as unknown as { connection: { stream: { destroyed: boolean } } }).connection.stream.destroyed).toBe(true);
    } finally {
      await closing.release();
      await db.drop();
    }
  });
});
