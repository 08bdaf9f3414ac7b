/**
 * Reads newline-delimited JSON into SourceRecords, one object per line. Lines
 * are split on bytes, so memory holds one chunk and at most one partial line.
 * A line that is not a JSON object is yielded with a problem, not thrown.
 */
import type { SourceFile } from './source-file.ts';
import type { SourceRecord } from './source-record.ts';
import { INVALID_UTF8_MARK } from './utf8-guard.ts';

export async function* readNdjson(file: SourceFile): AsyncGenerator<SourceRecord> {
  let carry = '';
  let lineNumber = 0;
  let rowNumber = 0;
  const decoder = new TextDecoder('utf-8');

  function toRecord(line: string): SourceRecord | undefined {
    lineNumber++;
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (text.trim() === '') return undefined;
    rowNumber++;
    const record: SourceRecord = { rowNumber, lineNumber, raw: () => text };
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

  for await (const chunk of file.stream as AsyncIterable<Buffer>) {
    const text = carry + decoder.decode(chunk, { stream: true });
    const lines = text.split('\n');
    carry = lines.pop() ?? '';
    for (const line of lines) {
      const record = toRecord(line);
      if (record) yield record;
    }
  }
  carry += decoder.decode();
  if (carry) {
    const record = toRecord(carry);
    if (record) yield record;
  }
}
