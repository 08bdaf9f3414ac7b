/**
 * `seglayer load`: streams one file into the raw landing tables as one batch.
 *
 * The whole batch is one transaction: the ops.load_batches row, every COPY, and
 * the quarantined rows commit together, so a load killed midway leaves nothing
 * of its batch visible and nothing already stored is touched. Every source row
 * is loaded, quarantined with a reason, or left out by a row filter, and the
 * batch is only committed when rows in = loaded + quarantined + filtered,
 * PostgreSQL's COPY counts agree with what was sent, and the quarantined rows
 * stay within the limit (quarantine-limit.ts).
 */
import { extname } from 'node:path';
import pg from 'pg';
import { planCsvColumns, planObjectColumns, type ColumnMapping } from './column-mapping.ts';
import { copyLine, directCopyWriter, spoolingCopyWriter, type TableWriter } from './copy-writer.ts';
import { csvCopyFormat, csvRowEncoder, type CsvCopyFormat } from './copy-csv.ts';
import { readCsv } from './csv-source.ts';
import type { LineTally } from './line-reader.ts';
import { readNdjson } from './ndjson-source.ts';
import type { LoadFormat } from './load-format.ts';
import { compileRowBuilder, type TableRowBuilder } from './row-builder.ts';
import { openSourceFile, SourceFileError, type SourceFile } from './source-file.ts';
import { RowRejection, type SourceRecord } from './source-record.ts';
import { contractFor, LINEAGE_COLUMNS } from './table-contracts.ts';
import { TrackingCallRouter } from './tracking-calls.ts';
import { quarantineRefusal, type QuarantineLimit } from './quarantine-limit.ts';
import { UserError } from '../errors/user-error.js';

export type { LoadFormat } from './load-format.ts';

export interface LoadOptions {
  /** Target raw table (`raw.events` or `events`). Omit to load a Segment/RudderStack export. */
  into?: string;
  /** Defaults from the file name: .csv -> csv, .ndjson/.jsonl/.json -> ndjson (tracking-calls without `into`). */
  format?: LoadFormat;
  mapping?: ColumnMapping;
  /** CSV field delimiter. */
  delimiter?: string;
  /** Zone for timestamps that carry none. */
  timezone?: string;
  /** Label stored with the batch and quarantined rows; defaults to the path. */
  source?: string;
  /** Called every `progressEvery` rows; a returned promise holds the load until it settles. */
  onProgress?: (progress: LoadProgress) => unknown;
  /** Rows between progress reports. */
  progressEvery?: number;
  /** Above this many quarantined rows the load is refused and rolled back; omitted, no limit but "not every row". */
  maxQuarantined?: QuarantineLimit;
}

export interface LoadProgress {
  rows: number;
  quarantined: number;
  bytesRead: number;
  sizeBytes: number;
  seconds: number;
}

export interface LoadReport {
  batchId: number;
  source: string;
  format: LoadFormat;
  /** Rows written per table (an identify call can write two). */
  tables: Record<string, number>;
  rowsIn: number;
  rowsLoaded: number;
  rowsQuarantined: number;
  /** Rows a row filter (`where`) left out. */
  rowsFiltered: number;
  /** Physical lines of the file; every one is the header, a blank line, or part of a row in or quarantined. */
  lines: number;
  /** Lines of only spaces or tabs, skipped. */
  blankLines: number;
  seconds: number;
  /** Most frequent quarantine reasons, each with the first value it refused. */
  topReasons: QuarantineReason[];
  /** Quarantined rows identical (table, raw text, reason) to rows an earlier batch quarantined, by that batch. */
  alreadyQuarantined: { batchId: number; rows: number }[];
}

export interface QuarantineReason {
  field: string | null;
  reason: string;
  rows: number;
  /** The first refused value, quoted and cut short, when the reason is about a value. */
  example?: string;
}

export class LoadError extends UserError {}

