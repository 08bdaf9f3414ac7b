/**
 * Survey answers and traits as features, from configuration (traits.yml at the
 * project root), not from names written into a model: one feature column per entry,
 * the latest answer to its survey question, read as its declared type. A project
 * with other questions edits traits.yml, not SQL.
 *
 *   traits:
 *     - name: primary_goal           # the feature column rules use
 *       question: primary_goal       # core.user_survey.question
 *       survey: onboarding           # optional: only this survey's answers
 *       type: text                   # text | integer | numeric | boolean
 *       description: Survey: primary goal (psychographic), latest answer
 */
import { existsSync, readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors/user-error.js';
import { issuesInYaml, parseYamlFile } from '../errors/yaml-location.js';
import type { FeatureType } from './rule-compiler.ts';

const trait = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_]{0,40}$/, 'a snake_case name (letters, digits, _; at most 41 characters)'),
    question: z.string().min(1),
    survey: z.string().min(1).optional(),
    type: z.enum(['text', 'integer', 'numeric', 'boolean']),
    description: z.string().min(1),
  })
  .strict();
const traitsFile = z.object({ traits: z.array(trait) }).strict();

export type Trait = z.infer<typeof trait>;

/** The rule-language type of each trait type. */
export const TRAIT_FEATURE_TYPES: Record<Trait['type'], FeatureType> = { text: 'text', integer: 'number', numeric: 'number', boolean: 'boolean' };

/** The traits in `file` (relative to `root`; none when it does not exist); names must not clash with `taken`. */
export function loadTraits(root: string, file: string, taken: ReadonlySet<string>): Trait[] {
  const TRAITS_FILE = relative(root, resolve(root, file));
  const path = resolve(root, file);
  if (!existsSync(path)) return [];
  const { doc, lineCounter, issues } = parseYamlFile(readFileSync(path, 'utf8'), TRAITS_FILE);
  if (issues.length > 0) throw new UserError(issues, { heading: `invalid ${TRAITS_FILE}` });
  const parsed = traitsFile.safeParse(doc.toJS());
  if (!parsed.success) throw new UserError(issuesInYaml(parsed.error.issues, { doc, lineCounter, file: TRAITS_FILE }), { heading: `invalid ${TRAITS_FILE}` });
  const seen = new Set<string>();
  const clashes = parsed.data.traits.flatMap((t, i) => {
    const clash = seen.has(t.name) ? 'is listed twice' : taken.has(t.name) ? 'is already a column of features.user_features' : undefined;
    seen.add(t.name);
    return clash ? [{ code: 'duplicate_name', path: ['traits', i, 'name'], message: `trait "${t.name}" ${clash}`, file: TRAITS_FILE }] : [];
  });
  if (clashes.length > 0) throw new UserError(clashes, { heading: `invalid ${TRAITS_FILE}` });
  return parsed.data.traits;
}

/** The SQL type of a trait column, and the check an answer must pass to be read as it (so a bad answer is skipped, not a failed cast). */
export const TRAIT_SQL: Record<Trait['type'], { sqlType: string; valid: string; cast: string }> = {
  text: { sqlType: 'text', valid: 'true', cast: '' },
  // No "?" in these patterns: Knex would take it for a binding.
  integer: { sqlType: 'integer', valid: `answer ~ '^-{0,1}[0-9]{1,9}$'`, cast: '::integer' },
  numeric: { sqlType: 'numeric', valid: `answer ~ '^-{0,1}[0-9]+([.][0-9]+){0,1}$'`, cast: '::numeric' },
  boolean: { sqlType: 'boolean', valid: `lower(answer) in ('true', 'false', 'yes', 'no')`, cast: `::boolean` },
};

/**
 * The features relation segment rules read: features.user_features with the trait
 * columns joined in. `relation` gives a model's SQL name (ref() in a model, the
 * plain name in a command).
 */
export function segmentFeatures(traits: Trait[], relation: (name: string) => string): string {
  const features = relation('features.user_features');
  const traitTable = relation('features.user_traits');
  if (traits.length === 0) return features;
  return `(select uf.*, ${traits.map((t) => `ut."${t.name}"`).join(', ')} from ${features} uf left join ${traitTable} ut on ut.user_key = uf.user_key)`;
}
