/**
 * End to end on demo data: generate, load through the loader, build the real
 * models in models/, and recover what the generator planted (truth.json).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoFiles } from '../../src/demo/demo-generator.ts';
import type { DemoTruth } from '../../src/demo/demo-truth.ts';
import { loadFile, type LoadReport } from '../../src/load/batch-loader.ts';
import { discoverModels } from '../../src/models/model-discovery.ts';
import { runModels, type RunSummary } from '../../src/models/model-runner.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

let db: TestDatabase;
let truth: DemoTruth;
const reports = new Map<string, LoadReport>();
let build: RunSummary;

const rows = async <T = Record<string, unknown>>(sql: string, bindings: unknown[] = []) => (await db.knex.raw(sql, bindings as never)).rows as T[];
const one = async (sql: string, bindings: unknown[] = []) => Object.values((await rows(sql, bindings))[0]!)[0];

beforeAll(async () => {
  db = await createTestDatabase();
  const manifest = await writeDemoFiles({ users: 2000, seed: 11, outDir: mkdtempSync(join(tmpdir(), 'seglayer-demo-')) });
  truth = JSON.parse(readFileSync(manifest.truthPath, 'utf8')) as DemoTruth;
  for (const file of manifest.files) reports.set(file.path.split('/').pop()!, await loadFile(db.url, file.path, { into: file.into }));
  build = await runModels(db.knex, db.url, (await loadTestProject()).models);
});
afterAll(() => db.drop());

describe('loading the demo files', () => {
  it('every file balances and only the planted malformed rows are quarantined', () => {
    for (const [name, report] of reports) {
      expect(report.rowsIn, name).toBe(truth.files[name]!.rows);
      expect(report.rowsIn, name).toBe(report.rowsLoaded + report.rowsQuarantined);
    }
    expect(reports.get('events.csv.gz')!.rowsQuarantined).toBe(truth.events.malformed.total);
    for (const [name, report] of reports) if (name !== 'events.csv.gz') expect(report.rowsQuarantined, name).toBe(0);
  });

  it('quarantine reasons match the kinds planted', async () => {
    const byReason = await rows<{ kind: string; n: number }>(`
      select case when reason like 'expected % fields%' then 'wrong_column_count'
                  when reason like 'invalid UTF-8%' then 'invalid_utf8'
                  when field = 'properties' then 'invalid_json'
                  when field = 'event' then 'missing_event_name'
                  when field = 'occurred_at' then 'bad_timestamp' else reason end as kind, count(*)::int as n
      from ops.quarantine where source like '%events.csv.gz' group by 1 order by 1`);
    expect(Object.fromEntries(byReason.map((r) => [r.kind, r.n]))).toEqual(truth.events.malformed.byKind);
  });
});

describe('the core model recovers the planted truths', () => {
  it('builds every model with all tests passing', () => {
    expect(build.results.filter((r) => r.status !== 'success').map((r) => `${r.model}: ${r.error}`)).toEqual([]);
  });

  it('removes duplicates exactly and flags conflicting ones in quarantine', async () => {
    expect(await one('select count(*)::int from staging.stg_events')).toBe(truth.events.uniqueEvents);
    expect(await one('select count(*)::int from core.fct_events')).toBe(truth.events.uniqueEvents);
    expect(await one(`select count(*)::int from ops.quarantine where source = 'model:staging.stg_events'`)).toBe(truth.events.conflictingDuplicates);
  });

  it('stitches every anonymous id to its user, transitively via events too', async () => {
    const map = await rows<{ identity: string; user_key: string }>(`select identity, user_key from core.user_identity_map where identity_type = 'anonymous'`);
    const keyOf = new Map(map.map((r) => [r.identity, r.user_key]));
    let checked = 0;
    for (const [userId, anonymousIds] of Object.entries(truth.identity.anonymousIds)) {
      for (const anonymousId of anonymousIds) {
        expect(keyOf.get(anonymousId), `${anonymousId} of ${userId}`).toBe(userId);
        checked++;
      }
    }
    expect(checked).toBe(truth.identity.linksFromIdentify + truth.identity.linksOnlyViaEvents);
    expect(await one(`select count(*)::int from core.fct_events where user_key like 'anon:%'`)).toBe(0);
  });

  it('has one identified user per generated user, with their events', async () => {
    expect(await rows(`select count(*)::int as users, count(*) filter (where is_identified)::int as identified from core.dim_users`)).toEqual([
      { users: truth.users.total, identified: truth.users.total },
    ]);
    const byDevice = await rows<{ first_device_type: string; n: number }>(`select first_device_type, count(*)::int as n from core.dim_users group by 1`);
    expect(Object.fromEntries(byDevice.map((r) => [r.first_device_type, r.n]))).toEqual(truth.users.byDevice);
  });

  it('reports outcomes and revenue in USD as planted', async () => {
    const byType = await rows<{ outcome_type: string; n: number }>(`select outcome_type, count(*)::int as n from core.fct_outcomes group by 1`);
    expect(Object.fromEntries(byType.map((r) => [r.outcome_type, r.n]))).toEqual(truth.outcomes.byType);
    const revenue = await rows(`select round(sum(revenue_usd) filter (where outcome_type = 'purchase'), 2)::float as purchase,
                                       round(sum(revenue_usd) filter (where outcome_type = 'upgrade'), 2)::float as upgrade,
                                       round(-sum(revenue_usd) filter (where outcome_type = 'refund'), 2)::float as refunds
                                from core.fct_outcomes`);
    expect(revenue[0]).toEqual({ purchase: truth.outcomes.purchaseRevenue.totalUsd, upgrade: truth.outcomes.upgradeRevenue.totalUsd, refunds: truth.outcomes.refunds.totalUsd || null });
    expect(await one('select round(sum(cost_usd), 2)::float from core.fct_costs')).toBe(truth.costs.totalUsd);
  });

  it('lets the first-week feature breadth segment be recovered exactly', async () => {
    const members = await rows<{ user_key: string }>(`
      select e.user_key from core.fct_events e join core.dim_users u using (user_key)
      where e.event = 'feature_used' and e.occurred_at >= u.signed_up_at and e.occurred_at < u.signed_up_at + interval '7 days'
      group by e.user_key having count(distinct e.properties->>'feature') >= 3 order by 1`);
    expect(members.map((m) => m.user_key)).toEqual([...truth.firstWeekBreadth.userIds].sort());
  });

  it('keeps survey answers and experiment exposures per user', async () => {
    expect(await one(`select count(distinct user_key)::int from core.user_survey`)).toBe(truth.survey.respondents);
    expect(await one(`select count(*)::int from core.fct_experiment_assignments`)).toBe(truth.users.total);
  });
});

describe('incremental events', () => {
  it('takes in a late batch older than the lookback, without duplicating anything', async () => {
    const header = 'message_id,user_id,event,occurred_at,properties';
    const late = ['late-1,u000001,app_opened,2025-03-01T10:00:00Z,{}', 'late-2,u000002,app_opened,2025-06-01T10:00:00Z,{}'];
    const { fixture } = await import('../support/fixture-files.ts');
    await loadFile(db.url, fixture('late.csv', `${header}\n${late.join('\n')}\n`), { into: 'events' });
    const summary = await runModels(db.knex, db.url, (await loadTestProject()).models, { select: ['staging.stg_events', 'core.fct_events'] });
    // stg_events re-decides the new batch's message ids only; fct_events re-derives each of the two users from its late event on,
    // and writes what changed.
    const action = (model: string) => summary.results.find((r) => r.model === model);
    expect(action('staging.stg_events')).toMatchObject({ status: 'success', action: 'incremental: 2 rows by message_id' });
    const facts = action('core.fct_events');
    expect(facts).toMatchObject({ status: 'success', action: expect.stringMatching(/^incremental: \d+ rows by message_id$/) });
    const [fromLate] = await rows<{ n: number }>(`select count(*)::int as n from core.fct_events
      where (user_key = 'u000001' and occurred_at >= '2025-03-01T10:00:00Z') or (user_key = 'u000002' and occurred_at >= '2025-06-01T10:00:00Z')`);
    // Written: the two new events, and of the later events re-derived only those whose session changed.
    const written = Number(/(\d+) rows/.exec(facts!.action!)![1]);
    expect(written).toBeGreaterThanOrEqual(2);
    expect(written).toBeLessThanOrEqual(fromLate!.n);
    expect(await rows(`select (select count(*) from core.fct_events)::int as facts, (select count(*) from staging.stg_events)::int as events`)).toEqual([
      { facts: truth.events.uniqueEvents + 2, events: truth.events.uniqueEvents + 2 },
    ]);
    expect(await one(`select user_key from core.fct_events where message_id = 'late-1'`)).toBe('u000001');
    // nothing new: the same build again is a no-op on the data
    await runModels(db.knex, db.url, (await loadTestProject()).models, { select: ['staging.stg_events', 'core.fct_events'] });
    expect(await one(`select count(*)::int from core.fct_events`)).toBe(truth.events.uniqueEvents + 2);
    expect(await one(`select count(*)::int from ops.quarantine where source = 'model:staging.stg_events'`)).toBe(truth.events.conflictingDuplicates);
  });
});
