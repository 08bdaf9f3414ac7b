/**
 * Loads that fit real exports: a hand-written Stripe-style charges export (unix-second
 * `created`, amounts in cents, failed and pending charges to leave out) loaded with a
 * mapping file and checked figure by figure; conversions and filters from flags and on
 * NDJSON; reasons that quote the refused value; and the quarantine limit that refuses,
 * rolls back and exits non-zero.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFile, LoadError } from '../../src/load/batch-loader.ts';
import { readMappingFile } from '../../src/load/mapping-file.ts';
import { spawnCli } from '../support/cli-process.ts';
import { csv, fixture, ndjson } from '../support/fixture-files.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

// 1714521600 is 2024-05-01T00:00:00Z: 19844 days after 1970-01-01, × 86400 s.
const MAY_1 = 1714521600;
const CHARGES_HEADER = 'id,object,amount,amount_refunded,currency,created,customer,status,description';
const charges = csv(
  CHARGES_HEADER,
  `ch_1,charge,1999,0,usd,${MAY_1},cus_A,succeeded,Pro plan`,
  `ch_2,charge,500,0,usd,${MAY_1 + 3600},cus_B,succeeded,Add-on`,
  `ch_3,charge,1250,0,usd,${MAY_1 + 7200},cus_A,failed,Pro plan`,
  `ch_4,charge,99,0,usd,${MAY_1 + 86400},cus_C,succeeded,"Credits, small"`,
  `ch_5,charge,100000,0,usd,${MAY_1 + 86400 + 3661},cus_B,pending,Enterprise`,
  `ch_6,charge,4500,500,usd,${MAY_1 + 31 * 86400},cus_C,succeeded,Pro plan`,
);
/** The committed mapping the README shows. */
const stripeMapping = join(PROJECT_ROOT, 'mappings/stripe_charges.yml');

const outcomes = (batchId: number) =>
  db.knex.raw(
    `select outcome_id, user_id, outcome_type, to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') as occurred_utc,
            amount::text as amount, currency, properties
     from raw.outcomes where load_batch_id = ? order by outcome_id`,
    [batchId],
  ).then((r: { rows: Record<string, unknown>[] }) => r.rows);

describe('a Stripe-style charges export loaded with a mapping file', () => {
  it('loads succeeded charges only, with UTC times from unix seconds and amounts from cents, figure by figure', async () => {
    const { into, mapping } = readMappingFile(stripeMapping);
    const report = await loadFile(db.url, fixture('charges.csv', charges), { into, mapping });
    expect(report).toMatchObject({ rowsIn: 6, rowsLoaded: 4, rowsQuarantined: 0, rowsFiltered: 2, tables: { 'raw.outcomes': 4 } });

    const rows = await outcomes(report.batchId);
    expect(rows.map((r) => [r.outcome_id, r.user_id, r.outcome_type, r.occurred_utc, r.amount, r.currency])).toEqual([
      ['ch_1', 'cus_A', 'purchase', '2024-05-01 00:00:00', '19.9900', 'usd'],
      ['ch_2', 'cus_B', 'purchase', '2024-05-01 01:00:00', '5.0000', 'usd'],
      ['ch_4', 'cus_C', 'purchase', '2024-05-02 00:00:00', '0.9900', 'usd'],
      ['ch_6', 'cus_C', 'purchase', '2024-06-01 00:00:00', '45.0000', 'usd'],
    ]);
    // Columns with no place of their own land in properties; the filter column too, `object` is dropped.
    expect(rows[2]!.properties).toEqual({ amount_refunded: '0', status: 'succeeded', description: 'Credits, small' });
    expect(rows[3]!.properties).toMatchObject({ amount_refunded: '500' });

    const { rows: totals } = await db.knex.raw(
      `select user_id, sum(amount)::text as revenue, count(*)::int as n from raw.outcomes where load_batch_id = ? group by user_id order by user_id`,
      [report.batchId],
    );
    // 19.99 | 5.00 | 0.99 + 45.00
    expect(totals).toEqual([
      { user_id: 'cus_A', revenue: '19.9900', n: 1 },
      { user_id: 'cus_B', revenue: '5.0000', n: 1 },
      { user_id: 'cus_C', revenue: '45.9900', n: 2 },
    ]);
    const batch = await db.knex('ops.load_batches').where({ batch_id: report.batchId }).first('status', 'rows_in', 'rows_loaded', 'rows_quarantined', 'rows_filtered');
    expect(batch).toEqual({ status: 'loaded', rows_in: 6, rows_loaded: 4, rows_quarantined: 0, rows_filtered: 2 });
  });

  it('quarantines a charge whose created is not unix seconds, quoting the value', async () => {
    const { into, mapping } = readMappingFile(stripeMapping);
    const file = fixture('charges-bad.csv', csv(CHARGES_HEADER, `ch_7,charge,100,0,usd,2024-05-01,cus_D,succeeded,x`, `ch_8,charge,1O0,0,usd,${MAY_1},cus_D,succeeded,x`, `ch_9,charge,100,0,usd,${MAY_1},cus_D,succeeded,x`));
    const report = await loadFile(db.url, file, { into, mapping });
    expect(report).toMatchObject({ rowsIn: 3, rowsLoaded: 1, rowsQuarantined: 2 });
    const reasons = await db.knex('ops.quarantine').where({ batch_id: report.batchId }).orderBy('row_number').select('row_number', 'field', 'reason');
    expect(reasons).toEqual([
      { row_number: 1, field: 'occurred_at', reason: 'not unix seconds (a whole number such as 1714561200), got "2024-05-01"' },
      { row_number: 2, field: 'amount', reason: 'not a whole number of cents, got "1O0"' },
    ]);
    expect(report.topReasons.map((r) => [r.field, r.reason, r.rows, r.example])).toEqual([
      ['amount', 'not a whole number of cents', 1, '"1O0"'],
      ['occurred_at', 'not unix seconds (a whole number such as 1714561200)', 1, '"2024-05-01"'],
    ]);
  });
});

