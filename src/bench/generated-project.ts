/**
 * A project of many small models for timing parse and compile (`seglayer ls`): chains
 * and fans across the five layers, each model with a column contract and tests, written
 * into a temporary directory at bench time.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const DEFINE = resolve(import.meta.dirname, '../models/model-definition.ts');
const LAYERS = ['staging', 'core', 'features', 'segments', 'marts'] as const;

interface GeneratedModel {
  layer: (typeof LAYERS)[number];
  name: string;
  upstream: string[];
}

/**
 * `count` models: model i sits in layer floor(5i / count); it reads the model before it
 * in its layer (a chain) and, every fourth model, also one from the layer below (a fan in);
 * staging models read nothing. Returns the project root (its models/ holds the files).
 */
export function writeGeneratedProject(count: number): { root: string; models: GeneratedModel[] } {
  const root = mkdtempSync(join(tmpdir(), 'seglayer-generated-'));
  // Outside the repository, tsx needs to be told these files are ES modules.
  writeFileSync(join(root, 'package.json'), '{"type":"module"}');
  const models: GeneratedModel[] = [];
  for (let i = 0; i < count; i++) {
    const layer = LAYERS[Math.floor((i * LAYERS.length) / count)]!;
    const sameLayer = models.filter((m) => m.layer === layer);
    const below = models.filter((m) => m.layer === LAYERS[LAYERS.indexOf(layer) - 1]);
    const upstream = [sameLayer.at(-1), i % 4 === 0 ? below[i % Math.max(1, below.length)] : undefined].filter((m) => m !== undefined).map((m) => `${m.layer}.${m.name}`);
    const model = { layer, name: `model_${String(i).padStart(4, '0')}`, upstream };
    models.push(model);
    mkdirSync(join(root, 'models', layer), { recursive: true });
    writeFileSync(join(root, 'models', layer, `${model.name}.ts`), modelSource(model));
  }
  return { root, models };
}

function modelSource(model: GeneratedModel): string {
  const from = model.upstream.length
    ? model.upstream.map((name, i) => `${i ? 'join' : 'from'} \${ref('${name}')} as u${i}${i ? ' using (id)' : ''}`).join('\n      ')
    : 'from generate_series(1, 100) as g(id)';
  return `import { defineModel } from '${DEFINE}';

// Generated for the compile benchmark.
export default defineModel({
  name: '${model.layer}.${model.name}',
  description: 'Generated model ${model.name}: one row per id.',
  owner: 'bench',
  tags: ['generated', '${model.layer}'],
  columns: {
    id: { type: 'integer', description: 'the key', tests: ['not_null', 'unique'] },
    value: { type: 'numeric', description: 'a value', tests: ['not_null', { expression: 'value >= 0' }] },
    label: { type: 'text', description: 'a label', tests: [{ accepted_values: ['even', 'odd'] }] },
  },
  build: (knex, { ref }) => knex.raw(\`
    select id, (id * 2)::numeric as value, case when id % 2 = 0 then 'even' else 'odd' end as label
      ${from}\`),
});
`;
}
