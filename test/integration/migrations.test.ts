import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKnex } from '../../src/database/knex-client.ts';
import { migrateLatest, migrateRollback } from '../../src/database/migrator.ts';
import { LINEAGE_COLUMNS, TABLE_CONTRACTS } from '../../src/load/table-contracts.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
});
afterAll(() => db.drop());

const tables = async () =>
  (
    await db.knex.raw(`select table_schema || '.' || table_name as name from information_schema.tables
      where table_schema in ('raw', 'ops') and table_name not like 'knex%' order by 1`)
  ).rows.map((r: { name: string }) => r.name);

describe('migrations', () => {
  it('apply, repeat as a no-op, roll back fully and re-apply', async () => {
    const files = readdirSync(join(PROJECT_ROOT, 'migrations')).filter((name) => /^\d{14}_\w+\.ts$/.test(name));
    expect((await migrateLatest(db.knex, PROJECT_ROOT)).names).toHaveLength(files.length);
    const created = await tables();
    expect(created).toEqual(expect.arrayContaining(['raw.events', 'raw.users', 'raw.identities', 'raw.outcomes', 'raw.costs', 'raw.survey_responses', 'raw.experiment_assignments', 'ops.load_batches', 'ops.quarantine', 'ops.model_runs', 'ops.test_results', 'ops.model_batches']));
    expect((await migrateLatest(db.knex, PROJECT_ROOT)).names).toEqual([]);
    expect((await migrateRollback(db.knex, PROJECT_ROOT, true)).names).toHaveLength(files.length);
    expect(await tables()).toEqual([]);
    await migrateLatest(db.knex, PROJECT_ROOT);
    expect(await tables()).toEqual(created);
  });

  it('run by five processes at once on a new database: each succeeds, the migrations apply once', async () => {
    // Commands started together all migrate first (a scheduler firing build and load together).
    const fresh = await createTestDatabase({ migrate: false });
    const clients = Array.from({ length: 5 }, () => createKnex(fresh.url));
    try {
      const results = await Promise.all(clients.map((knex) => migrateLatest(knex, PROJECT_ROOT)));
      const files = readdirSync(join(PROJECT_ROOT, 'migrations')).filter((name) => /^\d{14}_\w+\.ts$/.test(name));
      expect(results.map((r) => r.names.length).sort()).toEqual([0, 0, 0, 0, files.length]);
    } finally {
      await Promise.all(clients.map((knex) => knex.destroy()));
      await fresh.drop();
    }
  });

  it('match the loader contracts column for column (the two must not drift)', async () => {
    for (const contract of Object.values(TABLE_CONTRACTS)) {
      const [schema, table] = contract.table.split('.') as [string, string];
      const { rows } = await db.knex.raw(
        `select column_name, data_type, is_nullable from information_schema.columns
         where table_schema = ? and table_name = ? order by ordinal_position`,
        [schema, table],
      );
      expect(rows.map((r: { column_name: string }) => r.column_name), contract.table).toEqual([...contract.columns.map((c) => c.name), ...LINEAGE_COLUMNS]);
      const pgType = { text: 'text', timestamptz: 'timestamp with time zone', date: 'date', integer: 'integer', numeric: 'numeric', jsonb: 'jsonb' };
      for (const column of contract.columns) {
        const row = rows.find((r: { column_name: string }) => r.column_name === column.name);
        expect(row.data_type, `${contract.table}.${column.name}`).toBe(pgType[column.type]);
        // A column the contract lets be empty must be nullable, or a valid row would fail COPY.
        if (!column.required) expect(row.is_nullable, `${contract.table}.${column.name}`).toBe('YES');
      }
    }
  });
});
