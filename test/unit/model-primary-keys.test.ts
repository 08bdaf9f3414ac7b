/**
 * Every model has a primary key that is tested: a column tested unique and
 * not_null, or a unique_combination of declared columns. No database: the
 * models are only discovered.
 */
import { expect, it } from 'vitest';
import type { Model } from '../../src/models/model-discovery.ts';
import { loadTestProject } from '../support/test-project.ts';

function primaryKey(model: Model): string | undefined {
  for (const [name, column] of Object.entries(model.columns)) {
    if (column.tests.includes('unique') && column.tests.includes('not_null')) return name;
  }
  const combination = model.tests.flatMap((t) => ('unique_combination' in t ? [t.unique_combination] : [])).find((cols) => cols.every((c) => c in model.columns));
  return combination ? combination.join(', ') : undefined;
}

it('every model has a tested primary key', async () => {
  const { models } = await loadTestProject();
  expect(models.length).toBeGreaterThan(20);
  expect(models.filter((m) => !primaryKey(m)).map((m) => `${m.name} (${m.file})`)).toEqual([]);
});