describe('conversions and filters on NDJSON', () => {
  it('converts unix milliseconds and day-first dates in the load time zone, and filters with where_not', async () => {
    const file = fixture('events.ndjson', ndjson(
      { id: 'e1', who: 'u1', name: 'opened', ts: MAY_1 * 1000 + 250, env: 'prod' },
      { id: 'e2', who: 'u1', name: 'opened', ts: MAY_1 * 1000, env: 'test' },
      { id: 'e3', who: 'u2', name: 'paid', ts: String(MAY_1 * 1000 + 60_000), env: 'prod' },
    ));
    const report = await loadFile(db.url, file, {
      into: 'events',
      mapping: { map: { message_id: 'id', user_id: 'who', event: 'name', occurred_at: 'ts:unix_ms' }, set: {}, ignore: [], where_not: { env: 'test' } },
    });
    expect(report).toMatchObject({ rowsIn: 3, rowsLoaded: 2, rowsFiltered: 1 });
    const { rows } = await db.knex.raw(
      `select message_id, to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') as t, properties from raw.events where load_batch_id = ? order by message_id`,
      [report.batchId],
    );
    expect(rows).toEqual([
      { message_id: 'e1', t: '2024-05-01 00:00:00.250', properties: { env: 'prod' } },
      { message_id: 'e3', t: '2024-05-01 00:01:00.000', properties: { env: 'prod' } },
    ]);

    const dmy = fixture('dmy.csv', csv('message_id,event,Date', 'd1,opened,01/02/2024 13:05', 'd2,opened,31/12/2024'));
    const local = await loadFile(db.url, dmy, { into: 'events', timezone: 'Europe/London', mapping: { map: { occurred_at: 'Date:dmy' }, set: {}, ignore: [] } });
    const { rows: times } = await db.knex.raw(
      `select message_id, to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI') as t from raw.events where load_batch_id = ? order by message_id`,
      [local.batchId],
    );
    // London is UTC+0 in February and December: 13:05 local is 13:05 UTC. 1 February, not 2 January.
    expect(times).toEqual([{ message_id: 'd1', t: '2024-02-01 13:05' }, { message_id: 'd2', t: '2024-12-31 00:00' }]);
  });
});

