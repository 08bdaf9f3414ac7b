/**
 * Writes small model files into a temporary models/ directory, so runner tests
 * exercise discovery, compilation and materialization on real files.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PROJECT_ROOT } from './test-database.ts';

const DEFINE = join(PROJECT_ROOT, 'src/models/model-definition.ts');

export interface FixtureModel {
  name: string;
  /** SQL with {{schema.name}} where a ref() belongs. */
  sql: string;
  materialized?: 'view' | 'table' | 'incremental';
  /** Declared columns (the contract the built relation must match); default `{ id: not_null }`. */
  columns?: Record<string, { tests?: unknown[]; type?: string }>;
  tags?: string[];
  incremental?: { windowColumn: string; lookback: string };
  /** Raw override of the whole file body (for invalid definitions). */
  source?: string;
}

function modelSource(model: FixtureModel): string {
  const columns = Object.fromEntries(
    Object.entries(model.columns ?? { id: { tests: ['not_null'] } }).map(([name, spec]) => [name, { ...(spec.type ? { type: spec.type } : {}), description: `${name} column`, tests: spec.tests ?? [] }]),
  );
  const sql = model.sql.replace(/\{\{([a-z_.]+)\}\}/g, (_, ref) => `\${ref('${ref}')}`);
  const since = model.incremental ? "${incremental ? `where ts >= '${incremental.since.toISOString()}'` : ''}" : '';
  return `import { defineModel } from '${DEFINE}';
export default defineModel({
  name: '${model.name}',
  description: 'fixture',
  owner: 'tests',
  tags: ${JSON.stringify(model.tags ?? [])},
  ${model.materialized ? `materialized: '${model.materialized}',` : ''}
  ${model.incremental ? `incremental: ${JSON.stringify(model.incremental)},` : ''}
  columns: ${JSON.stringify(columns)},
  build: (knex, { ref, incremental }) => knex.raw(\`select * from (${sql}) q ${since}\`),
});
`;
}

/** A fresh models directory holding `models`; returns its path. */
export function writeModels(models: FixtureModel[], dir = mkdtempSync(join(tmpdir(), 'seglayer-models-'))): string {
  // Outside the project, tsx needs to be told these files are ES modules.
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  for (const model of models) {
    const [layer, name] = model.name.split('.') as [string, string];
    const path = join(dir, layer, `${name}.ts`);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, model.source ?? modelSource(model));
  }
  return dir;
}
