/**
 * `seglayer batches ls | show N | revert N` and `seglayer quarantine ls [--batch N]`:
 * what was loaded, what was refused, and undoing a load (src/batches/batch-revert.ts).
 */
import type { Command } from 'commander';
import { withSession } from '../session.ts';
import { bold, count, dim, green, say, table, yellow } from '../../terminal/terminal-output.ts';
import { UserError } from '../../errors/user-error.js';

const batchId = (text: string) => {
  if (!/^\d+$/.test(text)) throw new UserError(`batch "${text}": expected a batch number (see seglayer batches ls)`);
  return Number(text);
};
const limitOf = (text: string) => {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new UserError(`--limit ${text}: expected a positive whole number`);
  return Number(text);
};
const when = (value: Date | null) => (value ? value.toISOString().replace('T', ' ').slice(0, 19) : '');

export function registerBatchCommands(program: Command): void {
  const batches = program.command('batches').description('load batches: list them, show one, revert one (undo a load)');

  batches.command('ls').description('the most recent load batches').option('--limit <n>', 'how many', '20')
    .action(async (flags: { limit: string }) => {
      await withSession(async ({ knex }) => {
        const rows = await knex('ops.load_batches').orderBy('batch_id', 'desc').limit(limitOf(flags.limit))
          .select('batch_id', 'status', 'source', 'format', 'rows_in', 'rows_loaded', 'rows_quarantined', 'rows_filtered', 'finished_at', 'started_at');
        if (rows.length === 0) return say(dim('no batches yet: seglayer load <file> makes one'));
        say(table([
          ['batch', 'status', 'loaded', 'quarantined', 'filtered', 'when', 'source'].map((h) => bold(h)),
          ...rows.map((r) => [r.batch_id, r.status === 'loaded' ? r.status : yellow(r.status), count(r.rows_loaded), count(r.rows_quarantined), count(r.rows_filtered), when(r.finished_at ?? r.started_at), r.source]),
        ]));
      });
    });

  batches.command('show <batch>').description('one batch: counts per table, options, quarantine reasons, revert record')
    .action(async (text: string) => {
      const id = batchId(text);
      await withSession(async ({ knex }) => {
        const batch = await knex('ops.load_batches').where({ batch_id: id }).first();
        if (!batch) throw new UserError(`no batch ${id} (see seglayer batches ls)`);
        say(`${bold(`batch ${id}`)} ${batch.status} ${dim(`${batch.format}, ${batch.source}`)}`);
        say(table([
          ['  rows in', count(batch.rows_in)], ['  loaded', count(batch.rows_loaded)], ['  quarantined', count(batch.rows_quarantined)], ['  filtered out', count(batch.rows_filtered)],
          ['  started', when(batch.started_at)], ['  finished', when(batch.finished_at)],
        ]));
        if (batch.error) say(`  ${yellow('error:')} ${batch.error}`);
        if (batch.status === 'reverted') say(`  ${yellow('reverted')} ${when(batch.reverted_at)}: ${batch.revert_reason} ${dim(JSON.stringify(batch.rows_reverted))}`);
        say(dim(`  options: ${JSON.stringify(batch.options)}`));
        const reasons = await knex('ops.quarantine').where({ batch_id: id }).groupBy('field')
          .select('field', knex.raw('count(*)::int as rows'), knex.raw('min(reason) as example')).orderBy('rows', 'desc');
        if (reasons.length) {
          say(yellow('  quarantined by field:'));
          say(table(reasons.map((r: { field: string | null; rows: number; example: string }) => [`    ${r.field ?? '(row)'}`, r.rows, dim(r.example)])));
        }
      });
    });

  batches.command('revert <batch>').description('undo a load: delete its rows from the raw tables in one transaction; the next build rebuilds what they reached')
    .requiredOption('--reason <text>', 'why (recorded with the batch in ops.load_batches)')
    .action(async (text: string, flags: { reason: string }) => {
      const id = batchId(text);
      const { revertBatch } = await import('../../batches/batch-revert.ts');
      await withSession(async ({ knex }) => {
        const report = await revertBatch(knex, id, flags.reason);
        say(`${green('✓')} batch ${id} reverted: ${Object.entries(report.rows).map(([t, n]) => `${count(n)} rows from ${t}`).join(', ')}`);
        say(dim('  run seglayer build: models rebuild without these rows (incremental ones from the earliest removed row)'));
      });
    });

  const quarantine = program.command('quarantine').description('rows loads refused, with the reason and the raw text');
  quarantine.command('ls').description('quarantined rows, newest first').option('--batch <n>', 'only this batch').option('--limit <n>', 'how many', '50')
    .action(async (flags: { batch?: string; limit: string }) => {
      await withSession(async ({ knex }) => {
        const query = knex('ops.quarantine').orderBy([{ column: 'batch_id', order: 'desc' }, { column: 'row_number', order: 'asc' }]).limit(limitOf(flags.limit))
          .select('batch_id', 'row_number', 'line_number', 'field', 'reason', 'raw_payload');
        if (flags.batch !== undefined) query.where({ batch_id: batchId(flags.batch) });
        const rows = await query;
        if (rows.length === 0) return say(dim('nothing quarantined'));
        say(table([
          ['batch', 'row', 'line', 'field', 'reason', 'raw'].map((h) => bold(h)),
          ...rows.map((r) => [r.batch_id ?? '', r.row_number ?? '', r.line_number ?? '', r.field ?? '', r.reason, dim(r.raw_payload.length > 60 ? `${r.raw_payload.slice(0, 60)}…` : r.raw_payload)]),
        ]));
      });
    });
}
