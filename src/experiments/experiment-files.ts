/**
 * Reads experiments/*.yml, validates each experiment (schema, control among the
 * variants, unique names, known segment definitions, CUPED only where a
 * pre-period makes sense) and reports every problem at once with
 * file:line:column and field. Nothing runs when a definition is wrong.
 */
import { type Issue, UserError } from '../errors/user-error.js';
import { readDefinitionFiles } from '../project/definition-files.ts';
import { type ExperimentDefinition, experimentSchema } from './experiment-definition.ts';

export class ExperimentDefinitionError extends UserError {
  constructor(issues: Issue[]) {
    super(issues, { heading: 'invalid experiment definitions' });
  }
}

/** `segmentDefinitions`: names of the segment definitions an experiment may break down by. */
export function loadExperimentDefinitions(dir: string, segmentDefinitions: ReadonlySet<string>, projectRoot = process.cwd()): ExperimentDefinition[] {
  const { definitions, problems } = readDefinitionFiles(dir, experimentSchema, 'experiment', projectRoot, (experiment, problem) => {
    const variants = experiment.variants.map((v) => v.name);
    if (!variants.includes(experiment.control)) problem(['control'], `control "${experiment.control}" is not one of the variants (${variants.join(', ')})`);
    variants.forEach((v, i) => {
      if (variants.indexOf(v) !== i) problem(['variants', i, 'name'], `variant "${v}" is listed twice`, 'duplicate_name');
    });
    experiment.metrics.forEach((m, i) => {
      if (experiment.metrics.findIndex((other) => other.name === m.name) !== i) problem(['metrics', i, 'name'], `metric "${m.name}" is defined twice`, 'duplicate_name');
      if (m.cuped && m.type === 'ratio') problem(['metrics', i, 'cuped'], 'CUPED is supported for binomial and mean metrics, not ratios');
    });
    experiment.segments.forEach((s, i) => {
      if (!segmentDefinitions.has(s)) problem(['segments', i], `unknown segment definition "${s}"; known: ${[...segmentDefinitions].sort().join(', ')}`, 'unknown_segment');
      if (experiment.segments.indexOf(s) !== i) problem(['segments', i], `segment definition "${s}" is listed twice`, 'duplicate_name');
    });
  });
  if (problems.length > 0) throw new ExperimentDefinitionError(problems);
  return definitions;
}
