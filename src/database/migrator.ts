/**
 * Applies the Knex migrations in migrations/ (raw landing tables and ops
 * bookkeeping). Migrations are TypeScript modules loaded with `import()`, so the
 * same files run from the CLI, the tests and any tool that uses tsx.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Knex } from 'knex';

const MIGRATION_FILE = /^\d{14}_[a-z0-9_]+\.ts$/;

class DirectoryMigrationSource implements Knex.MigrationSource<string> {
  constructor(private readonly directory: string) {}
  async getMigrations(): Promise<string[]> {
    return readdirSync(this.directory).filter((f) => MIGRATION_FILE.test(f)).sort();
  }
  getMigrationName(file: string): string {
    return file;
  }
  async getMigration(file: string): Promise<Knex.Migration> {
    return (await import(pathToFileURL(join(this.directory, file)).href)) as Knex.Migration;
  }
}

export interface MigrationResult {
  /** Migrations applied (or rolled back) by this call, in order. */
  names: string[];
}

const options = (projectRoot: string): Knex.MigratorConfig => ({
  migrationSource: new DirectoryMigrationSource(join(projectRoot, 'migrations')),
  schemaName: 'ops',
  tableName: 'knex_migrations',
});

/**
 * Commands started together all migrate first: Knex's migration lock makes all
 * but one fail with "Migration table is already locked", and `create schema if
 * not exists` can lose a race on the catalog. Both mean "someone else is doing
 * it": wait and try again (the second attempt finds nothing to apply).
 */
export async function migrateLatest(knex: Knex, projectRoot: string, timeoutMs = 120_000): Promise<MigrationResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      // The bookkeeping table lives in ops, which must exist before Knex looks for it.
      await knex.raw('create schema if not exists ops');
      const [, names] = (await knex.migrate.latest(options(projectRoot))) as [number, string[]];
      return { names };
    } catch (error) {
      const e = error as Error & { code?: string };
      const concurrent = e.name === 'MigrationLocked' || e.code === '23505' || e.code === '42P07' || e.code === '42P06';
      if (!concurrent || Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export async function migrateRollback(knex: Knex, projectRoot: string, all = false): Promise<MigrationResult> {
  const [, names] = (await knex.migrate.rollback(options(projectRoot), all)) as [number, string[]];
  return { names };
}
