/**
 * The engine does not depend on user content: no module under src/ imports from models/
 * (or segments/, schema/). User content reaches the engine as a value (src/project/).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

it('no module under src/ imports user content', () => {
  const files = readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) => /\.[jt]s$/.test(f)).map((f) => join(ROOT, 'src', f));
  expect(files.length).toBeGreaterThan(50);
  const offenders = files.flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/(?:from|import\()\s*['"](\.{1,2}\/[^'"]+)['"]/g)]
      .map((match) => relative(ROOT, resolve(dirname(file), match[1]!)))
      .filter((target) => /^(models|segments|schema)\//.test(target))
      .map((target) => `${relative(ROOT, file)} imports ${target}`),
  );
  expect(offenders).toEqual([]);
});
