/**
 * Segments for use elsewhere: members of a definition (now, or as of a past time from
 * the membership history) and the entered/left changes since a time, written as CSV or
 * NDJSON. Rows stream through a server-side cursor in pages, so an export of millions
 * of members holds one page in memory, not the segment.
 */
import type { Knex } from 'knex';
import { membersAsOf } from './membership-as-of.ts';

/** Times leave with their microseconds: a poller sends the last one back as --since, and must not see it again. */
const iso = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export type ExportFormat = 'csv' | 'ndjson';
const PAGE_ROWS = 5000;

export interface ExportQuery {
  sql: string;
  bindings: unknown[];
  columns: string[];
}

/** Current members (segments.membership), or members as of `asOf` (ISO text, a reference time) rebuilt from segments.membership_history. */
export function membersQuery(definition: string, asOf?: string): ExportQuery {
  if (!asOf) {
    return {
      sql: `select user_key, definition, segment, version, ${iso('since')} as since from segments.membership where definition = ? order by segment, user_key`,
      bindings: [definition],
      columns: ['user_key', 'definition', 'segment', 'version', 'since'],
    };
  }
  const asOfMembers = membersAsOf(definition, asOf);
  return {
    // A member at a time: the user's last change for that segment up to then (in reference time) was an entry.
    sql: `select user_key, ?::text as definition, segment, version, ${iso('since')} as since from (${asOfMembers.sql}) m order by segment, user_key`,
    bindings: [definition, ...asOfMembers.bindings],
    columns: ['user_key', 'definition', 'segment', 'version', 'since'],
  };
}

/** Entered/left rows after `since` (exclusive), oldest first: what an app polls, keeping the last changed_at it saw. */
export function changesQuery(since: string, definition?: string): ExportQuery {
  return {
    sql: `select ${iso('changed_at')} as changed_at, change, user_key, definition, segment, version from segments.membership_history
          where changed_at > ?::timestamptz${definition ? ' and definition = ?' : ''} order by changed_at, definition, segment, user_key, change`,
    bindings: definition ? [since, definition] : [since],
    columns: ['changed_at', 'change', 'user_key', 'definition', 'segment', 'version'],
  };
}

function csvField(value: unknown): string {
  const text = value === null || value === undefined ? '' : value instanceof Date ? value.toISOString() : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function line(format: ExportFormat, columns: string[], row: Record<string, unknown>): string {
  if (format === 'ndjson') return `${JSON.stringify(Object.fromEntries(columns.map((c) => [c, row[c] instanceof Date ? (row[c] as Date).toISOString() : row[c]])))}\n`;
  return `${columns.map((c) => csvField(row[c])).join(',')}\n`;
}

/** Streams the query's rows to `write` (which may return a promise to hold back); returns the row count. */
export async function exportRows(knex: Knex, query: ExportQuery, format: ExportFormat, write: (chunk: string) => unknown): Promise<number> {
  let rows = 0;
  await knex.transaction(async (trx) => {
    await trx.raw(`declare segment_export no scroll cursor for ${query.sql}`, query.bindings as Knex.RawBinding[]);
    if (format === 'csv') await write(`${query.columns.join(',')}\n`);
    for (;;) {
      const page = (await trx.raw(`fetch forward ${PAGE_ROWS} from segment_export`)).rows as Record<string, unknown>[];
      if (page.length === 0) break;
      rows += page.length;
      await write(page.map((row) => line(format, query.columns, row)).join(''));
    }
  });
  return rows;
}
