/**
 * Writers that feed PostgreSQL's COPY in text format.
 *
 * One connection runs one COPY at a time, so a batch streams its main table
 * straight into COPY while rows for other tables (quarantine, identities from
 * identify calls) are spooled to temporary files and copied at the end of the
 * same transaction. Either way memory holds one buffer per table.
 */
import { createReadStream, createWriteStream, mkdtempSync, readdirSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

const FLUSH_AT = 256 * 1024;
const SPECIAL = /[\\\t\n\r]/;

/** One value in COPY text format. */
export function copyText(value: string | null): string {
  if (value === null) return '\\N';
  if (!SPECIAL.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/** One COPY line; `tail` ends it (lineage columns are appended that way). */
export function copyLine(values: (string | null)[], tail = '\n'): string {
  let line = copyText(values[0] ?? null);
  for (let i = 1; i < values.length; i++) line += '\t' + copyText(values[i] ?? null);
  return line + tail;
}

/** COPY's text format, or its CSV format with this delimiter (copy-csv.ts). */
export interface CopyFormat {
  csvDelimiter?: string;
}

const copySql = (client: pg.Client, table: string, columns: string[], format: CopyFormat = {}) => {
  const [schema, name] = table.split('.');
  const csv = format.csvDelimiter === undefined ? '' : ` with (format csv, delimiter ${client.escapeLiteral(format.csvDelimiter)})`;
  return `copy ${client.escapeIdentifier(schema!)}.${client.escapeIdentifier(name!)} (${columns
    .map((c) => client.escapeIdentifier(c))
    .join(', ')}) from stdin${csv}`;
};

/**
 * Encodes lines straight into a byte buffer and writes it in large chunks,
 * honouring backpressure. Concatenating lines into one string and encoding
 * that cost more than the encoding itself (flattening a rope of thousands of
 * pieces).
 */
class LineBuffer {
  private buffer = Buffer.allocUnsafe(FLUSH_AT);
  private size = 0;
  lines = 0;
  constructor(protected readonly out: Writable) {}

  /** Returns a promise only when the destination asks us to wait. */
  push(line: string): Promise<void> | undefined {
    this.lines++;
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (this.size + line.length * 3 > this.buffer.length) {
      const wait = this.flush();
      if (line.length * 3 > this.buffer.length) this.buffer = Buffer.allocUnsafe(line.length * 3);
      this.size = this.buffer.write(line, 0, 'utf8');
      return wait;
    }
    this.size += this.buffer.write(line, this.size, 'utf8');
    return undefined;
  }

  flush(): Promise<void> | undefined {
    if (this.size === 0) return undefined;
    // The stream keeps the bytes it was given: hand it this buffer, fill a new one.
    const ok = this.out.write(this.buffer.subarray(0, this.size));
    this.buffer = Buffer.allocUnsafe(FLUSH_AT);
    this.size = 0;
    return ok ? undefined : (once(this.out, 'drain') as Promise<unknown> as Promise<void>);
  }
}

export interface TableWriter {
  table: string;
  /** Rows pushed so far. */
  readonly lines: number;
  push(line: string): Promise<void> | undefined;
  /** Completes the COPY (spooled writers copy now); returns PostgreSQL's row count. */
  finish(client: pg.Client): Promise<number>;
  /** Abandons an unfinished COPY (sends CopyFail) so the connection can roll back. */
  abort(): Promise<void>;
  /** Releases temp files after success or failure. */
  dispose(): void;
}

/** Streams straight into a COPY running on `client`. */
export function directCopyWriter(client: pg.Client, table: string, columns: string[], format: CopyFormat = {}): TableWriter {
  const stream = client.query(copyFrom(copySql(client, table, columns, format)));
  // on, not once: a dying connection can report more than one error.
  const failed = new Promise<never>((_, reject) => stream.on('error', reject));
  failed.catch(() => {});
  const buffer = new LineBuffer(stream);
  return {
    table,
    get lines() {
      return buffer.lines;
    },
    push: (line) => {
      const wait = buffer.push(line);
      return wait && Promise.race([wait, failed]);
    },
    async finish() {
      await Promise.race([buffer.flush(), failed]);
      stream.end();
      await Promise.race([once(stream, 'finish'), failed]);
      return Number(stream.rowCount);
    },
    async abort() {
      if (stream.writableFinished || stream.destroyed) return;
      const closed = once(stream, 'close').catch(() => {});
      stream.destroy(new Error('load aborted'));
      await closed;
    },
    dispose() {},
  };
}

const SPOOL_PREFIX = 'seglayer-spool-';
const swept = new Set<string>();

/**
 * Removes spool folders of loads whose process is gone (killed with SIGKILL,
 * where no cleanup runs). Folder names carry the owner's pid; a live pid, or
 * one that cannot be checked, keeps its folder.
 */
function sweepOrphanSpools(parent: string): void {
  if (swept.has(parent)) return;
  swept.add(parent);
  let names: string[] = [];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/^seglayer-spool-(\d+)-/.exec(name)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') rmSync(join(parent, name), { recursive: true, force: true });
    }
  }
}

/** Spools to a temporary file; COPYs it when finished. */
export function spoolingCopyWriter(table: string, columns: string[]): TableWriter {
  sweepOrphanSpools(tmpdir());
  const dir = mkdtempSync(join(tmpdir(), `${SPOOL_PREFIX}${process.pid}-`));
  const path = join(dir, 'rows.copy');
  const file: WriteStream = createWriteStream(path);
  const buffer = new LineBuffer(file);
  return {
    table,
    get lines() {
      return buffer.lines;
    },
    push: (line) => buffer.push(line),
    async finish(client) {
      await buffer.flush();
      file.end();
      await once(file, 'close');
      if (buffer.lines === 0) return 0;
      const copy = client.query(copyFrom(copySql(client, table, columns)));
      await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), copy);
      return Number(copy.rowCount);
    },
    async abort() {},
    dispose() {
      file.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
