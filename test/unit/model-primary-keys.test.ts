/**
 * Every model has a primary key that is tested: a column tested unique and
 * not_null, or a unique_combination of declared columns. No database: the
 * models are only discovered.
 */
import { expect, it } from 'vitest';
import { discoverModels, type Model } from '../../src/models/model-discovery.ts';
import { PROJECT_ROOT } from '../support/test-database.ts';

function primaryKey(model: Model): string | undefined {
  for (const [name, column] of Object.entries(model.columns)) {
    if (column.tests.includes('unique') && column.tests.includes('not_null')) return name;
  }
  const combination = model.tests.find((t) => t.unique_combination.every((c) => c in model.columns));
  return combination ? combination.unique_combination.join(', ') : undefined;
}

it('every model has a tested primary key', async () => {
  const models = await discoverModels(PROJECT_ROOT);
  expect(models.length).toBeGreaterThan(20);
  expect(models.filter((m) => !primaryKey(m)).map((m) => `${m.name} (${m.file})`)).toEqual([]);
});
