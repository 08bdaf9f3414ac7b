/**
 * Segments used elsewhere: `segments export` streams a definition's members as CSV or
 * NDJSON (checked against segments.current_membership), `--as-of` rebuilds them from the
 * history, and `segments changes --since` gives the entered/left rows an app polls.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoFiles } from '../../src/demo/demo-generator.ts';
import { loadFile } from '../../src/load/batch-loader.ts';
import { runModels } from '../../src/models/model-runner.ts';
import { spawnCli } from '../support/cli-process.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  const manifest = await writeDemoFiles({ users: 300, seed: 8, outDir: mkdtempSync(join(tmpdir(), 'seglayer-demo-')) });
  for (const file of manifest.files) await loadFile(db.url, file.path, { into: file.into });
  const build = await runModels(db.knex, db.url, (await loadTestProject()).models);
  expect(build.ok).toBe(true);
});
afterAll(() => db.drop());

const members = async (definition: string) =>
  (await db.knex('segments.current_membership').where({ definition }).select('user_key', 'segment')).map((r) => `${r.segment}|${r.user_key}`).sort();

describe('segments export', () => {
  it('streams every member of a definition as CSV and as NDJSON', async () => {
    const expected = await members('rfm');
    expect(expected.length).toBeGreaterThan(0);
    const csvRun = await spawnCli(['segments', 'export', 'rfm'], { DATABASE_URL: db.url }).done;
    expect(csvRun.code).toBe(0);
    const lines = csvRun.output.split('\n').filter((l) => l && !l.includes(' rows'));
    expect(lines[0]).toBe('user_key,definition,segment,version,since');
    expect(lines.slice(1).map((l) => { const [user, , segment] = l.split(','); return `${segment}|${user}`; }).sort()).toEqual(expected);

    const nd = await spawnCli(['segments', 'export', 'rfm', '--format', 'ndjson', '--as-of', new Date(Date.now() + 60_000).toISOString()], { DATABASE_URL: db.url }).done;
    const objects = nd.output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { user_key: string; segment: string });
    expect(objects.map((o) => `${o.segment}|${o.user_key}`).sort()).toEqual(expected);

    const before = await spawnCli(['segments', 'export', 'rfm', '--as-of', '2000-01-01'], { DATABASE_URL: db.url }).done;
    expect(before.output.split('\n').filter((l) => /^u\d/.test(l))).toEqual([]);
    const unknown = await spawnCli(['segments', 'export', 'rfn'], { DATABASE_URL: db.url }).done;
    expect(unknown.code).toBe(1);
    expect(unknown.output).toMatch(/no segment definition "rfn" has been built/);
  });

  it('gives the entered/left changes after a time', async () => {
    const history = await db.knex('segments.membership_history').count('* as n').first();
    const run = await spawnCli(['segments', 'changes', '--since', '2000-01-01'], { DATABASE_URL: db.url }).done;
    const changes = run.output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { change: string; changed_at: string });
    expect(changes.length).toBe(history!.n);
    expect(new Set(changes.map((c) => c.change))).toEqual(new Set(['entered']));
    const last = changes[changes.length - 1]!.changed_at;
    const after = await spawnCli(['segments', 'changes', '--since', last], { DATABASE_URL: db.url }).done;
    expect(after.output.split('\n').filter((l) => l.startsWith('{'))).toEqual([]);
  });
});
