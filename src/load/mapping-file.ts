/**
 * A load mapping kept as a file next to the project, so loading a real source is
 * one reviewed, repeatable command:
 *
 *   into: raw.outcomes
 *   timezone: Europe/London
 *   map: { user_id: CustomerID, occurred_at: InvoiceDate }   # or created:unix_s, amount:cents
 *   set: { currency: GBP }
 *   ignore: [Notes]
 *   user_traits: { country: Country }   # outcome rows: the customer's country
 *   where: { status: succeeded }        # rows taken; where_not: rows left out
 *
 * Errors name the file, line and key, here and when the entries meet the file
 * being loaded (each entry carries its place as an origin).
 */
import { readFileSync } from 'node:fs';
import { issuesInYaml, parseYamlFile, yamlLocation } from '../errors/yaml-location.js';
import { z } from 'zod';
import { columnMappingSchema, MappingError, type ColumnMapping } from './column-mapping.ts';
import { DEPRECATED_FORMATS, LOAD_FORMATS, resolveLoadFormat, type LoadFormat } from './load-format.ts';

const mappingFileSchema = columnMappingSchema
  .extend({
    /** Raw table to load into; omit for a Segment/RudderStack export. */
    into: z.string().min(1).optional(),
    /** csv | ndjson | tracking-calls (a Segment/RudderStack export); `segment` is a deprecated name of tracking-calls. */
    format: z.enum([...LOAD_FORMATS, ...Object.keys(DEPRECATED_FORMATS)]).optional(),
    delimiter: z.string().length(1).optional(),
    /** Time zone of timestamps that carry none. */
    timezone: z.string().min(1).optional(),
  })
  .strict();

export type MappingFile = Omit<z.infer<typeof mappingFileSchema>, keyof ColumnMapping | 'format'> & { format?: LoadFormat; mapping: ColumnMapping };

/** Reads and checks a mapping file; `warn` hears of deprecated values (with file:line). */
export function readMappingFile(path: string, warn: (message: string) => void = () => {}): MappingFile {
  const text = readFileSync(path, 'utf8');
  const { doc, lineCounter, issues } = parseYamlFile(text, path);
  if (issues.length > 0) throw new MappingError(issues);
  const parsed = mappingFileSchema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) throw new MappingError(issuesInYaml(parsed.error.issues, { doc, lineCounter, file: path }), { heading: 'invalid mapping file' });
  const { map, set, ignore, user_traits, where, where_not, format, ...rest } = parsed.data;
  const formatNode = doc.get('format', true) as { range?: [number, number] } | undefined;
  const formatLine = formatNode?.range ? `:${lineCounter.linePos(formatNode.range[0]).line}` : '';
  return {
    ...rest,
    ...(format === undefined ? {} : { format: resolveLoadFormat(format, `${path}${formatLine}`, warn) }),
    mapping: { map, set, ignore, ...(user_traits ? { user_traits } : {}), ...(where ? { where } : {}), ...(where_not ? { where_not } : {}), origins: entryOrigins(parsed.data, doc, lineCounter, path) },
  };
}

type Parsed = ReturnType<typeof parseYamlFile>;

/** `map.user_id` -> `mappings/x.yml:4:12 map.user_id`, for problems found when the mapping meets a file. */
function entryOrigins(data: ColumnMapping, doc: Parsed['doc'], lineCounter: Parsed['lineCounter'], file: string): Record<string, string> {
  const origins: Record<string, string> = {};
  const place = (path: (string | number)[]) => {
    const { line, column } = yamlLocation(doc, lineCounter, path);
    return [file, line, column].filter((part) => part !== undefined).join(':');
  };
  for (const kind of ['map', 'set', 'where', 'where_not', 'user_traits'] as const) {
    for (const key of Object.keys(data[kind] ?? {})) origins[`${kind}.${key}`] = `${place([kind, key])} ${kind}.${key}`;
  }
  data.ignore.forEach((column, i) => (origins[`ignore.${column}`] = `${place(['ignore', i])} ignore[${i}]`));
  return origins;
}