const QUARANTINE_COLUMNS = ['source', 'batch_id', 'target_table', 'row_number', 'line_number', 'raw_payload', 'reason', 'field'];

type Route = (record: SourceRecord) => { builder: TableRowBuilder; values: (string | null)[] }[];

interface Plan {
  format: LoadFormat;
  tables: string[];
  file: SourceFile;
  batches: AsyncIterable<SourceRecord[]>;
  route: Route;
  tally: LineTally;
  /** False for rows a row filter leaves out. */
  keep?: (record: SourceRecord) => boolean;
  /** Set when the (single) table is copied in CSV format, rows as the file wrote them (copy-csv.ts). */
  csv?: CsvCopyFormat;
}

export function formatFromPath(path: string, into: string | undefined): LoadFormat {
  const name = path.toLowerCase().replace(/\.gz$/, '');
  const ext = extname(name);
  if (ext === '.csv' || ext === '.tsv' || ext === '.txt') return 'csv';
  if (ext === '.ndjson' || ext === '.jsonl' || ext === '.json') return into ? 'ndjson' : 'tracking-calls';
  throw new LoadError(`${path}: cannot tell the format from the name; pass --format csv|ndjson|tracking-calls`);
}

async function plan(path: string, options: LoadOptions): Promise<Plan> {
  const format = options.format ?? formatFromPath(path, options.into);
  const mapping: ColumnMapping = options.mapping ?? { map: {}, set: {}, ignore: [] };
  const tally: LineTally = { lines: 0, blankLines: 0, headerLines: 0 };
  if (format === 'tracking-calls') {
    if (options.into) throw new LoadError(`${path}: a Segment/RudderStack export loads into several tables; drop --into`);
    if (Object.keys(mapping.where ?? {}).length + Object.keys(mapping.where_not ?? {}).length > 0) {
      throw new LoadError(`${path}: row filters (where) apply to csv and ndjson loads, not to a Segment/RudderStack export`);
    }
    const router = new TrackingCallRouter();
    const file = openSourceFile(path);
    return { format, tables: router.tables, file, batches: readNdjson(file, tally), route: (r) => router.route(r), tally };
  }
  if (!options.into) throw new LoadError(`${path}: --into <raw table> is required for ${format} files`);
  const contract = contractFor(options.into);
  const file = openSourceFile(path);
  if (format === 'csv') {
    const delimiter = options.delimiter ?? (/\.tsv(\.gz)?$/i.test(path) ? '\t' : ',');
    const { header, batches } = await readCsv(file, delimiter, tally);
    const columns = planCsvColumns(contract, header, mapping, path);
    const builder = compileRowBuilder(contract, columns.getters, columns.extras, columns.conversions);
    const csv = csvCopyFormat(columns.verbatimColumns, delimiter);
    return { format, tables: [contract.table], file, batches, route: (r) => [{ builder, values: builder.build(r) }], tally, keep: columns.keep, ...(csv ? { csv } : {}) };
  }
  const columns = planObjectColumns(contract, mapping, path);
  const builder = compileRowBuilder(contract, columns.getters, columns.extras, columns.conversions);
  return { format, tables: [contract.table], file, batches: readNdjson(file, tally), route: (r) => [{ builder, values: builder.build(r) }], tally, keep: columns.keep };
}

