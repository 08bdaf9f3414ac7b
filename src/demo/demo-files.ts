/**
 * Output side of the demo generator: gzip files written with backpressure,
 * RFC 4180 CSV lines, and a JSON writer for the truth file.
 *
 * Lines are buffered as text and handed to gzip in large chunks (one write per
 * ~256 KiB rather than per row keeps the per-write overhead off the hot path);
 * the generator awaits `drain` between users, so memory stays bounded however
 * many rows are written. A line can also be raw bytes: the generator plants
 * invalid UTF-8 on purpose, which no JavaScript string can hold.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGzip, type Gzip, type ZlibOptions } from 'node:zlib';

const NEEDS_QUOTES = /[",\r\n]/;

/** One CSV field per RFC 4180: quoted only when it holds a comma, quote, CR or LF, with quotes doubled. */
export function csvField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** A CSV line (LF-terminated) from already-text fields. */
export function csvLine(fields: readonly string[]): string {
  let line = csvField(fields[0] ?? '');
  for (let i = 1; i < fields.length; i++) line += `,${csvField(fields[i]!)}`;
  return `${line}\n`;
}

/** Pending text is handed to gzip once it reaches this many UTF-16 units. */
const CHUNK_CHARS = 256 * 1024;

export interface GzipLineWriterOptions {
  /**
   * zlib level 1–9 (default 4): on demo events level 6 compresses only ~7%
   * smaller but takes about twice as long, and compression, not generation,
   * then bounds the run.
   */
  level?: number;
}

/** Appends lines to one gzip file. Call `ready()` regularly (it applies backpressure) and `close()` at the end. */
export class GzipLineWriter {
  /** Data lines written (the header is not counted). */
  rows = 0;
  private pending = '';
  private readonly gzip: Gzip;
  private readonly done: Promise<void>;

  constructor(
    readonly path: string,
    options: GzipLineWriterOptions = {},
  ) {
    // A large writable buffer lets generation run ahead while zlib compresses
    // on the thread pool; ready() still stops it at this bound.
    // (zlib passes stream options such as writableHighWaterMark on to its Transform.)
    const zlibOptions: ZlibOptions & { writableHighWaterMark: number } = {
      level: options.level ?? 4,
      chunkSize: 64 * 1024,
      writableHighWaterMark: 1 << 20,
    };
    this.gzip = createGzip(zlibOptions);
    this.done = pipeline(this.gzip, createWriteStream(path));
    this.done.catch(() => {}); // surfaced by ready() / close(); this only avoids an unhandled rejection
  }

  /** The header line (not counted as a row). */
  header(columns: readonly string[]): void {
    this.pending += csvLine(columns);
  }

  /** One data line, text already terminated by \n. */
  line(text: string): void {
    this.rows++;
    this.pending += text;
  }

  /** One data line given as raw bytes (already terminated by \n), e.g. deliberately invalid UTF-8. */
  bytes(line: Buffer): void {
    this.rows++;
    this.push();
    this.gzip.write(line);
  }

  /** Hands full chunks to gzip; resolves once gzip can take more. Returns undefined when no wait is needed. */
  ready(): Promise<void> | undefined {
    if (this.pending.length >= CHUNK_CHARS) this.push();
    if (this.gzip.writableNeedDrain) return once(this.gzip, 'drain').then(() => undefined);
    return undefined;
  }

  /** Flushes everything and waits until the file is completely written. */
  async close(): Promise<void> {
    this.push();
    this.gzip.end();
    await this.done;
  }

  /** Abandons the file (after an error elsewhere). */
  destroy(): void {
    this.gzip.destroy();
  }

  private push(): void {
    if (this.pending.length === 0) return;
    this.gzip.write(this.pending);
    this.pending = '';
  }
}

/**
 * Writes a JSON value as indented text, but keeps arrays of scalars on lines of
 * up to ~100 characters: the truth file holds lists of up to a million ids, one
 * per line would be unreadable. Output is written in chunks, never as one string.
 */
export async function writeJsonFile(path: string, value: unknown): Promise<void> {
  const file = await open(path, 'w');
  try {
    let buffer = '';
    const write = async (text: string) => {
      buffer += text;
      if (buffer.length >= CHUNK_CHARS) {
        await file.write(buffer);
        buffer = '';
      }
    };
    const visit = async (node: unknown, indent: string): Promise<void> => {
      const inner = `${indent}  `;
      if (Array.isArray(node)) {
        if (node.length === 0) return write('[]');
        if (node.every((item) => item === null || typeof item !== 'object')) {
          const items = node.map((item, i) => JSON.stringify(item) + (i < node.length - 1 ? ',' : ''));
          const flat = items.join(' ');
          if (flat.length <= 80) return write(`[${flat}]`);
          await write('[');
          let line = '';
          for (const item of items) {
            if (line.length > 0 && line.length + item.length >= 100) {
              await write(`\n${inner}${line}`);
              line = '';
            }
            line += line ? ` ${item}` : item;
          }
          return write(`\n${inner}${line}\n${indent}]`);
        }
        await write('[');
        for (let i = 0; i < node.length; i++) {
          await write(`\n${inner}`);
          await visit(node[i], inner);
          if (i < node.length - 1) await write(',');
        }
        return write(`\n${indent}]`);
      }
      if (node !== null && typeof node === 'object') {
        const entries = Object.entries(node).filter(([, v]) => v !== undefined);
        if (entries.length === 0) return write('{}');
        await write('{');
        for (let i = 0; i < entries.length; i++) {
          const [key, v] = entries[i]!;
          await write(`\n${inner}${JSON.stringify(key)}: `);
          await visit(v, inner);
          if (i < entries.length - 1) await write(',');
        }
        return write(`\n${indent}}`);
      }
      return write(JSON.stringify(node) ?? 'null');
    };
    await visit(value, '');
    await file.write(`${buffer}\n`);
  } finally {
    await file.close();
  }
}
