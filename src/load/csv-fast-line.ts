/**
 * The CSV reader's fast path: one physical line split into fields without
 * PapaParse. Almost every line of a real export is a plain row (fields
 * unquoted, or quoted and closed on the same line), and reading those here
 * instead of through Papa removed about a third of the loader's CPU time.
 *
 * It only reads lines whose meaning is certain; on anything else (an
 * unquoted field holding a quote, a quote not followed by the delimiter or
 * the line's end, a quoted field still open at the end of the line) it
 * returns undefined and the line goes to PapaParse, which decides as before.
 * test/unit/csv-fast-line.test.ts checks the two agree on random lines.
 */

const QUOTE = 34;

export interface FastLine {
  fields: string[];
  /**
   * The line, read by PostgreSQL's COPY in CSV format, gives exactly these
   * fields, an empty one as NULL: no quoted empty field (COPY reads that as
   * '' where the loader reads NULL) and no carriage return (COPY reads that
   * as a line end). The loader then sends the line itself.
   */
  verbatim: boolean;
}

/** `delimiter` must be one character other than a quote, CR or LF. */
export function readFastLine(line: string, delimiter: string): FastLine | undefined {
  if (line.indexOf('"') === -1) {
    return { fields: line.split(delimiter), verbatim: line.indexOf('\r') === -1 };
  }
  const d = delimiter.charCodeAt(0);
  const n = line.length;
  const fields: string[] = [];
  let verbatim = line.indexOf('\r') === -1;
  let i = 0;
  // The next quote at or after i, found once rather than per field.
  let quote = line.indexOf('"');
  for (;;) {
    if (line.charCodeAt(i) === QUOTE) {
      let from = i + 1;
      let doubled = false;
      let close: number;
      for (;;) {
        close = line.indexOf('"', from);
        if (close === -1) return undefined; // open at the end of the line: Papa decides
        if (line.charCodeAt(close + 1) !== QUOTE) break;
        doubled = true;
        from = close + 2;
      }
      const after = close + 1;
      if (after !== n && line.charCodeAt(after) !== d) return undefined;
      const value = line.slice(i + 1, close);
      if (value === '') verbatim = false;
      fields.push(doubled ? value.replaceAll('""', '"') : value);
      if (after === n) return { fields, verbatim };
      i = after + 1;
      quote = line.indexOf('"', i);
    } else {
      const next = line.indexOf(delimiter, i);
      const end = next === -1 ? n : next;
      if (quote !== -1 && quote < end) return undefined; // a quote inside an unquoted field
      fields.push(line.slice(i, end));
      if (next === -1) return { fields, verbatim };
      i = next + 1;
    }
  }
}
