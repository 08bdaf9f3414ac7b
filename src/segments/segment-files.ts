/**
 * Reads segments/*.yml, validates every definition (schema, rules, features, types,
 * names, bands) and reports every problem at once with file:line and field. Nothing
 * runs when a definition is wrong.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { formatIssue, UserError, type Issue } from '../errors/user-error.js';
import { issuesInYaml, parseYamlFile, yamlScalarPosition } from '../errors/yaml-location.js';
import { compileRule, type FeatureCatalog } from './rule-compiler.ts';
import { RuleSyntaxError } from './rule-parser.ts';
import { segmentDefinition, segmentFile, segmentsOf, type SegmentDefinition } from './segment-definition.ts';

export class SegmentDefinitionError extends UserError {
  constructor(issues: Issue[]) {
    super(issues, { heading: 'invalid segment definitions' });
  }

  /** Each issue as one line (file:line:column path: message). */
  get problems(): string[] {
    return this.issues.map(formatIssue);
  }
}

/** Scores r, f and m run 1–5: the catalog of RFM band rules. */
export const RFM_SCORES: FeatureCatalog = new Map([['r', 'number'], ['f', 'number'], ['m', 'number']]);

/** Populations of RFM and clusters are over features only (event predicates are for rule segments). */
const featuresOnly = ({ eventParts: p }: ReturnType<typeof compileRule>) =>
  p.events.length + p.outcomes.length + p.sequences.length > 0 ? 'event predicates are for rule segments; a population uses features' : undefined;

export function loadSegmentDefinitions(segmentsDir: string, catalog: FeatureCatalog, projectRoot = process.cwd()): SegmentDefinition[] {
  const files = readdirSync(segmentsDir).filter((f) => /\.ya?ml$/.test(f)).sort();
  const problems: Issue[] = [];
  const definitions: SegmentDefinition[] = [];
  const seen = new Map<string, string>();
  for (const name of files) {
    const path = join(segmentsDir, name);
    const shown = relative(projectRoot, path);
    const text = readFileSync(path, 'utf8');
    const { doc, lineCounter, issues } = parseYamlFile(text, shown);
    if (issues.length > 0) {
      problems.push(...issues);
      continue;
    }
    const file = segmentFile.safeParse(doc.toJS());
    if (!file.success) {
      problems.push(...issuesInYaml(file.error.issues, { doc, lineCounter, file: shown }));
      continue;
    }
    file.data.segments.forEach((raw, index) => {
      const base = ['segments', index];
      const parsed = segmentDefinition.safeParse(raw);
      if (!parsed.success) {
        problems.push(...issuesInYaml(parsed.error.issues, { doc, lineCounter, file: shown, prefix: base }));
        return;
      }
      const definition = { ...parsed.data, family: parsed.data.family ?? file.data.family ?? 'behavioural', file: shown } as SegmentDefinition;
      /** A problem of this definition at `field` (at character `offset` of a rule, when known). */
      const problem = (field: (string | number)[], message: string, offset?: number, code = 'invalid_definition') => {
        const path = [...base, ...field];
        const position = yamlScalarPosition(doc, lineCounter, path, offset ?? 0);
        problems.push({ code, path, message: `${message} (segment "${definition.name}")`, file: shown, ...position });
      };
      const checkRule = (field: (string | number)[], source: string, rules: FeatureCatalog, extra?: (sql: ReturnType<typeof compileRule>) => string | undefined) => {
        try {
          const compiled = compileRule(source, rules);
          const found = extra?.(compiled);
          if (found) problem(field, found);
        } catch (error) {
          if (!(error instanceof RuleSyntaxError)) throw error;
          problem(field, error.message, error.at, 'rule_syntax');
        }
      };
      if (seen.has(definition.name)) problem(['name'], `duplicate segment name, also in ${seen.get(definition.name)}`, undefined, 'duplicate_name');
      seen.set(definition.name, shown);
      if (definition.kind === 'rule') checkRule(['rule'], definition.rule, catalog);
      if (definition.kind !== 'rule' && definition.refresh === 'incremental') {
        problem(['refresh'], `refresh: incremental is for rule segments; ${definition.kind === 'rfm' ? 'RFM scores rank' : 'clusters are fitted over'} the whole population, so every build recomputes them (use each_build)`);
      }
      if (definition.kind === 'rfm') {
        for (const key of ['recency', 'frequency', 'monetary'] as const) {
          const feature = definition.rfm[key];
          const type = catalog.get(feature);
          const allowed = key === 'recency' && type === 'time';
          if (type !== 'number' && !allowed) {
            const kinds = key === 'recency' ? 'numeric (days) or a time' : 'numeric';
            problem(['rfm', key], type ? `feature "${feature}" is not ${kinds}` : `unknown feature "${feature}"`);
          }
        }
        if (definition.rfm.reference !== undefined && catalog.get(definition.rfm.recency) !== 'time') {
          problem(['rfm', 'reference'], `reference applies to a time recency feature (e.g. last_order_at); "${definition.rfm.recency}" is already measured to as_of_at`);
        }
        if (definition.rfm.population !== undefined) checkRule(['rfm', 'population'], definition.rfm.population, catalog, featuresOnly);
        const bands = new Set<string>();
        definition.rfm.bands.forEach((band, i) => {
          if (bands.has(band.name)) problem(['rfm', 'bands', i, 'name'], `duplicate band "${band.name}"`);
          bands.add(band.name);
          checkRule(['rfm', 'bands', i, 'rule'], band.rule, RFM_SCORES, ({ bindings }) => {
            const outside = bindings.filter((v) => typeof v !== 'number' || v < 1 || v > 5 || !Number.isInteger(v));
            return outside.length > 0 ? `invalid band: scores are whole numbers 1–5, found ${outside.join(', ')}` : undefined;
          });
        });
      }
      if (definition.kind === 'cluster') {
        definition.cluster.features.forEach((feature, i) => {
          if (catalog.get(feature) !== 'number') problem(['cluster', 'features', i], catalog.has(feature) ? `feature "${feature}" is not numeric` : `unknown feature "${feature}"`);
        });
        if (new Set(definition.cluster.features).size !== definition.cluster.features.length) problem(['cluster', 'features'], 'a feature is listed twice');
        if (definition.cluster.population !== undefined) checkRule(['cluster', 'population'], definition.cluster.population, catalog, featuresOnly);
      }
      if (definition.claim) {
        const segments = segmentsOf(definition);
        const named = definition.claim.segment ?? (definition.kind === 'rule' ? definition.name : undefined);
        if (named === undefined) problem(['claim'], `the claim must name its segment (one of ${segments.join(', ')})`);
        else if (!segments.includes(named)) problem(['claim', 'segment'], `unknown segment "${named}"; one of ${segments.join(', ')}`);
      }
      definitions.push(definition);
    });
  }
  if (files.length === 0) problems.push({ code: 'no_files', path: [], message: 'no segment files (*.yml)', file: relative(projectRoot, segmentsDir) });
  if (problems.length > 0) throw new SegmentDefinitionError(problems);
  return definitions;
}