describe('the quarantine limit', () => {
  const eventsHeader = 'message_id,event,occurred_at';
  const mostlyBad = csv(eventsHeader, 'q1,opened,2024-05-01T00:00:00Z', 'q2,opened,yesterday', 'q3,opened,2024-05-01T00:00:00Z', 'q4,opened,2024-05-01T00:00:00Z');

  it('refuses a load above it, rolls the batch back and records why', async () => {
    const before = await db.knex('raw.events').count<{ count: string }[]>('* as count').first();
    const attempt = loadFile(db.url, fixture('mostly-bad.csv', mostlyBad), { into: 'events', maxQuarantined: { share: 0.05 } });
    await expect(attempt).rejects.toThrow(LoadError);
    await expect(attempt).rejects.toThrow(/mostly-bad\.csv: 1 of 4 rows \(25%\) were quarantined, more than --max-quarantined 5% allows; the batch was rolled back\. Most frequent reasons:\n {2}1 × occurred_at: not a timestamp \(expected ISO 8601, e\.g\. 2024-05-01T12:00:00Z\) \(e\.g\. "yesterday"\)/);
    expect(await db.knex('raw.events').count<{ count: string }[]>('* as count').first()).toEqual(before);
    expect(await db.knex('raw.events').whereIn('message_id', ['q1', 'q3']).count<{ count: string }[]>('* as count').first()).toEqual({ count: 0 });
    const failed = await db.knex('ops.load_batches').where({ status: 'failed' }).orderBy('batch_id', 'desc').first('error');
    expect(failed.error).toMatch(/more than --max-quarantined 5% allows/);
  });

  it('lets a load within it commit', async () => {
    const report = await loadFile(db.url, fixture('mostly-bad.csv', mostlyBad), { into: 'events', maxQuarantined: { share: 0.25 } });
    expect(report).toMatchObject({ rowsLoaded: 3, rowsQuarantined: 1 });
  });

  it('refuses a load where every row was quarantined, whatever the limit', async () => {
    const allBad = fixture('all-bad.csv', csv(eventsHeader, 'z1,opened,later', 'z2,opened,never'));
    await expect(loadFile(db.url, allBad, { into: 'events', maxQuarantined: { share: 1 } })).rejects.toThrow(/all-bad\.csv: every row \(2\) was quarantined; the batch was rolled back/);
  });

  it('makes the CLI exit non-zero by default (5%) when every row was quarantined, naming the value', async () => {
    const allBad = fixture('all-bad-cli.csv', csv(eventsHeader, 'z1,opened,later', 'z2,opened,never'));
    const { code, output } = await spawnCli(['load', allBad, '--into', 'events'], { DATABASE_URL: db.url }).done;
    expect(code).toBe(1);
    expect(output).toMatch(/error: .*all-bad-cli\.csv: every row \(2\) was quarantined; the batch was rolled back/);
    expect(output).toContain('(e.g. "later")');
    expect(output).not.toMatch(/\n\s+at /); // no stack
  });

  it('loads the Stripe export from flags alone through the CLI', async () => {
    const file = fixture('charges-cli.csv', charges);
    const { code, output } = await spawnCli(
      ['load', file, '--into', 'outcomes', '--map', 'outcome_id=id,user_id=customer,occurred_at=created:unix_s,amount=amount:cents', '--where', 'status=succeeded', '--ignore', 'object'],
      { DATABASE_URL: db.url },
    ).done;
    expect(output).toMatch(/rows filtered out \(where\)\s+2/);
    expect(code).toBe(0);
    const { rows } = await db.knex.raw(`select sum(amount)::text as total from raw.outcomes where outcome_id like 'ch_%' and load_batch_id = (select max(batch_id) from ops.load_batches where status = 'loaded')`);
    expect(rows[0].total).toBe('70.9800');
  });
});

describe('batches and quarantine from the CLI', () => {
  it('lists batches, shows the quarantined rows of one with the values quoted, and reverts one', async () => {
    const file = fixture('cli-batch.csv', csv('message_id,event,occurred_at', 'b1,opened,2024-05-01T00:00:00Z', 'b2,opened,2024-05-01T00:00:00Z', 'b3,opened,soon'));
    const report = await loadFile(db.url, file, { into: 'events' });
    const env = { DATABASE_URL: db.url };
    const ls = await spawnCli(['batches', 'ls'], env).done;
    expect(ls.code).toBe(0);
    expect(ls.output).toMatch(new RegExp(`${report.batchId}\\s+loaded\\s+2\\s+1\\s+0\\s+.*cli-batch\\.csv`));
    const quarantined = await spawnCli(['quarantine', 'ls', '--batch', String(report.batchId)], env).done;
    expect(quarantined.output).toMatch(/occurred_at\s+not a timestamp .*, got "soon"\s+b3,opened,soon/);
    const revert = await spawnCli(['batches', 'revert', String(report.batchId), '--reason', 'test rows'], env).done;
    expect(revert.code).toBe(0);
    expect(revert.output).toContain(`batch ${report.batchId} reverted: 2 rows from raw.events`);
    expect(await db.knex('raw.events').whereIn('message_id', ['b1', 'b2']).count('* as n').first()).toEqual({ n: 0 });
    const show = await spawnCli(['batches', 'show', String(report.batchId)], env).done;
    expect(show.output).toMatch(/reverted .*: test rows/);
  });
});
