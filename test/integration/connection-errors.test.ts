/** A wrong password on a real server: one line naming DATABASE_URL, password hidden, no pg stack. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli } from '../support/cli-process.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
});
afterAll(() => db.drop());

describe('connection failures print one line', () => {
  it('a wrong password, and a database that does not exist', async () => {
    const wrong = new URL(db.url);
    wrong.password = 'not-the-password';
    const { code, output } = await spawnCli(['migrate'], { DATABASE_URL: wrong.toString() }).done;
    expect(code).toBe(1);
    const shown = new URL(wrong.toString());
    shown.password = '***';
    expect(output.trim().split('\n')).toEqual([`error: cannot connect to DATABASE_URL ${shown.toString()}: password authentication failed for user "${decodeURIComponent(wrong.username)}"`]);
    expect(output).not.toContain('not-the-password');

    const missing = new URL(db.url);
    missing.pathname = '/no_such_database';
    const second = await spawnCli(['migrate'], { DATABASE_URL: missing.toString() }).done;
    expect(second.output).toMatch(/^error: cannot connect to DATABASE_URL postgres:\/\/[^:]+:\*\*\*@.*\/no_such_database: the database "no_such_database" does not exist on that server\n$/);
  });
});
