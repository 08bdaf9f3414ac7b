/**
 * A fresh, migrated database per test file on the run's PostgreSQL server, so
 * files run in parallel without seeing each other's rows.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { Knex } from 'knex';
import pg from 'pg';
import { inject } from 'vitest';
import { createKnex } from '../../src/database/knex-client.ts';
import { migrateLatest } from '../../src/database/migrator.ts';
import { ensureDatabase } from '../../src/database/warehouse-connection.ts';

export const PROJECT_ROOT = resolve(import.meta.dirname, '../..');

export interface TestDatabase {
  url: string;
  name: string;
  knex: Knex;
  drop(): Promise<void>;
}

export async function createTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const serverUrl = inject('pgServerUrl');
  const name = `test_${randomBytes(6).toString('hex')}`;
  const url = await ensureDatabase(serverUrl, name);
  const knex = createKnex(url);
  if (options.migrate !== false) await migrateLatest(knex, PROJECT_ROOT);
  return {
    url,
    name,
    knex,
    async drop() {
      await knex.destroy();
      const client = new pg.Client(serverUrl);
      await client.connect();
      await client.query(`drop database if exists ${client.escapeIdentifier(name)} with (force)`);
      await client.end();
    },
  };
}
