/** What a source reader yields: one data row of a file, before it meets a table contract. */
export class SourceRecord {
  /** Set when the row cannot even be read (bad JSON, wrong field count, invalid UTF-8). */
  problem?: { reason: string; field?: string };
  /** CSV: the row's text, read by COPY in CSV format, gives exactly its fields (csv-fast-line.ts). */
  verbatim?: boolean;
  /** NDJSON: the parsed object. */
  object?: Record<string, unknown>;

  constructor(
    /** 1-based data row number in the file (a CSV header is not a row). */
    readonly rowNumber: number,
    /** CSV: the fields of the row. NDJSON: the line's text, as one field. */
    readonly fields: string[],
    /** 1-based physical line where the row starts, where the format makes it known. */
    readonly lineNumber?: number,
    /** The row's text as it appeared in the file (its lines joined by \n), when the reader kept it. */
    readonly text?: string,
    /** Physical lines the row spans (a quoted CSV field can hold line breaks). */
    readonly lineCount = 1,
  ) {}

  /** The row as it appeared in the file, for quarantine. */
  raw(): string {
    if (this.text !== undefined) return this.text;
    if (this.object !== undefined || this.lineNumber !== undefined) return this.fields[0]!;
    return this.fields.map((f) => (/[",\n\r]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f)).join(',');
  }
}

export class RowRejection extends Error {
  override name = 'RowRejection';
  constructor(
    /** What is wrong, the same for every row with this problem (reports group on it). */
    readonly reason: string,
    readonly field?: string,
    /** The refused value, quoted and cut short, when there was one. */
    readonly quoted?: string,
  ) {
    super(`${field ? `${field}: ` : ''}${reason}${quoted ? `, got ${quoted}` : ''}`);
  }

  /** The reason as stored with the quarantined row: what is wrong and the value refused. */
  get stored(): string {
    return this.quoted ? `${this.reason}, got ${this.quoted}` : this.reason;
  }
}
