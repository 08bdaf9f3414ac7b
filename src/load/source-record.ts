/** What a source reader yields: one data row of a file, before it meets a table contract. */
export interface SourceRecord {
  /** 1-based data row number in the file (a CSV header is not a row). */
  rowNumber: number;
  /** 1-based physical line, where the format makes it known. */
  lineNumber?: number;
  /** CSV: the fields of the row. */
  fields?: string[];
  /** NDJSON: the parsed object. */
  object?: Record<string, unknown>;
  /** The row as it appeared in the file, for quarantine (built lazily: only bad rows need it). */
  raw(): string;
  /** Set when the row cannot even be read (bad JSON, wrong field count, invalid UTF-8). */
  problem?: { reason: string; field?: string };
}

export class RowRejection extends Error {
  override name = 'RowRejection';
  constructor(
    readonly reason: string,
    readonly field?: string,
  ) {
    super(field ? `${field}: ${reason}` : reason);
  }
}
