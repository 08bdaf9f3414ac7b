/**
 * Model files imported as one bundle give the same definitions as importing each file,
 * share the engine's modules with the rest of the process, and step aside (undefined)
 * when a file cannot be bundled, so the per-file import can name the file and line.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { importModelModules, validateModels } from '../../src/models/model-discovery.ts';
import { importBundledModels } from '../../src/models/model-bundle.ts';
import { writeModels } from '../support/fixture-models.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('importBundledModels', () => {
  it('returns each file\'s default export, in order, equal to importing the file itself', async () => {
    const dir = writeModels([
      { name: 'staging.first', sql: 'select 1 as id' },
      { name: 'core.second', sql: 'select id from {{staging.first}}', columns: { id: { tests: ['unique'] } } },
    ]);
    dirs.push(dir);
    const files = [join(dir, 'core/second.ts'), join(dir, 'staging/first.ts')];
    const bundled = await importBundledModels(files);
    expect(bundled).toHaveLength(2);
    for (const [i, file] of files.entries()) {
      const own = ((await import(file)) as { default: { name: string; columns: unknown } }).default;
      const fromBundle = bundled![i] as typeof own;
      expect(fromBundle.name).toBe(own.name);
      expect(fromBundle.columns).toEqual(own.columns);
    }
    // validated and ordered as the per-file import would be
    const models = validateModels(await importModelModules(dir, dir));
    expect(models.map((m) => m.name).sort()).toEqual(['core.second', 'staging.first']);
  });

  it('steps aside for a file with a syntax error, and the per-file import names it', async () => {
    const dir = writeModels([
      { name: 'staging.fine', sql: 'select 1 as id' },
      { name: 'staging.broken', sql: '', source: 'export default {{ not typescript' },
    ]);
    dirs.push(dir);
    expect(await importBundledModels([join(dir, 'staging/fine.ts'), join(dir, 'staging/broken.ts')])).toBeUndefined();
    const modules = await importModelModules(dir, dir);
    expect(modules.find((m) => m.file.endsWith('broken.ts'))?.failure).toBeDefined();
    expect(modules.find((m) => m.file.endsWith('fine.ts'))?.failure).toBeUndefined();
  });

  it('steps aside for a file that reads import.meta (it would read the bundle\'s)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seglayer-bundle-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
    writeFileSync(join(dir, 'where.ts'), 'export default import.meta.url;');
    expect(await importBundledModels([join(dir, 'where.ts')])).toBeUndefined();
  });
});
