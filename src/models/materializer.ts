/**
 * Publishes a model atomically with the materialization it declares. Every
 * materialization builds and checks the new version (declared columns, then
 * tests) before it publishes anything, so a failure at any step leaves the
 * previous version in place. The strategies live in ./materializations/, one
 * file each; adding one means adding a file and a line here.
 */
import type { Model } from './model-discovery.ts';
import { append } from './materializations/append.ts';
import { incremental } from './materializations/incremental.ts';
import type { Materialization, MaterializeRequest, Materialized } from './materializations/materialization.ts';
import { ensureSchema, splitName } from './materializations/relations.ts';
import { table } from './materializations/table.ts';
import { view } from './materializations/view.ts';

export { failedTestsSummary, ModelTestFailure, type Materialized, type MaterializeRequest, type ModelPhases, type TestOutcome } from './materializations/materialization.ts';
export { dropLeftovers, OLD_PREFIX, relationExists, TEMP_PREFIX } from './materializations/relations.ts';

export const MATERIALIZATIONS: Record<Model['materialized'], Materialization> = { view, table, incremental, append };

export async function materialize(request: MaterializeRequest): Promise<Materialized> {
  await ensureSchema(request.db, splitName(request.model.name)[0]);
  return MATERIALIZATIONS[request.model.materialized].materialize(request);
}
