/**
 * Splits a decoded source file into physical lines and counts them, so a load
 * can balance its report against the file itself rather than against what a
 * parser chose to return: every line is a header, a blank line, or part of
 * exactly one loaded or quarantined row.
 *
 * A UTF-8 byte order mark at the very start of the file is dropped (editors
 * and Excel write one); anywhere else it is data, and a row holding one is
 * judged like any other. A line's `\r` before `\n` is dropped too.
 */
import type { SourceFile } from './source-file.ts';

export interface SourceLine {
  /** The line without its line ending. */
  text: string;
  /** 1-based physical line number. */
  lineNumber: number;
}

/** How a source accounted for the file's lines. */
export interface LineTally {
  /** Physical lines read: newlines, plus a last line without one. */
  lines: number;
  /** Lines with nothing but spaces or tabs, skipped and counted. */
  blankLines: number;
  /** Lines that made the header (CSV). */
  headerLines: number;
}

const BLANK = /^[ \t]*$/;
export const isBlank = (text: string): boolean => BLANK.test(text);

/** Lines of `file`, one array per decoded chunk; `tally.lines` counts them as they pass. */
export async function* readLines(file: SourceFile, tally: LineTally): AsyncGenerator<SourceLine[]> {
  let carry = '';
  let first = true;
  const line = (raw: string): SourceLine => {
    let text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (first) {
      first = false;
      if (text.startsWith('\uFEFF')) text = text.slice(1);
    }
    return { text, lineNumber: ++tally.lines };
  };
  file.stream.setEncoding('utf8');
  for await (const chunk of file.stream as AsyncIterable<string>) {
    const parts = (carry + chunk).split('\n');
    carry = parts.pop() ?? '';
    if (parts.length) yield parts.map(line);
  }
  if (carry !== '') yield [line(carry)];
}
