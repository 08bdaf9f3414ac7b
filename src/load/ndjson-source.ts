/**
 * Reads newline-delimited JSON into batches of SourceRecords, one object per
 * line and one batch per decoded chunk, so memory holds one chunk and at most
 * one partial line. A line that is not a JSON object is yielded with a problem.
 */
import type { SourceFile } from './source-file.ts';
import { SourceRecord } from './source-record.ts';
import { INVALID_UTF8_MARK } from './utf8-guard.ts';

export async function* readNdjson(file: SourceFile): AsyncGenerator<SourceRecord[]> {
  let carry = '';
  let lineNumber = 0;
  let rowNumber = 0;

  function toRecord(line: string): SourceRecord | undefined {
    lineNumber++;
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (text.trim() === '') return undefined;
    const record = new SourceRecord(++rowNumber, [text], lineNumber);
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

  file.stream.setEncoding('utf8');
  for await (const chunk of file.stream as AsyncIterable<string>) {
    const lines = (carry + chunk).split('\n');
    carry = lines.pop() ?? '';
    const batch: SourceRecord[] = [];
    for (const line of lines) {
      const record = toRecord(line);
      if (record) batch.push(record);
    }
    if (batch.length) yield batch;
  }
  const last = carry ? toRecord(carry) : undefined;
  if (last) yield [last];
}