export async function loadFile(databaseUrl: string, path: string, options: LoadOptions = {}): Promise<LoadReport> {
  const started = Date.now();
  const source = options.source ?? path;
  const { format, tables, file, batches, route, tally, keep, csv } = await plan(path, options).catch((error: unknown) => {
    throw error instanceof SourceFileError ? new LoadError(error.message) : error;
  });

  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'seglayer load' });
  // Without a listener, a dropped connection (ECONNRESET, EPIPE, a terminated
  // backend) is an uncaught exception that kills the process mid-batch.
  let connectionLost: Error | undefined;
  let closing = false;
  client.on('error', (error) => {
    connectionLost ??= error;
  });
  client.on('end', () => {
    if (!closing) connectionLost ??= new Error('the server closed the connection');
  });
  const writers = new Map<string, TableWriter>();
  let quarantine: TableWriter | undefined;
  let batchId: number | undefined;
  let committing = false;
  let rowsIn = 0;
  let rowsQuarantined = 0;
  let rowsFiltered = 0;
  let rowLines = 0;
  // Reasons counted as rows go by, so a refused (rolled back) load can still say why.
  const reasons = new Map<string, QuarantineReason>();
  await client.connect();
  try {
    await client.query('begin');
    await client.query(`select set_config('TimeZone', $1, true)`, [options.timezone ?? 'UTC']);
    const { rows } = await client.query<{ batch_id: string }>(
      `insert into ops.load_batches (source, format, target_tables, status, options, started_at)
       values ($1, $2, $3, 'loaded', $4, now()) returning batch_id`,
      [source, format, tables, JSON.stringify({ mapping: options.mapping ?? null, timezone: options.timezone ?? 'UTC' })],
    );
    batchId = Number(rows[0]!.batch_id);
    const suffix = `\t${batchId}\t`;

    // The first table streams directly; the rest and the quarantine spool to disk.
    tables.forEach((table, i) => {
      const columns = [...contractFor(table).columns.map((c) => c.name), ...LINEAGE_COLUMNS];
      if (i === 0 && csv) writers.set(table, directCopyWriter(client, table, [...csv.columns, ...LINEAGE_COLUMNS], { csvDelimiter: csv.delimiter }));
      else writers.set(table, i === 0 ? directCopyWriter(client, table, columns) : spoolingCopyWriter(table, columns));
    });
    const csvLine = csv && csvRowEncoder(csv, contractFor(tables[0]!).columns.map((c) => c.name), batchId);
    quarantine = spoolingCopyWriter('ops.quarantine', QUARANTINE_COLUMNS);
    const every = options.progressEvery ?? 250_000;
    const quarantineRow = (record: SourceRecord, reason: string, field: string | undefined, quoted?: string) => {
      rowsQuarantined++;
      countReason(reasons, field ?? null, reason, quoted);
      const payload = record.raw().replace(/\0/g, '\\0');
      return quarantine!.push(
        copyLine([source, String(batchId), tables.length === 1 ? tables[0]! : format, String(record.rowNumber),
          record.lineNumber === undefined ? null : String(record.lineNumber), payload, quoted ? `${reason}, got ${quoted}` : reason, field ?? null]),
      );
    };

    let nextProgress = every;
    for await (const batch of batches) {
      for (const record of batch) {
        rowsIn++;
        rowLines += record.lineCount;
        let wait: Promise<void> | undefined;
        if (record.problem) {
          wait = quarantineRow(record, record.problem.reason, record.problem.field);
        } else if (keep && !keep(record)) {
          rowsFiltered++;
        } else {
          try {
            const routed = route(record);
            if (csvLine) {
              wait = writers.get(tables[0]!)!.push(csvLine(record, routed[0]!.values));
            } else {
              const tail = `${suffix}${record.rowNumber}\n`;
              for (const { builder, values } of routed) {
                wait = writers.get(builder.table)!.push(copyLine(values, tail)) ?? wait;
              }
            }
          } catch (error) {
            if (!(error instanceof RowRejection)) throw error;
            wait = quarantineRow(record, error.reason, error.field, error.quoted);
          }
        }
        if (wait) await wait;
      }
      if (options.onProgress && rowsIn >= nextProgress) {
        nextProgress = rowsIn + every;
        const held = options.onProgress({ rows: rowsIn, quarantined: rowsQuarantined, bytesRead: file.bytesRead(), sizeBytes: file.sizeBytes, seconds: (Date.now() - started) / 1000 });
        if (held instanceof Promise) await held;
      }
    }

    const accounted = tally.headerLines + tally.blankLines + rowLines;
    if (accounted !== tally.lines) {
      throw new LoadError(`${path}: the file has ${tally.lines} lines but only ${accounted} were accounted for (header ${tally.headerLines}, blank ${tally.blankLines}, rows ${rowLines})`);
    }
    const refusal = options.maxQuarantined && quarantineRefusal(options.maxQuarantined, rowsQuarantined, rowsIn - rowsFiltered);
    if (refusal) throw new LoadError(`${path}: ${refusal}; the batch was rolled back. Most frequent reasons:\n${describeReasons(topOf(reasons))}`);
    const counts: Record<string, number> = {};
    for (const writer of writers.values()) {
      const copied = await writer.finish(client);
      if (copied !== writer.lines) throw new LoadError(`${writer.table}: COPY stored ${copied} rows but ${writer.lines} were sent`);
      counts[writer.table] = copied;
    }
    const quarantined = await quarantine.finish(client);
    if (quarantined !== rowsQuarantined) throw new LoadError(`ops.quarantine: stored ${quarantined} rows but ${rowsQuarantined} were sent`);
    const rowsLoaded = rowsIn - rowsQuarantined - rowsFiltered;
    await client.query(
      `update ops.load_batches set rows_in = $2, rows_loaded = $3, rows_quarantined = $4, rows_filtered = $5, finished_at = clock_timestamp()
       where batch_id = $1`,
      [batchId, rowsIn, rowsLoaded, rowsQuarantined, rowsFiltered],
    );
    committing = true;
    await client.query('commit');
    committing = false;
    // The batch is committed: what follows only describes it, and must not fail the load.
    await analyzeLoaded(client, Object.keys(counts).filter((table) => counts[table]! > 0));
    // Reloading a file quarantines its bad rows again (each batch balances on its
    // own); say so rather than leave it to look like new bad data.
    const repeats = rowsQuarantined === 0 ? { rows: [] } : await client.query<{ batchId: number; rows: number }>(
      `with earlier as (
         select n.quarantine_id, min(q.batch_id) as batch_id
         from ops.quarantine n
         join ops.quarantine q on q.raw_payload = n.raw_payload and q.reason = n.reason and q.target_table = n.target_table and q.batch_id < n.batch_id
         where n.batch_id = $1
         group by n.quarantine_id
       )
       select batch_id::int as "batchId", count(*)::int as rows from earlier group by batch_id order by rows desc, batch_id limit 3`,
      [batchId],
    ).catch(() => ({ rows: [] }));
    return {
      batchId, source, format, tables: counts, rowsIn, rowsLoaded, rowsQuarantined, rowsFiltered, lines: tally.lines, blankLines: tally.blankLines,
      seconds: (Date.now() - started) / 1000, topReasons: topOf(reasons), alreadyQuarantined: repeats.rows,
    };
  } catch (error) {
    for (const writer of writers.values()) await writer.abort().catch(() => {});
    // A rollback that fails (or hangs) is how a dead connection shows when the
    // error itself does not say so (a COPY write on a closed socket, say).
    const rolledBack = !connectionLost && !isConnectionLoss(error) && (await rollback(client));
    if (rolledBack) {
      const failure = describeFailure(error, path, rowsIn);
      await recordFailedBatch(client, source, format, tables, failure).catch(() => {});
      throw new LoadError(failure);
    }
    // The server rolls back a transaction whose connection is gone; only a lost
    // commit leaves the outcome open, and a fresh connection can tell.
    const lost = connectionLost ?? (error as Error);
    const failure = await afterConnectionLoss(databaseUrl, path, batchId, committing, lost);
    if (failure.committed) throw new LoadError(failure.message);
    await withFreshClient(databaseUrl, (fresh) => recordFailedBatch(fresh, source, format, tables, failure.message)).catch(() => {});
    throw new LoadError(failure.message);
  } finally {
    closing = true;
    for (const writer of writers.values()) writer.dispose();
    quarantine?.dispose();
    await client.end().catch(() => {});
  }

  function describeFailure(error: unknown, file: string, rows: number): string {
    if (error instanceof LoadError || error instanceof SourceFileError) return `${error.message}; nothing from this batch was loaded`;
    const e = error as Error & { where?: string };
    const where = e.where ? ` (${e.where.split('\n')[0]})` : '';
    return `${file}: load failed after ${rows} rows: ${e.message}${where}; nothing from this batch was loaded`;
  }
}

