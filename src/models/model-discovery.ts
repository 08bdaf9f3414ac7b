/**
 * Finds model files under models/, imports them and validates each definition.
 * Every problem in every file is collected and reported together (like Cube's
 * compiler), each naming the file and the field; nothing runs if any exists.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UserError, type Issue } from '../errors/user-error.js';
import type { ProjectContent } from '../project/project.ts';
import { describeImportFailure, type ImportFailure } from './import-failure.ts';
import { importBundledModels } from './model-bundle.ts';
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

/** Why each required model field is required, said when one is missing. */
export const REQUIRED_FIELDS: Record<string, string> = {
  name: 'the schema-qualified table the model builds, e.g. core.dim_users (its part after the dot is the file name)',
  description: 'one sentence on what a row is; it becomes the table comment and the docs',
  owner: 'who answers for the model when a test fails or a figure is questioned (a team or a person)',
  columns: 'the column contract: every output column with its type (and tests); a build whose output differs fails',
  build: 'a function (knex, { ref }) => query that selects the rows; ref() records the models it reads',
};

export class ModelDefinitionError extends UserError {
  constructor(issues: Issue[]) {
    super(issues, { heading: `${issues.length} problem(s) in model definitions; nothing was run` });
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

/** A model file as imported, before validation. */
export interface ModelModule {
  path: string;
  /** Relative to the project root. */
  file: string;
  layer: string;
  /** The default export: a model definition, or a function of the project content. */
  exported: unknown;
  /** Why the file could not be imported (with the compiler's line and column), if it could not. */
  failure?: ImportFailure;
}

export async function importModelModules(projectRoot: string, modelsDir = join(projectRoot, 'models')): Promise<ModelModule[]> {
  if (!existsSync(modelsDir)) {
    throw new UserError(`no models directory at ${modelsDir}: run seglayer in the project root, or set SEGLAYER_MODELS_DIR`, { code: 'no_models_dir' });
  }
  const paths = modelFiles(modelsDir);
  const where = (path: string) => ({ path, file: relative(projectRoot, path), layer: relative(modelsDir, path).split('/')[0]! });
  // One bundled import when the files allow it (see model-bundle.ts); else one file at a time.
  const bundled = await importBundledModels(paths);
  if (bundled) return paths.map((path, i) => ({ ...where(path), exported: bundled[i] }));
  const modules: ModelModule[] = [];
  for (const path of paths) {
    try {
      modules.push({ ...where(path), exported: ((await import(pathToFileURL(path).href)) as { default?: unknown }).default });
    } catch (error) {
      modules.push({ ...where(path), exported: undefined, failure: describeImportFailure(error, path) });
    }
  }
  return modules;
}

/**
 * Validates every imported model; a module exporting a function is called with the
 * project content first (its columns or SQL follow the segment definitions, say).
 */
export function validateModels(modules: ModelModule[], content?: ProjectContent): Model[] {
  const problems: Issue[] = [];
  const models: Model[] = [];
  const seen = new Map<string, string>();
  for (const { path, file, layer, exported, failure } of modules) {
    if (failure !== undefined) {
      const { message, ...at } = failure;
      problems.push({ code: 'cannot_load', path: [], message: `cannot be loaded: ${message}`, file, ...at });
      continue;
    }
    let definitionInput = exported;
    if (typeof exported === 'function') {
      if (!content) {
        problems.push({ code: 'needs_project', path: [], message: 'exports a function of the project: load it with loadProject', file });
        continue;
      }
      definitionInput = (exported as (project: ProjectContent) => unknown)(content);
    }
    const parsed = modelSchema.safeParse(definitionInput);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const path = issue.path.length ? (issue.path as (string | number)[]) : ['(default export)'];
        const missing = issue.code === 'invalid_type' && issue.path.length === 1 && (definitionInput as Record<string, unknown> | undefined)?.[String(issue.path[0])] === undefined;
        const why = missing ? REQUIRED_FIELDS[String(issue.path[0])] : undefined;
        problems.push({ code: why ? 'required' : issue.code, path, message: why ? `required: ${why}` : issue.message, file });
      }
      continue;
    }
    const definition = parsed.data;
    const expected = basename(path, '.ts');
    if (definition.name.split('.')[1] !== expected) problems.push({ code: 'name_mismatch', path: ['name'], message: `"${definition.name}" must end in the file name "${expected}"`, file });
    const materialized = definition.materialized ?? LAYER_DEFAULTS[layer];
    if (!materialized) problems.push({ code: 'required', path: ['materialized'], message: `required outside the known layers (${Object.keys(LAYER_DEFAULTS).join(', ')})`, file });
    if (definition.readsPrevious && materialized !== 'table') problems.push({ code: 'invalid_option', path: ['readsPrevious'], message: 'only a table model can reuse its previous version', file });
    if (definition.testsImpliedBy && materialized !== 'view') problems.push({ code: 'invalid_option', path: ['testsImpliedBy'], message: 'only a view leaves its tests to the models it reads (a table is tested as it is built)', file });
    if (definition.keepChanges && materialized === 'view') problems.push({ code: 'invalid_option', path: ['keepChanges'], message: 'only a table, incremental or append model keeps its changes', file });
    // An append model's rows since its last build can be its upstreams' changes (segments.membership_history).
    if (definition.deltaFrom && materialized !== 'table' && materialized !== 'incremental' && materialized !== 'append') problems.push({ code: 'invalid_option', path: ['deltaFrom'], message: 'only a table, incremental or append model is updated from its upstreams\' changes', file });
    for (const column of definition.keepChanges?.columns ?? []) if (!(column in definition.columns)) problems.push({ code: 'invalid_option', path: ['keepChanges', 'columns'], message: `"${column}" is not a declared column`, file });
    if (definition.replaceFrom && (materialized !== 'incremental' || typeof definition.incremental?.uniqueKey !== 'string' || definition.incremental.windowColumn || definition.incremental.tombstoneWhere)) problems.push({ code: 'invalid_option', path: ['replaceFrom'], message: 'only an incremental model with a one-column uniqueKey, no windowColumn and no tombstones replaces its keys\' rows from a point on', file });
    if (definition.replaceFrom && definition.incremental?.skipUnchanged) problems.push({ code: 'invalid_option', path: ['incremental', 'skipUnchanged'], message: 'a model with replaceFrom replaces ranges of a key\'s rows, not whole keys: it cannot skip unchanged keys', file });
    if (definition.replaceFrom && !(definition.replaceFrom.column in definition.columns)) problems.push({ code: 'invalid_option', path: ['replaceFrom', 'column'], message: `"${definition.replaceFrom.column}" is not a declared column`, file });
    for (const column of definition.replaceFrom?.by ?? []) if (!(column in definition.columns)) problems.push({ code: 'invalid_option', path: ['replaceFrom', 'by'], message: `"${column}" is not a declared column`, file });
    if (materialized === 'incremental' && !definition.incremental) problems.push({ code: 'required', path: ['incremental'], message: 'required when materialized is "incremental"', file });
    const previous = seen.get(definition.name);
    if (previous) problems.push({ code: 'duplicate_name', path: ['name'], message: `"${definition.name}" is already defined in ${previous}`, file });
    seen.set(definition.name, file);
    models.push({ ...definition, materialized: materialized ?? 'table', file, layer });
  }
  if (problems.length) throw new ModelDefinitionError(problems);
  return models;
}

/**
 * The models of a directory that depend on nothing but each other (test fixtures); a
 * project's models come from loadProject, which also reads what they depend on.
 */
export async function discoverModels(projectRoot: string, modelsDir = join(projectRoot, 'models')): Promise<Model[]> {
  return validateModels(await importModelModules(projectRoot, modelsDir));
}
