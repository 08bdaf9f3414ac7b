/**
 * Reads funnels/*.yml, validates every funnel (schema, step conditions against
 * the event catalog, breakdown against the segment definitions, unique names)
 * and reports every problem at once with file:line:column, as segment files do.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { UserError, type Issue } from '../errors/user-error.js';
import { issuesInYaml, parseYamlFile, yamlScalarPosition } from '../errors/yaml-location.js';
import { compileRule } from '../segments/rule-compiler.ts';
import { RuleSyntaxError } from '../segments/rule-parser.ts';
import { EVENT_COLUMNS, eventCatalog } from './event-catalog.ts';
import { funnelDefinition, funnelFile, type FunnelDefinition } from './funnel-definition.ts';

export class FunnelDefinitionError extends UserError {
  constructor(issues: Issue[]) {
    super(issues, { heading: 'invalid funnel definitions' });
  }
}

/** `segmentDefinitions`: each segment definition's name with the names of its segments. */
export function loadFunnelDefinitions(funnelsDir: string, segmentDefinitions: ReadonlyMap<string, readonly string[]>, projectRoot = process.cwd()): FunnelDefinition[] {
  const files = readdirSync(funnelsDir).filter((f) => /\.ya?ml$/.test(f)).sort();
  const problems: Issue[] = [];
  const funnels: FunnelDefinition[] = [];
  const seen = new Map<string, string>();
  for (const name of files) {
    const shown = relative(projectRoot, join(funnelsDir, name));
    const { doc, lineCounter, issues } = parseYamlFile(readFileSync(join(funnelsDir, name), 'utf8'), shown);
    if (issues.length > 0) {
      problems.push(...issues);
      continue;
    }
    const file = funnelFile.safeParse(doc.toJS());
    if (!file.success) {
      problems.push(...issuesInYaml(file.error.issues, { doc, lineCounter, file: shown }));
      continue;
    }
    file.data.funnels.forEach((raw, index) => {
      const base = ['funnels', index];
      const parsed = funnelDefinition.safeParse(raw);
      if (!parsed.success) {
        problems.push(...issuesInYaml(parsed.error.issues, { doc, lineCounter, file: shown, prefix: base }));
        return;
      }
      const funnel: FunnelDefinition = { ...parsed.data, file: shown };
      const problem = (field: (string | number)[], message: string, offset = 0, code = 'invalid_funnel') => {
        const path = [...base, ...field];
        problems.push({ code, path, message: `${message} (funnel "${funnel.name}")`, file: shown, ...yamlScalarPosition(doc, lineCounter, path, offset) });
      };
      if (seen.has(funnel.name)) problem(['name'], `duplicate funnel name, also in ${seen.get(funnel.name)}`, 0, 'duplicate_name');
      seen.set(funnel.name, shown);
      if (funnel.breakdown !== undefined && !segmentDefinitions.has(funnel.breakdown)) {
        problem(['breakdown'], `unknown segment definition "${funnel.breakdown}"; known: ${[...segmentDefinitions.keys()].join(', ') || 'none'}`);
      } else if (funnel.breakdown !== undefined && segmentDefinitions.get(funnel.breakdown)!.includes('all')) {
        // Its rows for everyone are segment "all": the segment's users would be one row with them (or fail the unique test).
        problem(['breakdown'], `segment definition "${funnel.breakdown}" has a segment named "all", the funnel's row for everyone; rename the segment`);
      }
      for (const property of Object.keys(funnel.properties)) {
        if (EVENT_COLUMNS.has(property)) problem(['properties', property], `"${property}" is an event column; it needs no declaration`);
      }
      const catalog = eventCatalog(funnel.properties);
      funnel.steps.forEach((step, i) => {
        if (step.where === undefined) return;
        try {
          compileRule(step.where, catalog);
        } catch (error) {
          if (!(error instanceof RuleSyntaxError)) throw error;
          problem(['steps', i, 'where'], error.message, error.at, 'rule_syntax');
        }
      });
      funnels.push(funnel);
    });
  }
  if (problems.length > 0) throw new FunnelDefinitionError(problems);
  return funnels;
}