/** Distinct reasons kept in memory; a file with more is broken beyond what a list helps with. */
const MAX_DISTINCT_REASONS = 1000;

function countReason(reasons: Map<string, QuarantineReason>, field: string | null, reason: string, quoted: string | undefined): void {
  const key = `${field ?? ''}\u0000${reason}`;
  const seen = reasons.get(key);
  if (seen) seen.rows++;
  else if (reasons.size < MAX_DISTINCT_REASONS) reasons.set(key, { field, reason, rows: 1, ...(quoted ? { example: quoted } : {}) });
}

function topOf(reasons: Map<string, QuarantineReason>): QuarantineReason[] {
  return [...reasons.values()].sort((a, b) => b.rows - a.rows || a.reason.localeCompare(b.reason)).slice(0, 5);
}

function describeReasons(reasons: QuarantineReason[]): string {
  return reasons.map((r) => `  ${r.rows} × ${r.field ? `${r.field}: ` : ''}${r.reason}${r.example ? ` (e.g. ${r.example})` : ''}`).join('\n');
}

const CONNECTION_ERRORS = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED', 'ENOTCONN', '57P01', '57P02', '57P03']);

function isConnectionLoss(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | undefined;
  if (!e) return false;
  if (e.code && (CONNECTION_ERRORS.has(e.code) || e.code.startsWith('08'))) return true;
  return /Connection terminated|not queryable|Client was closed/i.test(e.message ?? '');
}

