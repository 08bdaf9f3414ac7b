/**
 * A fingerprint of a model's declared tests (column tests in column order, and
 * table tests). Each model run records it; an incremental or append build judges
 * only the rows it adds when the last successful run of the model judged the
 * published rows with the same fingerprint, so a new or changed test is run over
 * the whole table once before old rows are trusted again.
 */
import { createHash } from 'node:crypto';
import type { Model } from './model-discovery.ts';

export function testsFingerprint(model: Pick<Model, 'columns' | 'tests'>): string {
  const declared = { columns: Object.entries(model.columns).map(([name, spec]) => [name, spec.tests]), tests: model.tests };
  return createHash('sha256').update(JSON.stringify(declared)).digest('hex').slice(0, 32);
}
