/**
 * Rows for PostgreSQL's COPY in CSV format, which the loader uses for CSV
 * files whose columns are the table's own (column-mapping.ts verbatimColumns).
 * A row the CSV reader marked verbatim goes as the file's own text with the
 * lineage fields appended: nothing is re-encoded, and COPY reads it as the
 * same values the loader checked. Any other row is written from its checked
 * values: NULL as an empty field, every other value quoted.
 */
import type { SourceRecord } from './source-record.ts';

export interface CsvCopyFormat {
  /** Table columns in the file's order (lineage columns follow). */
  columns: string[];
  /** The file's delimiter, one ASCII character other than a quote, CR, LF or backslash. */
  delimiter: string;
}

/** The CSV COPY format for a file, or undefined when its delimiter cannot be COPY's. */
export function csvCopyFormat(columns: string[] | undefined, delimiter: string): CsvCopyFormat | undefined {
  if (!columns || delimiter.length !== 1 || delimiter.charCodeAt(0) > 127 || '"\r\n\\'.includes(delimiter)) return undefined;
  return { columns, delimiter };
}

/** One value in COPY's CSV format. */
export function csvValue(value: string | null): string {
  if (value === null) return '';
  return `"${value.includes('"') ? value.replaceAll('"', '""') : value}"`;
}

/**
 * Encodes a row of one batch: `values` are the contract's columns (row-builder.ts),
 * `contractColumns` their names.
 */
export function csvRowEncoder(format: CsvCopyFormat, contractColumns: string[], batchId: number): (record: SourceRecord, values: (string | null)[]) => string {
  const d = format.delimiter;
  const order = format.columns.map((column) => contractColumns.indexOf(column));
  const lineage = `${d}${batchId}${d}`;
  return (record, values) => {
    if (record.verbatim && record.text !== undefined) return `${record.text}${lineage}${record.rowNumber}\n`;
    let line = csvValue(values[order[0]!] ?? null);
    for (let i = 1; i < order.length; i++) line += d + csvValue(values[order[i]!] ?? null);
    return `${line}${lineage}${record.rowNumber}\n`;
  };
}
