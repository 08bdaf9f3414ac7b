/**
 * The features a rule may use, with their types, read from the declared columns of
 * the features model, so the catalog can never drift from the table.
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import type { ModelInput } from '../models/model-definition.ts';
import type { FeatureCatalog, FeatureType } from './rule-compiler.ts';

export const FEATURES_MODEL = 'features.user_features';
const FEATURES_FILE = 'features/user_features.ts';

const TYPES: Record<string, FeatureType> = {
  integer: 'number', bigint: 'number', numeric: 'number', 'double precision': 'number', real: 'number',
  text: 'text', boolean: 'boolean', timestamptz: 'time', date: 'time',
};

export interface Feature {
  name: string;
  type: FeatureType;
  description: string;
}

export function catalogFromColumns(columns: ModelInput['columns']): { catalog: FeatureCatalog; features: Feature[] } {
  const features: Feature[] = [];
  for (const [name, column] of Object.entries(columns)) {
    const type = TYPES[column.type ?? ''];
    if (type && name !== 'user_key') features.push({ name, type, description: column.description });
  }
  return { catalog: new Map(features.map((f) => [f.name, f.type])), features };
}

export async function loadFeatureCatalog(modelsDir: string): Promise<{ catalog: FeatureCatalog; features: Feature[] }> {
  const module = await import(pathToFileURL(join(modelsDir, FEATURES_FILE)).href);
  return catalogFromColumns((module.default as ModelInput).columns);
}
