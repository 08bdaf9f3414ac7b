/**
 * The formats `seglayer load` reads, and the names it still accepts for them.
 *
 * `tracking-calls` is a Segment or RudderStack export (track / page / screen /
 * identify / alias calls). It was called `segment` until "segment" came to mean
 * user segments; the old name is accepted with a warning so committed mapping
 * files and scripts keep working.
 */
import { UserError } from '../errors/user-error.js';
export const LOAD_FORMATS = ['csv', 'ndjson', 'tracking-calls'] as const;
export type LoadFormat = (typeof LOAD_FORMATS)[number];

/** Old name -> current name; each use is reported as deprecated. */
export const DEPRECATED_FORMATS: Readonly<Record<string, LoadFormat>> = { segment: 'tracking-calls' };

export class LoadFormatError extends UserError {}

/**
 * The format a user named (`--format`, a mapping file's `format:`). `where` says
 * where the value came from, for the error and the deprecation warning.
 */
export function resolveLoadFormat(value: string, where: string, warn: (message: string) => void): LoadFormat {
  if ((LOAD_FORMATS as readonly string[]).includes(value)) return value as LoadFormat;
  const renamed = DEPRECATED_FORMATS[value];
  if (renamed) {
    warn(`${where}: format "${value}" is deprecated, use "${renamed}" (a Segment/RudderStack export of tracking calls)`);
    return renamed;
  }
  throw new LoadFormatError(`${where}: unknown format "${value}"; expected ${LOAD_FORMATS.join(' | ')}`);
}
