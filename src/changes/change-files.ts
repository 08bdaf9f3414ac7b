/**
 * Reads changes/*.yml, validates each change (schema, unique names, known
 * segments, metrics the change analysis can measure) and reports every problem
 * at once with file:line:column and field. Nothing runs when a definition is wrong.
 */
import { type Issue, UserError } from '../errors/user-error.js';
import { readDefinitionFiles } from '../project/definition-files.ts';
import type { SegmentDefinition } from '../segments/segment-definition.ts';
import { type ChangeDefinition, changeSchema, EVERYONE_ELSE, type SegmentReference } from './change-definition.ts';

export class ChangeDefinitionError extends UserError {
  constructor(issues: Issue[]) {
    super(issues, { heading: 'invalid change definitions' });
  }
}

/** `segments`: the project's segment definitions (names and kinds), which a change's groups must name. */
export function loadChangeDefinitions(dir: string, segments: readonly Pick<SegmentDefinition, 'name' | 'kind'>[], projectRoot = process.cwd()): ChangeDefinition[] {
  const kinds = new Map(segments.map((s) => [s.name, s.kind]));
  const { definitions, problems } = readDefinitionFiles(dir, changeSchema, 'change', projectRoot, (change, problem) => {
    const checkGroup = (field: 'exposed' | 'comparison', group: SegmentReference) => {
      const kind = kinds.get(group.definition);
      if (!kind) problem([field, 'definition'], `unknown segment definition "${group.definition}"; known: ${[...kinds.keys()].sort().join(', ')}`, 'unknown_segment');
      else if (kind !== 'rule' && group.segment === undefined) problem([field], `"${group.definition}" is a ${kind} definition with several segments: name one with segment:`);
      else if (kind === 'rule' && group.segment !== undefined && group.segment !== group.definition) problem([field, 'segment'], `a rule definition has one segment, named "${group.definition}"`);
    };
    checkGroup('exposed', change.exposed);
    if (change.comparison !== EVERYONE_ELSE) {
      checkGroup('comparison', change.comparison);
      const same = (a: SegmentReference, b: SegmentReference) => a.definition === b.definition && (a.segment ?? a.definition) === (b.segment ?? b.definition);
      if (same(change.exposed, change.comparison)) problem(['comparison'], 'the comparison group is the exposed segment itself');
    }
    change.metrics.forEach((m, i) => {
      if (change.metrics.findIndex((other) => other.name === m.name) !== i) problem(['metrics', i, 'name'], `metric "${m.name}" is defined twice`, 'duplicate_name');
      // Sessions counted per week would count a session spanning two weeks twice.
      if ('events' in m.measure && m.measure.value === 'sessions') problem(['metrics', i, 'measure', 'value'], 'changes count events or sum revenue_usd; sessions are not supported here');
    });
  });
  if (problems.length > 0) throw new ChangeDefinitionError(problems);
  const filled = (group: SegmentReference) => ({ definition: group.definition, segment: group.segment ?? group.definition });
  return definitions.map((c) => ({ ...c, exposed: filled(c.exposed), comparison: c.comparison === EVERYONE_ELSE ? EVERYONE_ELSE : filled(c.comparison) }));
}
