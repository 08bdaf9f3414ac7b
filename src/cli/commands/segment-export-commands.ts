/**
 * `seglayer segments export <definition>` and `seglayer segments changes --since T`:
 * members and entered/left changes as CSV or NDJSON on stdout, for an app or a webhook.
 */
import type { Command } from 'commander';
import { once } from 'node:events';
import { withSession } from '../session.ts';
import { progress, dim } from '../../terminal/terminal-output.ts';
import { UserError } from '../../errors/user-error.js';

const FORMATS = ['csv', 'ndjson'] as const;

function formatOf(text: string): (typeof FORMATS)[number] {
  if (!(FORMATS as readonly string[]).includes(text)) throw new UserError(`--format ${text}: expected csv or ndjson`);
  return text as (typeof FORMATS)[number];
}
/** Checked here, passed on as text: PostgreSQL keeps the microseconds a JavaScript Date would drop. */
function timeOf(text: string, flag: string): string {
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$/.test(text) || Number.isNaN(new Date(text.slice(0, 23)).getTime())) {
    throw new UserError(`${flag} ${text}: expected an ISO date or time such as 2025-06-01 or 2025-06-01T12:00:00.123456Z`);
  }
  return text;
}
/** stdout with back-pressure: a slow reader holds the cursor, not memory. */
const write = (chunk: string) => (process.stdout.write(chunk) ? undefined : once(process.stdout, 'drain'));

export function registerSegmentExportCommands(program: Command): void {
  const segments = program.commands.find((c) => c.name() === 'segments') ?? program.command('segments');
  segments.command('export <definition>')
    .description('members of a definition (every segment of it) as CSV or NDJSON on stdout, streamed')
    .option('--format <format>', 'csv | ndjson', 'csv')
    .option('--as-of <time>', 'members as of that reference time, from segments.membership_history (default: as of the last build)')
    .action(async (definition: string, flags: { format: string; asOf?: string }) => {
      const format = formatOf(flags.format);
      const asOf = flags.asOf === undefined ? undefined : timeOf(flags.asOf, '--as-of');
      const { exportRows, membersQuery } = await import('../../segments/segment-export.ts');
      await withSession(async ({ knex }) => {
        const known = await knex('segments.membership_history').distinct('definition').pluck('definition').catch(() => [] as string[]);
        if (!known.includes(definition)) throw new UserError(`no segment definition "${definition}" has been built (built: ${known.join(', ') || 'none; run seglayer build'})`);
        const rows = await exportRows(knex, membersQuery(definition, asOf), format, write);
        progress(dim(`${rows} rows`));
      });
    });

  segments.command('changes')
    .description('entered/left membership changes after a time, oldest first, as NDJSON or CSV: poll with the last changed_at you saw')
    .requiredOption('--since <time>', 'changes after this time (exclusive)')
    .option('--definition <name>', 'only this definition')
    .option('--format <format>', 'csv | ndjson', 'ndjson')
    .action(async (flags: { since: string; definition?: string; format: string }) => {
      const format = formatOf(flags.format);
      const since = timeOf(flags.since, '--since');
      const { changesQuery, exportRows } = await import('../../segments/segment-export.ts');
      await withSession(async ({ knex }) => {
        const rows = await exportRows(knex, changesQuery(since, flags.definition), format, write);
        progress(dim(`${rows} changes`));
      });
    });
}
