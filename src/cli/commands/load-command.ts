import type { Command } from 'commander';
import { loadFile, type LoadReport } from '../../load/batch-loader.ts';
import { MappingError, mergeMappings, parsePairs } from '../../load/column-mapping.ts';
import { DEFAULT_QUARANTINE_LIMIT, parseQuarantineLimit } from '../../load/quarantine-limit.ts';
import { parseWhereFlags } from '../../load/row-filter.ts';
import { resolveLoadFormat } from '../../load/load-format.ts';
import { readMappingFile } from '../../load/mapping-file.ts';
import { withSession } from '../session.ts';
import { bold, count, dim, progress, say, seconds, table, yellow } from '../../terminal/terminal-output.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];

interface LoadFlags {
  into?: string;
  mapping?: string;
  format?: string;
  map?: string[];
  set?: string[];
  ignore?: string[];
  delimiter?: string;
  timezone?: string;
  where?: string[];
  maxQuarantined: string;
}

export function registerLoadCommand(program: Command): void {
  program
    .command('load <file>')
    .description('stream a CSV or NDJSON file (gzip too) into a raw table as one atomic batch')
    .option('--into <table>', 'raw table to load (events, users, identities, outcomes, costs, survey_responses, experiment_assignments); omit for a Segment/RudderStack export')
    .option('--mapping <file.yml>', 'a committed mapping file (into, map, set, ignore, timezone); flags override it')
    .option('--format <format>', 'csv | ndjson | tracking-calls (a Segment/RudderStack export; `segment` is a deprecated alias) (default: from the file name)')
    .option('--map <column=fileColumn>', 'fill a table column from a differently named file column, optionally converted: created:unix_s, ts:unix_ms, Date:dmy, Date:mdy, amount:cents, amount:thousandths (repeatable, or comma-separated)', collect)
    .option('--set <column=value>', 'fill a table column with a constant (repeatable)', collect)
    .option('--ignore <fileColumn>', 'drop a file column on purpose (repeatable)', collect)
    .option('--delimiter <char>', 'CSV field delimiter (default: , or tab for .tsv)')
    .option('--timezone <zone>', 'time zone of timestamps that carry none (default: SEGLAYER_TIMEZONE)')
    .option('--where <column=value>', 'load only rows whose file column has this value (a|b for any of several; column!=value to leave rows out; repeatable)', collect)
    .option('--max-quarantined <limit>', 'refuse and roll back the load when more rows than this are quarantined: a share (5%) or a number of rows', DEFAULT_QUARANTINE_LIMIT)
    .action(async (file: string, options: LoadFlags) => {
      const warn = (message: string) => progress(yellow(`warning: ${message}`));
      const fromFile = options.mapping ? readMappingFile(options.mapping, warn) : undefined;
      const format = options.format === undefined ? undefined : resolveLoadFormat(options.format, '--format', warn);
      const filters = parseWhereFlags(options.where, (flag) => new MappingError(`--where ${JSON.stringify(flag)}: expected <file column>=<value> or <file column>!=<value>`));
      const mapping = mergeMappings(fromFile?.mapping, {
        map: parsePairs(options.map, '--map'),
        set: parsePairs(options.set, '--set'),
        ignore: options.ignore ?? [],
        where: filters.where,
        where_not: filters.whereNot,
      });
      const maxQuarantined = parseQuarantineLimit(options.maxQuarantined);
      await withSession(async ({ warehouse, config }) => {
        const report = await loadFile(warehouse.url, file, {
          into: options.into ?? fromFile?.into,
          format: format ?? fromFile?.format,
          delimiter: options.delimiter ?? fromFile?.delimiter,
          timezone: options.timezone ?? fromFile?.timezone ?? config.SEGLAYER_TIMEZONE,
          mapping,
          maxQuarantined,
          progressEvery: config.SEGLAYER_PROGRESS_EVERY,
          onProgress: (p) =>
            progress(dim(`  ${count(p.rows)} rows read, ${count(p.quarantined)} quarantined, ${Math.round((100 * p.bytesRead) / p.sizeBytes)}% of file, ${count(Math.round(p.rows / p.seconds))} rows/s`)),
        });
        printLoadReport(report);
      });
    });
}

export function printLoadReport(report: LoadReport): void {
  say(`${bold('loaded')} ${report.source} ${dim(`(batch ${report.batchId}, ${report.format}, ${seconds(report.seconds)}, ${count(Math.round(report.rowsIn / Math.max(report.seconds, 0.001)))} rows/s)`)}`);
  say(
    table([
      ['  rows in', report.rowsIn],
      ['  rows loaded', report.rowsLoaded],
      ['  rows quarantined', report.rowsQuarantined],
      ...(report.rowsFiltered > 0 ? [['  rows filtered out (where)', report.rowsFiltered] as [string, number]] : []),
      ...(report.blankLines > 0 ? [['  blank lines skipped', report.blankLines] as [string, number]] : []),
      ['  lines in file', report.lines],
      ...Object.entries(report.tables).filter(([, n]) => n > 0).map(([t, n]): [string, number] => [`  -> ${t}`, n]),
    ]),
  );
  if (report.topReasons.length) {
    say(yellow('  quarantined because:'));
    say(table(report.topReasons.map((r) => [`    ${r.field ?? '(row)'}`, r.example ? `${r.reason} (e.g. ${r.example})` : r.reason, r.rows])));
    for (const repeat of report.alreadyQuarantined) say(dim(`  ${count(repeat.rows)} of them already quarantined in batch ${repeat.batchId} (same raw text and reason)`));
    say(dim(`  see: seglayer quarantine ls --batch ${report.batchId}`));
  }
}