/*
 * Fresh statistics for the tables the batch went into: without them the planner
 * guesses one row for a new batch (a 1% batch of events is 11.5k), and the
 * incremental models that read it by load_batch_id plan for one. After commit,
 * not inside the load's transaction: ANALYZE's lock conflicts with itself, so
 * two concurrent loads into one table would wait for each other until commit.
 */
async function analyzeLoaded(client: pg.Client, tables: string[]): Promise<void> {
  for (const table of tables) {
    const [schema, name] = table.split('.') as [string, string];
    await client.query(`analyze ${client.escapeIdentifier(schema)}.${client.escapeIdentifier(name)}`).catch(() => {});
  }
}

async function rollback(client: pg.Client): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 10_000)));
  try {
    return await Promise.race([client.query('rollback').then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function withFreshClient<T>(databaseUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'seglayer load (cleanup)', connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

async function afterConnectionLoss(databaseUrl: string, path: string, batchId: number | undefined, committing: boolean, lost: Error) {
  const batch = batchId === undefined ? 'this batch' : `batch ${batchId}`;
  const cause = `(${lost.message})`;
  if (committing && batchId !== undefined) {
    const committed = await withFreshClient(databaseUrl, async (fresh) =>
      (await fresh.query('select 1 from ops.load_batches where batch_id = $1', [batchId])).rowCount === 1,
    ).catch(() => undefined);
    if (committed === true) return { committed, message: `connection lost while loading ${path} after batch ${batchId} was committed ${cause}; see ops.load_batches` };
    if (committed === undefined) return { committed: false, message: `connection lost while committing ${batch} of ${path} ${cause}: whether it was committed is unknown; check ops.load_batches for batch ${batchId}` };
  }
  return { committed: false, message: `connection lost while loading ${path}: nothing of ${batch} was committed ${cause}` };
}

async function recordFailedBatch(client: pg.Client, source: string, format: string, tables: string[], error: string) {
  await client.query(
    `insert into ops.load_batches (source, format, target_tables, status, error, started_at, finished_at)
     values ($1, $2, $3, 'failed', $4, now(), now())`,
    [source, format, tables, error],
  );
}
