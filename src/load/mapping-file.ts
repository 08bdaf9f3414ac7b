/**
 * A load mapping kept as a file next to the project, so loading a real source is
 * one reviewed, repeatable command:
 *
 *   into: raw.outcomes
 *   timezone: Europe/London
 *   map: { user_id: CustomerID, occurred_at: InvoiceDate }
 *   set: { currency: GBP }
 *   ignore: [Notes]
 *
 * Errors name the file, line and field.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { firstAlias } from '../yaml/alias-guard.js';
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
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter });
  if (document.errors.length) {
    const first = document.errors[0]!;
    throw new MappingError(`${path}:${first.linePos?.[0]?.line ?? '?'}: not valid YAML: ${first.message.split('\n')[0]}`);
  }
  const alias = firstAlias(document, text);
  if (alias) throw new MappingError(`${path}:${alias.line}: ${alias.message}`);
  const parsed = mappingFileSchema.safeParse(document.toJS() ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const keys = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
      const node = document.getIn(keys as (string | number)[], true) as { range?: [number, number] } | undefined;
      const line = node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
      return `${path}${line ? `:${line}` : ''}: ${keys.join('.') || '(top level)'}: ${issue.message}`;
    });
    throw new MappingError(lines.join('\n'));
  }
  const { map, set, ignore, format, ...rest } = parsed.data;
  const formatNode = document.get('format', true) as { range?: [number, number] } | undefined;
  const formatLine = formatNode?.range ? `:${lineCounter.linePos(formatNode.range[0]).line}` : '';
  return {
    ...rest,
    ...(format === undefined ? {} : { format: resolveLoadFormat(format, `${path}${formatLine}`, warn) }),
    mapping: { map, set, ignore },
  };
}
