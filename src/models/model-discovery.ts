/**
 * Finds model files under models/, imports them and validates each definition.
 * Every problem in every file is collected and reported together (like Cube's
 * compiler), each naming the file and the field; nothing runs if any exists.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { modelSchema, type ModelDefinition } from './model-definition.ts';

/** Materialization when a model does not say: set per layer folder, as dbt projects do. */
export const LAYER_DEFAULTS: Record<string, ModelDefinition['materialized']> = {
  staging: 'view',
  core: 'table',
  features: 'table',
  segments: 'table',
  marts: 'table',
};

export interface Model extends ModelDefinition {
  materialized: NonNullable<ModelDefinition['materialized']>;
  /** Path relative to the project root. */
  file: string;
  /** The folder under models/ (staging, core, ...). */
  layer: string;
}

export class ModelDefinitionError extends Error {
  override name = 'ModelDefinitionError';
  constructor(readonly problems: string[]) {
    super(`${problems.length} problem(s) in model definitions; nothing was run:\n  ${problems.join('\n  ')}`);
  }
}

function modelFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...modelFiles(path));
    else if (entry.endsWith('.ts') && !entry.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

export async function discoverModels(projectRoot: string, modelsDir = join(projectRoot, 'models')): Promise<Model[]> {
  const problems: string[] = [];
  const models: Model[] = [];
  const seen = new Map<string, string>();
  for (const path of modelFiles(modelsDir)) {
    const file = relative(projectRoot, path);
    const layer = relative(modelsDir, path).split('/')[0]!;
    let exported: unknown;
    try {
      exported = ((await import(pathToFileURL(path).href)) as { default?: unknown }).default;
    } catch (error) {
      problems.push(`${file}: cannot be loaded: ${(error as Error).message.split('\n')[0]}`);
      continue;
    }
    const parsed = modelSchema.safeParse(exported);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push(`${file}: ${issue.path.join('.') || '(default export)'}: ${issue.message}`);
      continue;
    }
    const definition = parsed.data;
    const expected = basename(path, '.ts');
    if (definition.name.split('.')[1] !== expected) problems.push(`${file}: name: "${definition.name}" must end in the file name "${expected}"`);
    const materialized = definition.materialized ?? LAYER_DEFAULTS[layer];
    if (!materialized) problems.push(`${file}: materialized: required outside the known layers (${Object.keys(LAYER_DEFAULTS).join(', ')})`);
    if (materialized === 'incremental' && !definition.incremental) problems.push(`${file}: incremental: required when materialized is "incremental"`);
    const previous = seen.get(definition.name);
    if (previous) problems.push(`${file}: name: "${definition.name}" is already defined in ${previous}`);
    seen.set(definition.name, file);
    models.push({ ...definition, materialized: materialized ?? 'table', file, layer });
  }
  if (problems.length) throw new ModelDefinitionError(problems);
  return models;
}
