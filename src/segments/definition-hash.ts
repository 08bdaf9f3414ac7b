/**
 * A definition's content hash: what the definition computes (kind, rule, RFM or cluster
 * settings, band names and rules), not how it is documented (title, description, owner,
 * hypothesis, band titles and descriptions). segments.definition_versions records it per
 * version, so a definition that computes something new under an old version is refused
 * instead of recording hundreds of spurious membership changes.
 */
import { createHash } from 'node:crypto';
import type { SegmentDefinition } from './segment-definition.ts';

/** Top-level keys that document a definition or identify it, rather than say what it computes. */
// refresh says when membership is recomputed, not what it is: changing it keeps the version.
const NOT_CONTENT = new Set(['name', 'version', 'file', 'title', 'description', 'owner', 'hypothesis', 'family', 'refresh']);
/** Keys inside (bands) that only document. */
const DOCUMENTATION = new Set(['title', 'description']);

/** Keys sorted, documentation dropped, strings with runs of whitespace as one space. */
function canonical(value: unknown, drop: ReadonlySet<string>): unknown {
  if (Array.isArray(value)) return value.map((v) => canonical(v, DOCUMENTATION));
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([k, v]) => v !== undefined && !drop.has(k))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([k, v]) => [k, canonical(v, DOCUMENTATION)]));
  }
  return typeof value === 'string' ? value.trim().replace(/\s+/g, ' ') : value;
}

/** Keys inside a cluster's settings that say when it is refitted, not what it computes. */
const CLUSTER_SCHEDULE = new Set(['refit_after']);

export function definitionHash(definition: SegmentDefinition): string {
  const content = definition.kind === 'cluster' ? { ...definition, cluster: Object.fromEntries(Object.entries(definition.cluster).filter(([k]) => !CLUSTER_SCHEDULE.has(k))) } : definition;
  return createHash('sha256').update(JSON.stringify(canonical(content, NOT_CONTENT))).digest('hex').slice(0, 16);
}
