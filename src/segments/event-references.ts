/**
 * The events and properties segment rules name, and their check against the event
 * catalog the warehouse built (core.event_catalog, core.event_properties): an unknown
 * event, an unknown property, or a property read as a type it never arrived as is a
 * problem at the rule's file:line:column, with the nearest known name suggested.
 * Loading a project cannot do this (it has no warehouse); `segments validate` and
 * `segments preview` do, and segments.rule_event_references lists every name with `known`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Knex } from 'knex';
import type { Issue } from '../errors/user-error.js';
import { parseYamlFile, yamlScalarPosition } from '../errors/yaml-location.js';
import { compileRule, suggest, type FeatureCatalog } from './rule-compiler.ts';
import type { SegmentDefinition } from './segment-definition.ts';

export interface RuleEventReference {
  definition: string;
  file: string;
  event: string;
  property: string | null;
  /** The JSON type the rule reads the property as (string, number, boolean), or null for any. */
  readAs: string | null;
  /** Character offset in the rule. */
  at: number;
}

const JSON_TYPES = { text: 'string', number: 'number', boolean: 'boolean', any: null } as const;

/** Every (definition, event, property, type) a rule segment reads, once each. */
export function ruleEventReferences(definitions: SegmentDefinition[], catalog: FeatureCatalog): RuleEventReference[] {
  const seen = new Map<string, RuleEventReference>();
  for (const d of definitions) {
    if (d.kind !== 'rule') continue;
    for (const r of compileRule(d.rule, catalog).eventParts.references) {
      const reference = { definition: d.name, file: d.file, event: r.event, property: r.property ?? null, readAs: r.type ? JSON_TYPES[r.type] : null, at: r.at };
      const key = JSON.stringify([d.name, r.event, reference.property, reference.readAs]);
      if (!seen.has(key)) seen.set(key, reference);
    }
  }
  return [...seen.values()];
}

/** Whether the warehouse has an event catalog to check against. */
export async function eventCatalogBuilt(knex: Knex): Promise<boolean> {
  const { rows } = await knex.raw(`select to_regclass('core.event_catalog') is not null and to_regclass('core.event_properties') is not null as ok`);
  return rows[0].ok === true;
}

/** Problems of the rules' event references against the built catalog, each at its place in its file. */
export async function checkEventReferences(knex: Knex, definitions: SegmentDefinition[], catalog: FeatureCatalog, projectRoot: string): Promise<Issue[]> {
  const references = ruleEventReferences(definitions, catalog);
  if (references.length === 0) return [];
  const events = new Set(((await knex.raw(`select event from core.event_catalog`)).rows as { event: string }[]).map((r) => r.event));
  const properties = (await knex.raw(`select event, property, json_type from core.event_properties`)).rows as { event: string; property: string; json_type: string }[];
  const issues: Issue[] = [];
  for (const r of references) {
    let message: string | undefined;
    if (!events.has(r.event)) {
      message = `unknown event '${r.event}' (not in core.event_catalog)${suggest(r.event, events)}`;
    } else if (r.property !== null) {
      const ofEvent = properties.filter((p) => p.event === r.event);
      const names = new Set(ofEvent.map((p) => p.property));
      const types = ofEvent.filter((p) => p.property === r.property).map((p) => p.json_type);
      if (!names.has(r.property)) message = `event '${r.event}' has no property "${r.property}"${suggest(r.property, names) || (names.size ? `; it has ${[...names].sort().slice(0, 8).join(', ')}` : '; it has no properties')}`;
      else if (r.readAs !== null && !types.includes(r.readAs)) message = `property "${r.property}" of '${r.event}' is read as ${r.readAs} but was only seen as ${types.sort().join(', ')}`;
    }
    if (message) issues.push({ code: 'unknown_event_reference', path: ['segments', r.definition, 'rule'], message: `${message} (segment "${r.definition}")`, ...positionOf(projectRoot, r) });
  }
  return issues;
}

/** file, line and column of a reference in its segments file. */
function positionOf(projectRoot: string, r: RuleEventReference): { file: string; line?: number; column?: number } {
  try {
    const { doc, lineCounter } = parseYamlFile(readFileSync(join(projectRoot, r.file), 'utf8'), r.file);
    const segments = (doc.toJS() as { segments?: { name?: string }[] }).segments ?? [];
    const index = segments.findIndex((s) => s?.name === r.definition);
    return { file: r.file, ...(index >= 0 ? yamlScalarPosition(doc, lineCounter, ['segments', index, 'rule'], r.at) : {}) };
  } catch {
    return { file: r.file };
  }
}
