/**
 * Opens a file for loading as a byte stream: gunzips when the file starts with
 * the gzip magic bytes (whatever its name), counts compressed bytes read for
 * progress, and marks invalid UTF-8 (see utf8-guard.ts).
 */
import { createReadStream, existsSync, openSync, readSync, closeSync, statSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { PassThrough, type Readable } from 'node:stream';
import { Utf8Guard } from './utf8-guard.ts';
import { UserError } from '../errors/user-error.js';

export class SourceFileError extends UserError {}

export interface SourceFile {
  path: string;
  sizeBytes: number;
  gzip: boolean;
  /** Decoded bytes, UTF-8 guarded. */
  stream: Readable;
  /** Compressed bytes consumed so far (for progress against sizeBytes). */
  bytesRead(): number;
  guard: Utf8Guard;
}

function startsWithGzipMagic(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

export function openSourceFile(path: string): SourceFile {
  if (!existsSync(path)) throw new SourceFileError(`${path}: no such file`);
  const stat = statSync(path);
  if (!stat.isFile()) throw new SourceFileError(`${path}: not a regular file`);
  if (stat.size === 0) throw new SourceFileError(`${path}: the file is empty (0 bytes), nothing to load`);
  const gzip = startsWithGzipMagic(path);
  const file = createReadStream(path, { highWaterMark: 1 << 16 });
  let read = 0;
  file.on('data', (chunk: string | Buffer) => {
    read += chunk.length;
  });
  const guard = new Utf8Guard();
  const out = new PassThrough({ highWaterMark: 1 << 16 });
  const fail = (error: Error) => {
    const reason = gzip && /unexpected end|incorrect header|invalid/i.test(error.message)
      ? `gzip data is truncated or corrupt (${error.message})`
      : error.message;
    out.destroy(new SourceFileError(`${path}: ${reason}`));
  };
  const decoded = gzip ? file.pipe(createGunzip()) : file;
  file.on('error', fail);
  decoded.on('error', fail);
  guard.on('error', fail);
  decoded.pipe(guard).pipe(out);
  return { path, sizeBytes: stat.size, gzip, stream: out, bytesRead: () => read, guard };
}
