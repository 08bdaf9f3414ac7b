/** `seglayer debug` says what is wrong: migrations not applied, then models not built, then a broken model. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateLatest } from '../../src/database/migrator.ts';
import { spawnCli } from '../support/cli-process.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
});
afterAll(() => db.drop());

describe('seglayer debug', () => {
  it('names unapplied migrations (exit 1), then unbuilt models and an empty warehouse (exit 0)', async () => {
    const before = await spawnCli(['debug'], { DATABASE_URL: db.url }).done;
    expect(before.output).toMatch(/✓ warehouse: postgres:\/\/[^:]+:\*\*\*@/);
    expect(before.output).toMatch(/✗ migrations: \d+ not applied \(20261125000100_create_ops_schema\.ts, .*\): run seglayer migrate/);
    expect(before.code).toBe(1);
    await migrateLatest(db.knex, PROJECT_ROOT);
    const after = await spawnCli(['debug'], { DATABASE_URL: db.url }).done;
    expect(after.output).toContain('✓ migrations: all applied');
    expect(after.output).toMatch(/! built: \d+ of \d+ models not built yet .*: run seglayer build/);
    expect(after.output).toContain('! loads: nothing loaded yet');
    expect(after.code).toBe(0);
  });
});
