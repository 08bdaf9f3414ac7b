/**
 * Reads segments/*.yml, validates every definition (schema, rules, features, types,
 * names, bands) and reports every problem at once with file:line and field. Nothing
 * runs when a definition is wrong.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isScalar, parseDocument, type Document } from 'yaml';
import { firstAlias } from '../yaml/alias-guard.js';
import { compileRule, type FeatureCatalog } from './rule-compiler.ts';
import { RuleSyntaxError } from './rule-parser.ts';
import { segmentDefinition, segmentFile, type SegmentDefinition } from './segment-definition.ts';

export class SegmentDefinitionError extends Error {
  override name = 'SegmentDefinitionError';
  constructor(readonly problems: string[]) {
    super(`invalid segment definitions:\n  ${problems.join('\n  ')}`);
  }
}

/** Scores r, f and m run 1–5: the catalog of RFM band rules. */
export const RFM_SCORES: FeatureCatalog = new Map([['r', 'number'], ['f', 'number'], ['m', 'number']]);

export function loadSegmentDefinitions(segmentsDir: string, catalog: FeatureCatalog, projectRoot = process.cwd()): SegmentDefinition[] {
  const files = readdirSync(segmentsDir).filter((f) => /\.ya?ml$/.test(f)).sort();
  const problems: string[] = [];
  const definitions: SegmentDefinition[] = [];
  const seen = new Map<string, string>();
  for (const name of files) {
    const path = join(segmentsDir, name);
    const shown = relative(projectRoot, path);
    const text = readFileSync(path, 'utf8');
    const doc = parseDocument(text, { prettyErrors: false });
    const at = (path_: (string | number)[], offset?: number) => location(text, doc, path_, offset);
    if (doc.errors.length > 0) {
      for (const error of doc.errors) problems.push(`${shown}:${lineOf(text, error.pos[0])}: ${error.message.split('\n')[0]}`);
      continue;
    }
    const alias = firstAlias(doc, text);
    if (alias) {
      problems.push(`${shown}:${alias.line}: ${alias.message}`);
      continue;
    }
    const file = segmentFile.safeParse(doc.toJS());
    if (!file.success) {
      for (const issue of file.error.issues) problems.push(`${shown}:${at(issue.path as never).line} ${issue.path.join('.') || '(file)'}: ${issue.message}`);
      continue;
    }
    file.data.segments.forEach((raw, index) => {
      const base = ['segments', index];
      const parsed = segmentDefinition.safeParse(raw);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          const path_ = [...base, ...(issue.path as (string | number)[])];
          problems.push(`${shown}:${at(path_).line} ${path_.join('.')}: ${issue.message}`);
        }
        return;
      }
      const definition = { ...parsed.data, family: parsed.data.family ?? file.data.family ?? 'behavioural', file: shown } as SegmentDefinition;
      const where = (field: (string | number)[], offset?: number) => {
        const { line, column } = at([...base, ...field], offset);
        return `${shown}:${line}${column ? `:${column}` : ''} ${[...base, ...field].join('.')} (${definition.name})`;
      };
      const checkRule = (field: (string | number)[], source: string, rules: FeatureCatalog, extra?: (sql: ReturnType<typeof compileRule>) => string | undefined) => {
        try {
          const compiled = compileRule(source, rules);
          const problem = extra?.(compiled);
          if (problem) problems.push(`${where(field)}: ${problem}`);
        } catch (error) {
          if (!(error instanceof RuleSyntaxError)) throw error;
          problems.push(`${where(field, error.at)}: ${error.message}`);
        }
      };
      if (seen.has(definition.name)) problems.push(`${where(['name'])}: duplicate segment name, also in ${seen.get(definition.name)}`);
      seen.set(definition.name, shown);
      if (definition.kind === 'rule') checkRule(['rule'], definition.rule, catalog);
      if (definition.kind === 'rfm') {
        for (const key of ['recency', 'frequency', 'monetary'] as const) {
          const feature = definition.rfm[key];
          if (catalog.get(feature) !== 'number') problems.push(`${where(['rfm', key])}: ${catalog.has(feature) ? `feature "${feature}" is not numeric` : `unknown feature "${feature}"`}`);
        }
        if (definition.rfm.population !== undefined) checkRule(['rfm', 'population'], definition.rfm.population, catalog);
        const bands = new Set<string>();
        definition.rfm.bands.forEach((band, i) => {
          if (bands.has(band.name)) problems.push(`${where(['rfm', 'bands', i, 'name'])}: duplicate band "${band.name}"`);
          bands.add(band.name);
          checkRule(['rfm', 'bands', i, 'rule'], band.rule, RFM_SCORES, ({ bindings }) => {
            const outside = bindings.filter((v) => typeof v !== 'number' || v < 1 || v > 5 || !Number.isInteger(v));
            return outside.length > 0 ? `invalid band: scores are whole numbers 1–5, found ${outside.join(', ')}` : undefined;
          });
        });
      }
      if (definition.kind === 'cluster') {
        definition.cluster.features.forEach((feature, i) => {
          if (catalog.get(feature) !== 'number') problems.push(`${where(['cluster', 'features', i])}: ${catalog.has(feature) ? `feature "${feature}" is not numeric` : `unknown feature "${feature}"`}`);
        });
        if (new Set(definition.cluster.features).size !== definition.cluster.features.length) problems.push(`${where(['cluster', 'features'])}: a feature is listed twice`);
        if (definition.cluster.population !== undefined) checkRule(['cluster', 'population'], definition.cluster.population, catalog);
      }
      definitions.push(definition);
    });
  }
  if (files.length === 0) problems.push(`${relative(projectRoot, segmentsDir)}: no segment files (*.yml)`);
  if (problems.length > 0) throw new SegmentDefinitionError(problems);
  return definitions;
}

function lineOf(text: string, offset: number): number {
  return text.slice(0, offset).split('\n').length;
}

/** Line (and column, for a position inside a one-line scalar) of a path in the document. */
function location(text: string, doc: Document, path: (string | number)[], offset?: number): { line: number; column?: number } {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
    if (!node?.range) continue;
    let start = node.range[0];
    let exact = false;
    if (depth === path.length && isScalar(node) && offset !== undefined) {
      const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
      const raw = text.slice(node.range[0], node.range[1]);
      // A position inside a one-line scalar maps to a column; in a block scalar, the line of the key.
      if (!raw.includes('\n') && !/^[|>]/.test(raw)) {
        start += offset + (quoted ? 1 : 0);
        exact = true;
      }
    }
    const before = text.slice(0, start).split('\n');
    return { line: before.length, column: exact ? before.at(-1)!.length + 1 : undefined };
  }
  return { line: 1 };
}
