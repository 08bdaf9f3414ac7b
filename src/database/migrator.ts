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

/** Migration files not yet applied to the database (none applied at all when ops has no bookkeeping table). */
export async function pendingMigrations(knex: Knex, projectRoot: string): Promise<string[]> {
  const files = await new DirectoryMigrationSource(join(projectRoot, 'migrations')).getMigrations();
  const { rows } = await knex.raw(`select to_regclass('ops.knex_migrations') is not null as ok`);
  if (!rows[0].ok) return files;
  const applied = new Set<string>(await knex('ops.knex_migrations').pluck('name'));
  return files.filter((file) => !applied.has(file));
}

/** Key of the advisory lock that lets one process migrate a database at a time. */
const MIGRATION_LOCK = 472_618_113;

/**
 * Commands started together all migrate first. They take turns under an advisory lock
 * (held on one pooled connection while the migrations run on the others), so two never
 * create the bookkeeping table at once ("type knex_migrations already exists"); the
 * second finds nothing to apply. Should a lock-free tool race us anyway, Knex's
 * migration lock or a catalog conflict means "someone else is doing it": wait and retry.
 */
export async function migrateLatest(knex: Knex, projectRoot: string, timeoutMs = 120_000): Promise<MigrationResult> {
  const deadline = Date.now() + timeoutMs;
  const connection = await knex.client.acquireConnection();
  try {
    await knex.raw('select pg_advisory_lock(?)', [MIGRATION_LOCK]).connection(connection);
    for (;;) {
      try {
        // The bookkeeping table lives in ops, which must exist before Knex looks for it.
        await knex.raw('create schema if not exists ops');
        const [, names] = (await knex.migrate.latest(options(projectRoot))) as [number, string[]];
        return { names };
      } catch (error) {
        const e = error as Error & { code?: string };
        const concurrent = e.name === 'MigrationLocked' || ['23505', '42P07', '42P06', '42710'].includes(e.code ?? '');
        if (!concurrent || Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } finally {
    await knex.raw('select pg_advisory_unlock(?)', [MIGRATION_LOCK]).connection(connection).catch(() => {});
    await knex.client.releaseConnection(connection);
  }
}

export async function migrateRollback(knex: Knex, projectRoot: string, all = false): Promise<MigrationResult> {
  const [, names] = (await knex.migrate.rollback(options(projectRoot), all)) as [number, string[]];
  return { names };
}
