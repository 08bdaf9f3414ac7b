/** Small files written to a temp directory for loader tests. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const dir = mkdtempSync(join(tmpdir(), 'seglayer-fixtures-'));

export function fixture(name: string, content: string | Buffer, options: { gzip?: boolean } = {}): string {
  const path = join(dir, name);
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  writeFileSync(path, options.gzip ? gzipSync(bytes) : bytes);
  return path;
}

export const csv = (...lines: string[]) => `${lines.join('\n')}\n`;
export const ndjson = (...objects: unknown[]) => `${objects.map((o) => JSON.stringify(o)).join('\n')}\n`;

/** A CSV of `page_view` events, one row per [message id, user id, occurred_at], written as a fixture file. */
export const pageViewEvents = (name: string, rows: [id: string, user: string, at: string][]) =>
  fixture(name, csv('message_id,user_id,event,occurred_at', ...rows.map((r) => `${r[0]},${r[1]},page_view,${r[2]}`)));
