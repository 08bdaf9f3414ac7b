/**
 * Reads newline-delimited JSON into batches of SourceRecords, one object per
 * line and one batch per decoded chunk, so memory holds one chunk and at most
 * one partial line. A line that is not a JSON object is yielded with a problem;
 * a line of only spaces or tabs is counted in `tally.blankLines`. Nothing else
 * is skipped: a line holding only a byte order mark (or any other invisible
 * character that String.trim() would drop) is quarantined as not JSON.
 */
import { isBlank, readLines, type LineTally } from './line-reader.ts';
import type { SourceFile } from './source-file.ts';
import { SourceRecord } from './source-record.ts';
import { INVALID_UTF8_MARK } from './utf8-guard.ts';

export async function* readNdjson(file: SourceFile, tally: LineTally): AsyncGenerator<SourceRecord[]> {
  let rowNumber = 0;

  function toRecord(text: string, lineNumber: number): SourceRecord {
    const record = new SourceRecord(++rowNumber, [text], lineNumber, text);
    if (text.includes(INVALID_UTF8_MARK)) {
      record.problem = { reason: 'invalid UTF-8 byte sequence' };
      return record;
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        record.problem = { reason: 'line is JSON but not an object' };
      } else {
        record.object = parsed as Record<string, unknown>;
      }
    } catch (error) {
      record.problem = { reason: `not valid JSON (${(error as Error).message.replace(/ in JSON at.*$|, ".*$/, '')})` };
    }
    return record;
  }

  for await (const lines of readLines(file, tally)) {
    const batch: SourceRecord[] = [];
    for (const { text, lineNumber } of lines) {
      if (isBlank(text)) tally.blankLines++;
      else batch.push(toRecord(text, lineNumber));
    }
    if (batch.length) yield batch;
  }
}
