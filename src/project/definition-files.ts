/**
 * Reading a directory of definitions as code (experiments/*.yml, changes/*.yml):
 * each file parsed keeping positions, validated against its zod schema, names
 * unique across the directory, and every problem collected with file:line:column
 * and field, so one run reports them all. The family's own checks (a control
 * among the variants, a known segment) go through `problem`, located the same way.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { z } from 'zod';
import type { Issue } from '../errors/user-error.js';
import { issuesInYaml, parseYamlFile, yamlLocation } from '../errors/yaml-location.js';

/** Reports a problem at a path of keys in the definition's file. */
export type ReportProblem = (path: (string | number)[], message: string, code?: string) => void;

export interface DefinitionFiles<T> {
  /** Definitions that passed the schema, each with its file (relative to the project root), in file-name order. */
  definitions: (T & { file: string })[];
  /** Every problem found so far; the caller adds its own checks' through `check`. */
  problems: Issue[];
}

/**
 * `kind` names a definition in messages ("experiment", "change"); `check` runs the
 * family's own rules on a schema-valid definition.
 */
export function readDefinitionFiles<S extends z.ZodType<{ name: string }>>(
  dir: string,
  schema: S,
  kind: string,
  projectRoot: string,
  check: (definition: z.output<S> & { file: string }, problem: ReportProblem) => void = () => {},
): DefinitionFiles<z.output<S>> {
  const problems: Issue[] = [];
  const definitions: (z.output<S> & { file: string })[] = [];
  const seen = new Map<string, string>();
  for (const name of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const shown = relative(projectRoot, join(dir, name));
    const { doc, lineCounter, issues } = parseYamlFile(readFileSync(join(dir, name), 'utf8'), shown);
    if (issues.length > 0) {
      problems.push(...issues);
      continue;
    }
    const parsed = schema.safeParse(doc.toJS());
    if (!parsed.success) {
      problems.push(...issuesInYaml(parsed.error.issues, { doc, lineCounter, file: shown }));
      continue;
    }
    const definition = { ...parsed.data, file: shown };
    const problem: ReportProblem = (path, message, code = 'invalid_definition') =>
      problems.push({ code, path, message: `${message} (${kind} "${definition.name}")`, file: shown, ...yamlLocation(doc, lineCounter, path) });
    check(definition, problem);
    if (seen.has(definition.name)) problem(['name'], `duplicate ${kind} name, also in ${seen.get(definition.name)}`, 'duplicate_name');
    seen.set(definition.name, shown);
    definitions.push(definition);
  }
  return { definitions, problems };
}
