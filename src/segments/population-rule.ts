/**
 * The population of an RFM or cluster definition (`population: events > 0`): a rule
 * over features only, so it can sit in any query over the features row `f`.
 */
import { emptyEventParts } from './event-predicates.ts';
import { compileRule, type CompiledRule, type FeatureCatalog } from './rule-compiler.ts';
import { RuleSyntaxError } from './rule-parser.ts';

export const hasEventPredicates = (compiled: CompiledRule) =>
  compiled.eventParts.events.length + compiled.eventParts.outcomes.length + compiled.eventParts.sequences.length > 0;

export function populationRule(source: string | undefined, catalog: FeatureCatalog): CompiledRule {
  if (!source) return { sql: 'true', bindings: [], features: [], eventParts: emptyEventParts() };
  const compiled = compileRule(source, catalog, 'f');
  if (hasEventPredicates(compiled)) throw new RuleSyntaxError('event predicates are for rule segments; a population uses features', 0);
  return compiled;
}
