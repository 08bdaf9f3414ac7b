/**
 * A byte stream filter that makes invalid UTF-8 visible after decoding.
 *
 * Decoders silently turn bad bytes into U+FFFD, which is also a legitimate
 * character, so a row with bad bytes could not be told apart from one with a
 * real U+FFFD. This guard replaces each invalid sequence with the noncharacter
 * U+FFFF instead (never meant for interchange), which the loader quarantines as
 * invalid UTF-8. Valid chunks (nearly all) pass through after one native check.
 */
import { isUtf8 } from 'node:buffer';
import { Transform, type TransformCallback } from 'node:stream';

export const INVALID_UTF8_MARK = '\uFFFF';
const MARK_BYTES = Buffer.from(INVALID_UTF8_MARK, 'utf8');

/** Length of the UTF-8 sequence a lead byte starts, or 0 if it cannot lead one. */
function sequenceLength(byte: number): number {
  if (byte < 0x80) return 1;
  if (byte >= 0xc2 && byte <= 0xdf) return 2;
  if (byte >= 0xe0 && byte <= 0xef) return 3;
  if (byte >= 0xf0 && byte <= 0xf4) return 4;
  return 0;
}

/** Bytes at the end of `chunk` that start a sequence the next chunk completes. */
function incompleteTail(chunk: Buffer): number {
  for (let back = 1; back <= Math.min(3, chunk.length); back++) {
    const byte = chunk[chunk.length - back]!;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte: keep looking for its lead
    const length = sequenceLength(byte);
    return length > back ? back : 0;
  }
  return 0;
}

/** Copy `chunk`, replacing every invalid sequence with the mark. */
function markInvalid(chunk: Buffer): { marked: Buffer; count: number } {
  const parts: Buffer[] = [];
  let count = 0;
  let start = 0;
  let i = 0;
  while (i < chunk.length) {
    if (chunk[i]! < 0x80) {
      i++; // ASCII: valid on its own; checking it through isUtf8 made a chunk with one bad byte ~10x slower
      continue;
    }
    const length = sequenceLength(chunk[i]!);
    const candidate = length > 0 ? chunk.subarray(i, i + length) : undefined;
    if (candidate && candidate.length === length && isUtf8(candidate)) {
      i += length;
      continue;
    }
    parts.push(chunk.subarray(start, i), MARK_BYTES);
    count++;
    i += 1;
    while (i < chunk.length && (chunk[i]! & 0xc0) === 0x80) i++; // swallow stray continuation bytes
    start = i;
  }
  parts.push(chunk.subarray(start));
  return { marked: Buffer.concat(parts), count };
}

export class Utf8Guard extends Transform {
  private pending: Buffer = Buffer.alloc(0);
  /** Number of invalid sequences seen so far. */
  invalidSequences = 0;

  override _transform(data: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const chunk = this.pending.length ? Buffer.concat([this.pending, data]) : data;
    const keep = incompleteTail(chunk);
    const body = keep ? chunk.subarray(0, chunk.length - keep) : chunk;
    this.pending = keep ? Buffer.from(chunk.subarray(chunk.length - keep)) : Buffer.alloc(0);
    done(null, this.check(body));
  }

  override _flush(done: TransformCallback): void {
    done(null, this.pending.length ? this.check(this.pending) : undefined);
  }

  private check(body: Buffer): Buffer {
    if (isUtf8(body)) return body;
    const { marked, count } = markInvalid(body);
    this.invalidSequences += count;
    return marked;
  }
}
