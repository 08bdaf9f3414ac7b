/**
 * Incremental builds equal a full rebuild, row for row: one database is built
 * incrementally after each round of new data, a second one loads the same files
 * and is rebuilt with --full-refresh each round; core.user_identity_map,
 * core.dim_users, core.fct_events, features.user_features (and features.user_facts,
 * its per-user half, with marts.segment_value, which reads it), the event catalog
 * (event_property_days, event_properties, event_catalog), the per-user marts
 * (marts.user_paths, marts.user_activity_periods, marts.user_days) and the marts counted from them
 * (marts.segment_paths, marts.cohort_retention, marts.segment_daily; cluster segments aside) must hold the same
 * rows (every column) after rounds of new users and events, late events (older
 * than the last build), an anonymous id linked to its user afterwards, an
 * anonymous id whose earlier link hands it to another user, two known users
 * merged by an alias, purchases, and conflicting copies of a message id (whose
 * quarantine rows, checked for the new batches only, must equal a full check's).
 * The rounds are checked to move
 * those tables, and the last one (no change of reference time) to be built
 * incrementally for the touched users only.
 * The funnel and experiment marts and their per-user tables (marts.user_funnel_progress,
 * marts.experiment_user_metrics) too, plus a round that only changes their definitions.
 * core.fct_costs too: new and late cost lines, lines of ids known or merged later, a changed rate.
 * marts.user_follow_up (each user's follow-up, the per-user half of marts.segment_validation) too.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { appendedUsers } from '../../src/identity/appended-users.ts';
import { batchArray } from '../../src/identity/touched-identities.ts';
import { loadFile } from '../../src/load/batch-loader.ts';
import { changesRelation } from '../../src/models/model-changes.ts';
import { compileModel, quoteRelation } from '../../src/models/model-compiler.ts';
import { runModels, type ModelResult, type RunOptions } from '../../src/models/model-runner.ts';
import type { Project } from '../../src/project/project.ts';
import { csv, fixture } from '../support/fixture-files.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

const COMPARED = [
  'staging.stg_events',
  'staging.stg_identity_links',
  'core.user_identity_map',
  'core.dim_users',
  'core.fct_events',
  'features.user_features',
  'features.user_facts',
  'features.user_traits',
  'marts.segment_value',
  'core.event_property_days',
  'core.event_properties',
  'core.event_catalog',
  'core.event_user_counts',
  'marts.user_paths',
  'marts.user_activity_periods',
  'marts.segment_paths',
  'marts.segment_path_counts',
  'marts.cohort_retention',
  'marts.user_funnel_progress',
  'marts.funnel_steps',
  'marts.experiment_user_metrics',
  'marts.experiment_statistics',
  'marts.user_days',
  'marts.segment_daily',
  'segments.current_membership',
  'segments.rule_event_facts',
  'marts.user_follow_up',
  'marts.segment_validation',
  'core.fct_costs',
  'core.user_survey',
  'core.fct_outcomes',
  'core.fct_experiment_assignments',
];
/**
 * Cluster segments are left out of the marts' comparison: the incremental database scores
 * users against the fit it keeps (segments.cluster_fits) while --full-refresh refits, so
 * their members may differ by design (test/integration/cluster-scoring.test.ts covers that).
 */
const clusterDefinitions = () => project.segments.filter((d) => d.kind === 'cluster').map((d) => d.name);
/** The column naming each row's segment definition, in the marts that hold cluster segments. */
const WITHOUT_CLUSTERS: Record<string, string> = { 'marts.segment_paths': 'definition', 'marts.segment_path_counts': 'definition', 'marts.cohort_retention': 'segment_definition', 'marts.segment_daily': 'definition', 'marts.segment_value': 'definition', 'segments.current_membership': 'definition' };
const USERS = 20;
const day = (d: number, h = 0, m = 0) => new Date(Date.UTC(2025, 2, 1 + d, h, m)).toISOString();

let incremental: TestDatabase;
let full: TestDatabase;
let project: Project;
let seq = 0;
let seed = 5;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);

type Who = { user?: string; anon?: string };
const event = (who: Who, name: string, at: string, feature?: string) =>
  `e${++seq},${who.user ?? ''},${who.anon ?? ''},${name},${at},${feature ? `"{""feature"":""${feature}""}"` : '{}'}`;
const files = {
  events: (rows: string[]) => fixture(`ief-events-${++seq}.csv`, csv('message_id,user_id,anonymous_id,event,occurred_at,properties', ...rows)),
  users: (rows: string[]) => fixture(`ief-users-${++seq}.csv`, csv('user_id,signed_up_at,plan,country,updated_at', ...rows)),
  identities: (rows: string[]) => fixture(`ief-identities-${++seq}.csv`, csv('anonymous_id,user_id,linked_at,link_source', ...rows)),
  outcomes: (rows: string[]) => fixture(`ief-outcomes-${++seq}.csv`, csv('outcome_id,user_id,outcome_type,occurred_at,amount,currency', ...rows)),
  experiment_assignments: (rows: string[]) => fixture(`ief-assignments-${++seq}.csv`, csv('experiment,variant,user_id,anonymous_id,assigned_at', ...rows)),
  costs: (rows: string[]) => fixture(`ief-costs-${++seq}.csv`, csv('user_id,account_id,period_start,period_end,cost_type,amount,currency', ...rows)),
  survey_responses: (rows: string[]) => fixture(`ief-survey-${++seq}.csv`, csv('user_id,survey,question,answer,responded_at', ...rows)),
};
/** A cost line of March 2025 (period `month` months later), per user id or account. */
const cost = (who: { user?: string; account?: string }, type: string, amount: string, currency = 'USD', month = 0) => {
  const start = new Date(Date.UTC(2025, 2 + month, 1));
  const end = new Date(Date.UTC(2025, 3 + month, 0));
  return `${who.user ?? ''},${who.account ?? ''},${start.toISOString().slice(0, 10)},${end.toISOString().slice(0, 10)},${type},${amount},${currency}`;
};
/** The project's funnels (funnels/onboarding.yml) and experiment (experiments/onboarding_checklist.yml) read these. */
const onboarding = (user: string, step: string, at: string) => `f${++seq},${user},,onboarding_step,${at},"{""step"":""${step}""}"`;
const assigned = (u: number, at: string) => `onboarding_checklist,${u % 2 ? 'treatment' : 'control'},u${u},,${at}`;
const FUNNEL_AND_EXPERIMENT = ['marts.user_funnel_progress', 'marts.funnel_steps', 'marts.experiment_user_metrics', 'marts.experiment_statistics'];
/** Incremental by the identity map's kept changes and their sources' new batches. */
const BY_IDENTITY_MAP = ['core.user_survey', 'core.fct_outcomes', 'core.fct_experiment_assignments'];

/** Loads one file into both databases, in the same order (so batch ids agree too). */
const load = async (into: keyof typeof files, rows: string[]) => {
  const file = files[into](rows);
  for (const db of [incremental, full]) loaded.push((await loadFile(db.url, file, { into })).batchId);
};
/** Batch ids loaded since the incremental database's last build (both databases' ids are the same), and that build's. */
const loaded: number[] = [];
let builtBatches: number[] = [];
const build = async (db: TestDatabase, options: RunOptions = {}): Promise<Map<string, ModelResult>> => {
  if (db === incremental) builtBatches = [...new Set(loaded.splice(0))];
  const summary = await runModels(db.knex, db.url, project.models, options);
  expect(summary.results.filter((r) => r.status !== 'success').map((r) => `${r.model}: ${r.error}`)).toEqual([]);
  return new Map(summary.results.map((r) => [r.model, r]));
};
const rowsOf = async (db: TestDatabase, table: string) => {
  const column = WITHOUT_CLUSTERS[table];
  const where = column ? db.knex.raw('where not (?? = any(?))', [column, clusterDefinitions()]).toQuery() : '';
  return ((await db.knex.raw(`select t::text as row from ${table} t ${where} order by 1`)).rows as { row: string }[]).map((r) => r.row);
};
const quarantined = async (db: TestDatabase) =>
  ((await db.knex.raw(`select batch_id || '/' || row_number || ' ' || raw_payload || ' ' || reason as row from ops.quarantine where source = 'model:staging.stg_events' order by batch_id, row_number`)).rows as { row: string }[]).map((r) => r.row);
const snapshot = async (db: TestDatabase): Promise<Record<string, string[]>> => ({
  ...Object.fromEntries(await Promise.all(COMPARED.map(async (t) => [t, await rowsOf(db, t)] as const))),
  quarantine: await quarantined(db),
});

/**
 * Models folded from segments.membership_history: each database records its own history (its
 * builds' wall clock), so these are compared with their full query run on the same history.
 * Only run, not published: a --full-refresh republish would break the chain of kept changes
 * that marts.segment_path_counts' delta follows, and every later round would fall back.
 */
const REFOLDED = ['segments.membership', 'segments.membership_spells', 'segments.transitions']; // incremental by user_key
const FROM_HISTORY = [...REFOLDED, 'segments.overlap', 'segments.user_segments']; // overlap, user_segments: by delta
const foldsOf = async () => Object.fromEntries(await Promise.all(FROM_HISTORY.map(async (t) => [t, await rowsOf(incremental, t)] as const)));
const foldsEqualRebuild = async () => {
  const folded = await foldsOf();
  const known = new Set(project.models.map((m) => m.name));
  for (const table of FROM_HISTORY) {
    const { sql } = compileModel(project.models.find((m) => m.name === table)!, known);
    const rebuilt = (await incremental.knex.raw(`select t::text as row from (${sql}) t order by 1`)).rows.map((r: { row: string }) => r.row);
    expect(folded[table], table).toEqual(rebuilt);
  }
  return folded;
};

/** segments.membership_history (appended from current_membership's kept changes when their chain holds) ends where current membership is. */
const historyLatest = `select (user_key, definition, segment, version)::text as row from (
  select distinct on (user_key, definition, segment, version) * from segments.membership_history
  order by user_key, definition, segment, version, changed_at desc, change = 'entered') h where change = 'entered' order by 1`;
const historyFollowsMembership = async () => {
  const members = (await incremental.knex.raw(`select (user_key, definition, segment, version)::text as row from segments.current_membership order by 1`)).rows;
  expect((await incremental.knex.raw(historyLatest)).rows).toEqual(members);
};
/**
 * segments.cluster_assignments (incremental by user_key) equals scoring everyone from scratch against the same fit
 * (the full refresh refits, so it is not compared there); only when a row was scored may differ (scored_reference_at).
 */
const scoredAsFromScratch = async () => {
  const model = project.models.find((m) => m.name === 'segments.cluster_assignments')!;
  const { sql } = compileModel(model, new Set(project.models.map((m) => m.name)));
  const columns = `(user_key, definition, version, segment, fitted_at, scored_values)::text as row`;
  const scratch = (await incremental.knex.raw(`select ${columns} from (${sql}) t order by 1`)).rows;
  expect(scratch.length).toBeGreaterThan(0);
  expect((await incremental.knex.raw(`select ${columns} from segments.cluster_assignments t order by 1`)).rows).toEqual(scratch);
};
const HISTORY_DELTA = /^appended \d+ rows \(delta from segments\.current_membership\)$/;

/** Builds both databases (incremental, full refresh), checks them equal and returns the incremental run's results. */
const buildAndCompare = async () => {
  const before = { ...(await snapshot(incremental)), ...(await foldsOf()) };
  const results = await build(incremental);
  const appended = await appendedNow();
  const folded = await foldsEqualRebuild();
  await historyFollowsMembership();
  await scoredAsFromScratch();
  await build(full, { fullRefresh: true });
  const [a, b] = [await snapshot(incremental), await snapshot(full)];
  for (const table of [...COMPARED, 'quarantine']) expect(a[table], table).toEqual(b[table]);
  // The catalog folded from days equals one computed from the events here (count per type, five smallest values).
  const direct = await incremental.knex.raw(`
    select (p.event, p.property, p.json_type, count(*), array_to_string((array_agg(distinct left(p.value #>> '{}', 40)) filter (where p.value #>> '{}' is not null))[1:5], ', '))::text as row
    from (select e.event, kv.key as property, jsonb_typeof(kv.value) as json_type, kv.value
          from core.fct_events e, jsonb_each(case when jsonb_typeof(e.properties) = 'object' then e.properties else '{}' end) kv) p
    group by p.event, p.property, p.json_type order by 1`);
  expect(a['core.event_properties']).toEqual(direct.rows.map((r: { row: string }) => r.row));
  return { results, before, after: { ...a, ...folded }, appended };
};
/**
 * The users the last incremental build appended events to (src/identity/appended-users.ts, from the kept changes it
 * left): per-user models with deltaFrom fct_events and the map combine their stored rows with the new events.
 */
const appendedNow = async (batches = builtBatches): Promise<string[]> => {
  const ref = (name: string) => incremental.knex.raw(quoteRelation(name));
  const changes = { events: incremental.knex.raw(changesRelation('core.fct_events')), identities: incremental.knex.raw(changesRelation('core.user_identity_map')) };
  const { rows } = await incremental.knex.raw(`select user_key from (${appendedUsers(ref, changes, batchArray(incremental.knex, batches))}) a order by 1`);
  return rows.map((r: { user_key: string }) => r.user_key);
};
/** Models that combine an appended user's stored rows with their new events (deltaFrom fct_events and the map). */
const COMBINED_ACTION = /^incremental: \d+ rows by user_key( \(\d+ unchanged left alone\))? \(delta from core\.fct_events, core\.user_identity_map\)$/;
const COMBINED = { 'core.event_user_counts': COMBINED_ACTION, 'marts.user_paths': COMBINED_ACTION, 'segments.rule_event_facts': COMBINED_ACTION };
const combined = (results: Map<string, ModelResult>) => {
  for (const [model, action] of Object.entries(COMBINED)) expect(results.get(model)!.action, model).toMatch(action);
};
const keyOf = async (identity: string) =>
  (await incremental.knex.raw('select user_key from core.user_identity_map where identity = ?', [identity])).rows[0]?.user_key;

/** marts.cohort_retention is updated from the kept changes of its upstreams (delta maintenance), or computed from scratch. */
const DELTA = /\(delta from marts\.user_activity_periods, segments\.current_membership, segments\.membership_history\)$/;
/** Counted from scratch, it replaces every cell; by delta, only the cells whose counts changed (action: rows written). */
const RETENTION_FROM_SCRATCH = /^incremental: \d+ rows by segment_as_of, segment_definition, segment, activity, cohort_grain, cohort_start, period_number$/;
const retentionWritten = (action: string) => Number(/^incremental: (\d+) rows/.exec(action)![1]);
/** marts.segment_daily recounts the days from the first one an input changed (delta), or every day. */
const DAILY_DELTA = /^incremental: \d+ rows by definition, segment, day \(delta from segments\.membership_history, marts\.user_days, features\.user_features, core\.fct_costs\)$/;
const DAILY_FROM_SCRATCH = /^incremental: \d+ rows by definition, segment, day$/;
const dailyAction = (results: Map<string, ModelResult>) => results.get('marts.segment_daily')!.action!;
const retentionAction = (results: Map<string, ModelResult>) => {
  expect(results.get('marts.segment_path_counts')!.action!).toMatch(/\(delta from marts\.user_paths, segments\.membership\)$/);
  return results.get('marts.cohort_retention')!.action!;
};

/** marts.user_days and marts.user_activity_periods replace a user's rows from a day on; exact only with the identity map's changes (else touched users whole). */
const NARROW = { 'marts.user_days': /^incremental: \d+ rows by user_key from day \(delta from core\.user_identity_map, staging\.stg_events\)$/, 'marts.user_activity_periods': /^incremental: \d+ rows by user_key from period_start \(delta from marts\.user_days\)$/ };
const narrowed = (results: Map<string, ModelResult>) => {
  for (const [model, action] of Object.entries(NARROW)) expect(results.get(model)!.action, model).toMatch(action);
};
const insertedRows = (results: Map<string, ModelResult>, model: string) => Number(/^incremental: (\d+) rows/.exec(results.get(model)!.action!)![1]);

beforeAll(async () => {
  [incremental, full] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  project = await loadTestProject();
  await load('users', Array.from({ length: USERS }, (_, u) => `u${u},${day(0, u % 10)},free,DE,${day(0)}`));
  const rows: string[] = [];
  for (let u = 0; u < USERS; u++) {
    for (let d = 0; d < 20; d += 1 + Math.floor(random() * 3)) {
      // Users 0, 5, 10, 15 browse anonymously first (a0, a5, ...), linked only later.
      const who = u % 5 === 0 && d < 5 ? { anon: `a${u}` } : { user: `u${u}` };
      rows.push(event(who, 'signed_in', day(d, 9, u)));
      if (random() < 0.6) rows.push(event(who, 'feature_used', day(d, 9, u + 10), ['reports', 'alerts', 'api'][u % 3]));
    }
  }
  // A device u3 signed in on (the event carries both ids: the link is observed), used before anonymously.
  rows.push(event({ user: 'u3', anon: 'd3' }, 'signed_in', day(2, 7)), event({ anon: 'd3' }, 'page_viewed', day(2, 6)));
  // Starts a session of u5 and is the day's only size, until a later copy moves it (late events).
  rows.push(`moved5,u5,,page_viewed,${day(-1, 22)},"{""size"":1}"`, `moved5-next,u5,,page_viewed,${day(-1, 22, 20)},{}`);
  // The first observation of device x7's link to u7, until a later copy moves it (late events).
  rows.push(`linked7,u7,x7,page_viewed,${day(-1, 20)},{}`, `linked7-next,u7,x7,page_viewed,${day(2, 20)},{}`);
  // Signups and onboarding steps of the first ten users (funnels), page views (experiment metric).
  for (let u = 0; u < 10; u++) rows.push(event({ user: `u${u}` }, 'signed_up', day(0, u)), event({ user: `u${u}` }, 'page_viewed', day(1, u)));
  for (let u = 0; u < 10; u += 2) rows.push(onboarding(`u${u}`, 'profile', day(0, u + 1)));
  for (let u = 0; u < 10; u += 4) rows.push(onboarding(`u${u}`, 'data_source', day(0, u + 2)));
  await load('events', rows);
  await load('experiment_assignments', Array.from({ length: 16 }, (_, u) => assigned(u, day(0, 12))));
  await load('outcomes', [`o1,u1,purchase,${day(3, 12)},20.00,USD`, `o2,u2,purchase,${day(4, 12)},35.00,USD`]);
  // Under ids merged or linked later (u12 into u11, a0 to u0, a5 to u5): answers, an outcome and an anonymous exposure move with them.
  await load('survey_responses', [`u11,onboarding,primary_goal,reports,${day(1)}`, `u12,onboarding,primary_goal,alerts,${day(2)}`, `u12,onboarding,team_size,5,${day(2)}`, `a0,onboarding,team_size,2,${day(1)}`, `u3,onboarding,team_size,9,${day(1)}`]);
  await load('outcomes', [`o-u12,u12,purchase,${day(5, 12)},9.00,EUR`]); // (a user id in outcomes is a user's: not a0)
  // ... and one of a user id the map learns only later (newbie): until then it is x7's, so u7's.
  await load('experiment_assignments', [`onboarding_checklist,control,,a5,${day(0, 11)}`, `onboarding_checklist,control,newbie,x7,${day(0, 10)}`]);
  // Costs of known users, of ids known only later (ghost, a0, d3), of u12 (merged into u11 later) and of an account.
  await load('costs', [
    ...[0, 1, 2, 11].flatMap((u) => [cost({ user: `u${u}` }, 'compute', `${u + 1}.25`), cost({ user: `u${u}` }, 'storage', '0.5', 'EUR')]),
    cost({ user: 'u12' }, 'support', '3'),
    cost({ user: 'ghost' }, 'compute', '2'),
    cost({ user: 'a0' }, 'support', '0.75'),
    cost({ user: 'd3' }, 'storage', '0.1'),
    cost({ account: 'acme' }, 'support', '40', 'GBP'),
  ]);
  for (const db of [incremental, full]) await build(db, { fullRefresh: true });
});
afterAll(async () => {
  await incremental?.drop();
  await full?.drop();
});

it('new users, recent events and purchases: incremental equals a full rebuild', async () => {
  // First u4's plan and country alone (enters paid_plans, leaves europe): the reference time stays, so history gets
  // rows at its first reference time from a later build, which segment_daily must fold when it publishes that day.
  await load('users', [`u4,${day(0, 4)},pro,AT,${day(21)}`]);
  await buildAndCompare();
  await load('users', [`u${USERS},${day(21)},pro,FR,${day(21)}`]);
  await load('events', [
    ...[1, 2, 6, USERS].map((u) => event({ user: `u${u}` }, 'feature_used', day(21, 10, u), 'exports')),
    event({ anon: 'visitor-1' }, 'page_viewed', day(21, 11)), // an anonymous visitor nobody knows yet
    // Sizes and labels over several days (more than five distinct values, a number arriving as a string once).
    ...[3, 8, 12, 19, 21, 21].map((d, i) => `p${i},u${i + 1},,page_viewed,${day(d, 13, i)},"{""size"":${(i * 7) % 10},""label"":""l${9 - i}""}"`),
    `p-str,u9,,page_viewed,${day(21, 14)},"{""size"":""12"",""label"":null}"`,
    `r1-a,u1,,feature_used,${day(21, 10, 30)},{}`,
    `r1-b,u2,,feature_used,${day(21, 10, 40)},{}`,
    event({ user: 'u3' }, 'signed_in', day(40, 9)), // u3 back in its second month: LTV populations (segment_value) and month-1 activity
    `nobody-1,,,page_viewed,${day(21, 15)},"{""only_nobody"":1}"`, // staged, but names no one: not an event of the warehouse
  ]);
  await load('outcomes', [`o3,u6,purchase,${day(21, 12)},50.00,USD`]);
  await load('events', [event({ user: `u${USERS}` }, 'signed_up', day(21, 9)), onboarding(`u${USERS}`, 'profile', day(21, 9, 30))]);
  await load('experiment_assignments', [assigned(USERS, day(21, 9))]);
  // u15 answers and nothing else names it this round: features.user_traits (incremental) recomputes it for the answer alone.
  await load('survey_responses', [`u3,onboarding,team_size,12,${day(21)}`, `u${USERS},onboarding,primary_goal,api,${day(21)}`, `u15,onboarding,tech_savviness,4,${day(21)}`]);
  // Next month's costs, a late line for February, a new user's, and one of an id nobody names yet.
  await load('costs', [cost({ user: 'u1' }, 'compute', '4', 'USD', 1), cost({ user: 'u2' }, 'storage', '1.5', 'EUR', -1), cost({ user: `u${USERS}` }, 'compute', '9'), cost({ user: 'ghost2' }, 'compute', '1'), cost({ account: 'acme' }, 'support', '41', 'GBP', 1)]);
  // The first run after a full build: history began on the first day this round publishes and new events fall
  // before it (day 3), so marts.segment_daily folds all of history (no row of it is older than the days it recounts).
  const firstDays = `select (select min(reference_at at time zone 'UTC')::date from segments.membership_history)::text as history,
    (select max(day) + 1 from marts.segment_daily)::text as unpublished`;
  const daysBefore = (await incremental.knex.raw(firstDays)).rows[0];
  expect(daysBefore.history).toBe(daysBefore.unpublished);
  const { results, before, after, appended } = await buildAndCompare();
  const changedFrom = (await incremental.knex.raw(`select min(day)::text as day from ${changesRelation('marts.user_days')}`)).rows[0].day;
  expect(changedFrom < daysBefore.history, `user_days change from ${changedFrom}, history from ${daysBefore.history}`).toBe(true);
  // Their new events come after all their stored ones, and nothing else names them (u1, u2: costs; u6: an outcome;
  // u4's user row changed in the build before).
  expect(appended).toEqual(['u4', 'u5', 'u9']);
  // The catalog describes the warehouse's events (event_property_days reads them from staging: the ones naming someone).
  expect([after['staging.stg_events'], after['core.fct_events']].map((rows) => rows!.some((r) => r.startsWith('(nobody-1,')))).toEqual([true, false]);
  expect(after['core.event_property_days']!.some((r) => r.includes(',only_nobody,'))).toBe(false);
  combined(results);
  expect(retentionAction(results)).toMatch(DELTA);
  expect(dailyAction(results)).toMatch(DAILY_DELTA);
  expect(results.get('core.fct_costs')!.action).toBe('incremental: 5 rows by cost_id (delta from core.user_identity_map, core.fx_rates)');
  expect(after['core.fct_costs']!.length).toBe(before['core.fct_costs']!.length + 5);
  // u20 joined after history began: segments at cohort start are looked up (and compared) for it.
  expect(after['marts.cohort_retention']!.filter((r) => r.includes(',cohort_start,')).length).toBeGreaterThan(0);
  for (const table of ['features.user_facts', 'marts.segment_value']) expect(after[table], table).not.toEqual(before[table]);
  expect(after['features.user_facts']!.filter((r) => /^\(u3,.*,t,f\)$/.test(r)), 'u3 active in month 1').toHaveLength(1);
  expect(after['features.user_traits']!.filter((r) => r.startsWith('(u15,')), "u15's answer").toEqual(['(u15,,4)']);
  expect(results.get('features.user_traits')!.action).toMatch(/^incremental: \d+ rows by user_key$/);
  expect(after['marts.segment_value']!.filter((r) => r.startsWith('(all,"all users",ltv_1m,')), 'ltv_1m of all users').toHaveLength(1);
  expect(after['core.dim_users']!.length).toBe(before['core.dim_users']!.length + 2); // u20 and anon:visitor-1
  expect(results.get('segments.cluster_assignments')!.action).toMatch(/^incremental: [1-9]\d* rows by user_key$/); // u20 scored, at least
  expect(results.get('segments.membership_history')!.action).toMatch(HISTORY_DELTA); // its first build is a base too
  expect(after['features.user_features']).not.toEqual(before['features.user_features']);
  // Every user's row changes with the reference time: built whole, its changes kept as a diff (segment_daily's delta above).
  expect(results.get('features.user_features')!.action).toBe('swapped (in full: the reference time moved)');
  for (const model of BY_IDENTITY_MAP) {
    expect(results.get(model)!.action, model).toMatch(/^incremental: [1-9]\d* rows by \w+ \(delta from core\.user_identity_map/);
    expect(after[model], model).not.toEqual(before[model]);
  }
  for (const model of REFOLDED) expect(results.get(model)!.action, model).toMatch(/^incremental: \d+ rows by user_key/);
  for (const model of ['segments.membership', 'segments.membership_spells']) expect(after[model], model).not.toEqual(before[model]);
  for (const mart of ['marts.user_paths', 'marts.user_activity_periods', 'marts.segment_paths', 'marts.cohort_retention', 'marts.user_days', 'marts.segment_daily', ...FUNNEL_AND_EXPERIMENT]) {
    expect(before[mart]!.length, mart).toBeGreaterThan(0);
    expect(after[mart], mart).not.toEqual(before[mart]);
  }
});

// Same receipt time (none): the copy that sorts first by content is kept, so r1-b's new copy
// displaces the stored one, which becomes the conflicting copy.
const CONFLICTING = [`r1-a,u1,,zz_changed,${day(21, 10, 30)},{}`, `r1-b,u2,,aa_changed,${day(21, 10, 40)},{}`];
// A copy sorting first displaces one stored before the round's earliest new event (day 0): replaced by message_id,
// the session it started begins at the next event, and that day of event_property_days loses its size.
const MOVED = `moved5,u5,,aa_moved,${day(3, 2)},{}`;
const LINK_MOVED = `linked7,u7,x7,aa_moved,${day(3, 3)},{}`; // x7 -> u7 is first seen on day 2 now

it('late events, older than the last build, reach the users who had them; conflicting copies are flagged', async () => {
  await load('events', [
    ...[2, 7, 9].flatMap((u) => ['reports', 'alerts', 'api'].map((f) => event({ user: `u${u}` }, 'feature_used', day(1, 15, u), f))),
    ...CONFLICTING,
    MOVED,
    LINK_MOVED,
    event({ user: 'ghost' }, 'signed_in', day(1, 16)), // ghost's costs get its key
  ]);
  await load('outcomes', [`o5,u9,purchase,${day(2, 12)},15.00,USD`]); // a late first purchase: a new purchase cohort, a converted path
  await load('events', [onboarding('u2', 'data_source', day(0, 5))]); // a late onboarding step: u2 reaches step 3
  // A table published before a declared column existed is built in full once, not appended to.
  await incremental.knex.raw('alter table segments.membership drop column entered_recorded_at');
  const { results, before, after } = await buildAndCompare();
  expect(results.get('marts.cohort_retention')!.action).toMatch(DELTA);
  expect(dailyAction(results)).toMatch(DAILY_DELTA);
  narrowed(results); // moved5's old day (before any new event) and u5 with it: a displaced copy's range
  // The displaced kept copies (r1-b, moved5, linked7) found from stg_events' changes, not by every new message id.
  expect(results.get('staging.stg_identity_links')!.action).toMatch(/\(delta from staging\.stg_events\)$/);
  expect(results.get('core.fct_events')!.action).toMatch(/\(delta from core\.user_identity_map, staging\.stg_events\)$/);
  expect(results.get('segments.membership')!.action).not.toMatch(/^incremental/);
  // ... so it kept no diff, and marts.segment_path_counts, updated from it by delta, is computed from scratch.
  expect(results.get('marts.segment_path_counts')!.action).toMatch(/^incremental: \d+ rows by outcome, path_length, path, definition, segment$/);
  for (const mart of ['marts.user_paths', 'marts.user_activity_periods', 'marts.segment_paths', 'marts.cohort_retention', 'marts.user_days', 'marts.segment_daily', ...FUNNEL_AND_EXPERIMENT]) expect(after[mart], mart).not.toEqual(before[mart]);
  expect(after.quarantine!.length).toBe(before.quarantine!.length + 4);
  const x7 = (rows: string[]) => rows.filter((r) => r.startsWith('(x7,u7,'));
  expect(x7(after['staging.stg_identity_links']!)).toEqual([`(x7,u7,"${day(2, 20).replace('T', ' ').replace('.000Z', '+00')}",{event})`]);
  expect(x7(after['staging.stg_identity_links']!)).not.toEqual(x7(before['staging.stg_identity_links']!));
  expect(after['staging.stg_events']!.filter((r) => r.startsWith('(moved5,'))).toEqual([expect.stringContaining(',aa_moved,')]);
  const daySizes = (rows: string[]) => rows.filter((r) => r.startsWith(`("${day(-1).slice(0, 10)} 00:00:00+00",`) && r.includes(',size,'));
  expect([daySizes(before['core.event_property_days']!).length, daySizes(after['core.event_property_days']!).length]).toEqual([1, 0]);
  const features = (rows: string[]) => rows.filter((r) => /^\(u7,/.test(r));
  expect(features(after['features.user_features']!)).not.toEqual(features(before['features.user_features']!));
  expect(features(after['features.user_facts']!)).not.toEqual(features(before['features.user_facts']!));
  const facts = (rows: string[]) => rows.filter((r) => r.startsWith('(first_week_breadth_events,u7,'));
  expect(facts(after['segments.rule_event_facts']!)).not.toEqual(facts(before['segments.rule_event_facts']!)); // u7's late first-week breadth
  expect(after['marts.segment_value']).not.toEqual(before['marts.segment_value']); // u9's late purchase
  const ghost = (rows: string[]) => rows.filter((r) => r.includes(',ghost,'));
  expect([ghost(before['core.fct_costs']!), ghost(after['core.fct_costs']!)].map((rows) => rows.map((r) => r.split(',')[1]))).toEqual([[''], ['ghost']]);
});

it('identity merges: an anonymous id linked later, one handed to another user by an earlier link, two known users merged', async () => {
  expect(await keyOf('a0')).toBe('anon:a0');
  expect(await keyOf('d3')).toBe('u3');
  await load('identities', [
    `a0,u0,${day(21)},identify`, // anonymous first days become u0's
    `a5,u5,${day(21)},identify`,
    `d3,u8,${day(1)},identify`, // an earlier link than u3's event: d3 now belongs to u8, u3 loses its event
    `u12,u11,${day(21)},alias`, // two known users merged: u11 is the canonical key
  ]);
  await load('events', [event({ user: 'u12' }, 'signed_in', day(21, 14))]);
  const { results, before, after } = await buildAndCompare();
  expect(retentionAction(results)).toMatch(DELTA);
  expect(dailyAction(results)).toMatch(DAILY_DELTA);
  narrowed(results); // every day of u0, u3, u5, u8 and u11: identities joined or left them
  expect(results.get('segments.membership_history')!.action).toMatch(HISTORY_DELTA);
  expect(results.get('segments.user_segments')!.action).toMatch(/\(delta from segments\.membership\)$/);
  // u12's memberships go to u11 (event predicates read fct_events' re-keyed user_key).
  expect(after['segments.current_membership']).not.toEqual(before['segments.current_membership']);
  expect(after['segments.current_membership']!.some((r) => r.startsWith('(u12,'))).toBe(false);
  expect(before['segments.membership']!.some((r) => r.startsWith('(u12,'))).toBe(true);
  expect(after['segments.membership']!.some((r) => r.startsWith('(u12,'))).toBe(false); // its exits drop its rows (staleKeys)
  expect([await keyOf('a0'), await keyOf('a5'), await keyOf('d3'), await keyOf('u12')]).toEqual(['u0', 'u5', 'u8', 'u11']);
  const keys = after['core.dim_users']!.map((r) => r.slice(1, r.indexOf(',')));
  expect(keys).not.toContain('anon:a0');
  expect(keys).not.toContain('u12');
  // Cost lines of a0, d3 and u12 re-keyed to u0, u8 and u11; only those are re-derived.
  const keyed = (rows: string[]) => rows.filter((r) => /,(a0|d3|u12),/.test(r)).map((r) => r.split(',').slice(1, 3).join('>')).sort();
  expect([keyed(before['core.fct_costs']!), keyed(after['core.fct_costs']!)]).toEqual([['anon:a0>a0', 'u12>u12', 'u3>d3'], ['u0>a0', 'u11>u12', 'u8>d3']]);
  expect(results.get('core.fct_costs')!.action).toMatch(/^incremental: 3 rows by cost_id \(delta from /);
  // Answers, outcomes and exposures under a0, a5 and u12 move to u0, u5 and u11; u11 keeps the latest answer of both.
  for (const model of BY_IDENTITY_MAP) expect(results.get(model)!.action, model).toMatch(/^incremental: [1-9]\d* rows by \w+ \(delta from /);
  const heads = (rows: string[], n: number, pattern: RegExp) => rows.filter((r) => pattern.test(r)).map((r) => r.split(',').slice(0, n).join(','));
  expect(heads(after['core.user_survey']!, 4, /^\((u0|u11|u12|anon:a0),/)).toEqual(['(u0,onboarding,team_size,2', '(u11,onboarding,primary_goal,alerts', '(u11,onboarding,team_size,5']);
  expect([heads(before['core.fct_outcomes']!, 2, /^\(o-/), heads(after['core.fct_outcomes']!, 2, /^\(o-/)]).toEqual([['(o-u12,u12'], ['(o-u12,u11']]);
  const exposures = (rows: string[]) => rows.filter((r) => /^\(onboarding_checklist,(u5|anon:a5),/.test(r)).map((r) => r.replace(/"[^"]*"/, 'at'));
  expect([exposures(before['core.fct_experiment_assignments']!), exposures(after['core.fct_experiment_assignments']!)])
    .toEqual([['(onboarding_checklist,anon:a5,control,at,1)', '(onboarding_checklist,u5,treatment,at,1)'], ['(onboarding_checklist,u5,control,at,2)']]);
  expect(results.get('core.fct_events')!.action).toMatch(/ by message_id \(delta from core\.user_identity_map, staging\.stg_events\)$/); // re-keyed from the map's changes
});

it('a batch that leaves the reference time alone is built for the touched users only', async () => {
  await load('events', [event({ user: 'u13' }, 'feature_used', day(10, 16), 'api'), event({ user: 'u16', anon: 'a15' }, 'signed_in', day(21, 8))]);
  // An earlier first purchase of u6 (o3, day 21, joined a purchase cohort after history began): its segments at
  // cohort start are counted again as they are and as they were.
  await load('outcomes', [`o4,u14,purchase,${day(15, 12)},12.50,USD`, `o6,u6,purchase,${day(21, 7)},5.00,USD`]);
  await load('events', CONFLICTING); // loaded again: flagged once, not twice
  await load('experiment_assignments', [assigned(17, day(3))]); // u17's only change: an assignment (not traced by "touched")
  await load('events', [event({ user: 'newbie' }, 'signed_in', day(21, 9))]); // newbie known at last: its exposure leaves u7
  const { results, before, after } = await buildAndCompare();
  expect(retentionAction(results)).toMatch(DELTA);
  expect(retentionWritten(retentionAction(results))).toBeLessThan(after['marts.cohort_retention']!.length / 2); // only the cells that changed
  narrowed(results);
  // u13, u14 and u6 from their new event's or outcome's day on; u16, whom a15 joined, wholly; newbie (new) from its
  // day; nobody else: CONFLICTING's reloaded copies displace no kept copy (stg_events' changes say so), so u1 and u2,
  // whose stored copies they could have displaced, are left alone.
  const daysOf = (users: string[]) => after['marts.user_days']!.filter((r) => users.some((u) => r.startsWith(`(${u},`))).length;
  const fromDay = (user: string, d: number) => after['marts.user_days']!.filter((r) => r.startsWith(`(${user},`) && r.split(',')[1]! >= day(d).slice(0, 10)).length;
  expect(insertedRows(results, 'marts.user_days')).toBe(fromDay('u13', 10) + fromDay('u14', 15) + fromDay('u6', 21) + daysOf(['u16', 'newbie']));
  expect(insertedRows(results, 'marts.user_days')).toBeLessThan(daysOf(['u13', 'u14', 'u6', 'u16']));
  expect(after.quarantine).toEqual(before.quarantine);
  const days = results.get('core.event_property_days')!.action!;
  expect(days).toMatch(/^incremental: \d+ rows since /);
  // The late event of day 10 takes the window back there; the days before it are kept.
  expect(Number(/(\d+) rows/.exec(days)![1])).toBeLessThan(after['core.event_property_days']!.length);
  for (const model of ['staging.stg_identity_links', 'core.user_identity_map', 'core.dim_users', 'features.user_features', 'features.user_facts', 'marts.user_paths', 'marts.user_activity_periods', 'marts.user_funnel_progress', 'marts.experiment_user_metrics', 'marts.user_days', 'segments.rule_event_facts', 'marts.user_follow_up']) {
    const action = results.get(model)!.action!;
    expect(action, model).toMatch(/^incremental: \d+ rows by /);
    expect(Number(/(\d+) rows/.exec(action)![1]), model).toBeLessThan(after[model]!.length / 2);
  }
  const scored = results.get('segments.cluster_assignments')!.action!; // the touched users with events only
  expect(Number(/^incremental: (\d+) rows by user_key$/.exec(scored)![1])).toBeLessThan(USERS / 2);
  // a15, u15's anonymous first days never linked, is linked to u16 by this event: anon:a15 goes.
  expect(await keyOf('a15')).toBe('u16');
  expect(after['core.dim_users']!.some((r) => r.startsWith('(anon:a15,'))).toBe(false);
  expect(after['features.user_features']).not.toEqual(before['features.user_features']);
  expect(after['marts.experiment_user_metrics']!.some((r) => r.startsWith('(onboarding_checklist,u17,'))).toBe(true);
  // u17 and u7 recomputed from the assignments' kept changes (no comparison of every exposure).
  expect(results.get('marts.experiment_user_metrics')!.action).toMatch(/\(delta from .*core\.fct_experiment_assignments\)$/);
  expect(results.get('core.fct_costs')!.action).toBe('incremental: 0 rows by cost_id (delta from core.user_identity_map, core.fx_rates)');
  const exposed = (rows: string[]) => rows.filter((r) => /^\(onboarding_checklist,(u7|newbie),/.test(r)).map((r) => r.replace(/"[^"]*"/, 'at'));
  expect([exposed(before['core.fct_experiment_assignments']!), exposed(after['core.fct_experiment_assignments']!)])
    .toEqual([['(onboarding_checklist,u7,control,at,2)'], ['(onboarding_checklist,newbie,control,at,1)', '(onboarding_checklist,u7,treatment,at,1)']]);
});

// Only later events of returning users (appended): funnel progress continues from the stored rows, and only who reached a new step is written.
it('returning users\' later events: funnels and experiment metrics continue from the stored rows', async () => {
  await load('experiment_assignments', [assigned(18, day(30))]); // u18 exposed after its last event
  await buildAndCompare();
  // u7 loses its signup to a copy that sorts first (a removed row of fct_events): its funnel rows must go.
  const signup = (await incremental.knex.raw(`select message_id, occurred_at from core.fct_events where user_key = 'u7' and event = 'signed_up'`)).rows[0];
  await load('events', [`${signup.message_id},u7,,aa_changed,${signup.occurred_at.toISOString()},{}`]);
  await load('events', [
    // u18: a page view in the CUPED window before its exposure, and one after it.
    event({ user: 'u18' }, 'page_viewed', day(25)), event({ user: 'u18' }, 'page_viewed', day(31)),
    // Exposed u9: a page view continuing its last stored session (a page view 10 minutes before), a feature in a new one.
    `c9-a,u9,,page_viewed,${day(21, 14, 10)},{}`, `c9-b,u9,,feature_used,${day(22, 9)},{}`,
    onboarding(`u${USERS}`, 'data_source', day(21, 10, 30)), onboarding(`u${USERS}`, 'done', day(21, 10, 45)), // steps 3 and 4, within a day of signing up
    event({ user: 'u4' }, 'upgrade_clicked', day(22, 10)), event({ user: 'u4' }, 'checkout_completed', day(22, 11)), // within 30 days
    event({ user: 'u8' }, 'upgrade_clicked', day(35, 10)), // after its 30 days: no new step
  ]);
  const { results, before, after } = await buildAndCompare();
  const action = results.get('marts.user_funnel_progress')!.action!;
  expect(action).toMatch(/ \(delta from core\.fct_events, core\.user_identity_map\)$/);
  const of = (rows: string[], users: string[]) => rows.filter((r) => users.some((u) => r.includes(`,${u},`)));
  expect(of(after['marts.user_funnel_progress']!, [`u${USERS}`]).length).toBe(of(before['marts.user_funnel_progress']!, [`u${USERS}`]).length + 2);
  expect(of(after['marts.user_funnel_progress']!, ['u4']).length).toBe(of(before['marts.user_funnel_progress']!, ['u4']).length + 2);
  expect([of(before['marts.user_funnel_progress']!, ['u7']).length > 0, of(after['marts.user_funnel_progress']!, ['u7'])]).toEqual([true, []]);
  // u8 (no new step) is not written: the rows of the two who progressed, and no one else's (u7 has none now).
  expect(insertedRows(results, 'marts.user_funnel_progress')).toBe(of(after['marts.user_funnel_progress']!, [`u${USERS}`, 'u4']).length);
  // Only u9's and u18's metrics change (the others' new events are not measured): their rows, and no one else's but u7's
  // (not appended: recomputed from its history), are written.
  const pageViews = (rows: string[]) => of(rows, ['u18']).filter((r) => r.includes(',page_views,'));
  expect(pageViews(after['marts.experiment_user_metrics']!)).toEqual(pageViews(before['marts.experiment_user_metrics']!).map((r) => r.replace(',page_views,mean,0,0,', ',page_views,mean,1,1,')));
  expect(results.get('marts.experiment_user_metrics')!.action).toMatch(/ \(delta from core\.fct_events, core\.user_identity_map, core\.fct_experiment_assignments\)$/);
  expect(of(after['marts.experiment_user_metrics']!, ['u9'])).not.toEqual(of(before['marts.experiment_user_metrics']!, ['u9']));
  // u7's rows come out as stored (skipUnchanged): left alone, not written again.
  expect(of(after['marts.experiment_user_metrics']!, ['u7'])).toEqual(of(before['marts.experiment_user_metrics']!, ['u7']));
  expect(insertedRows(results, 'marts.experiment_user_metrics')).toBe(of(after['marts.experiment_user_metrics']!, ['u9', 'u18']).length);
  expect(results.get('marts.experiment_user_metrics')!.action).toMatch(new RegExp(` \\(${of(after['marts.experiment_user_metrics']!, ['u7']).length} unchanged left alone\\) `));
});

it('a plan change moves users between segments without new events: cohort_retention applies it as a delta', async () => {
  // u20, alone in its weekly cohort, leaves the paid plans: that cohort's paid cells go (tombstones).
  await load('users', [`u7,${day(0, 7)},pro,DE,${day(22)}`, `u8,${day(0, 8)},business,DE,${day(22)}`, `u${USERS},${day(21)},free,FR,${day(22)}`]);
  const { results, before, after } = await buildAndCompare();
  expect(retentionAction(results)).toMatch(DELTA);
  expect(results.get('segments.membership_history')!.action).toMatch(HISTORY_DELTA);
  expect(results.get('segments.user_segments')!.action).toMatch(/\(delta from segments\.membership\)$/);
  expect(after['segments.user_segments']).not.toEqual(before['segments.user_segments']); // u7 and u8 now on paid plans
  expect(after['segments.current_membership']).not.toEqual(before['segments.current_membership']);
  const paid = (rows: string[]) => rows.filter((r) => r.includes(',now,paid_plans,'));
  expect(paid(after['marts.cohort_retention']!)).not.toEqual(paid(before['marts.cohort_retention']!));
  expect(dailyAction(results)).toMatch(DAILY_DELTA); // the days from the one the plans changed on
  expect(retentionWritten(dailyAction(results))).toBeLessThan(after['marts.segment_daily']!.length / 2);
  const cells = (rows: string[]) => paid(rows).map((r) => r.split(',').slice(0, 7).join(','));
  const kept = new Set(cells(after['marts.cohort_retention']!));
  expect(cells(before['marts.cohort_retention']!).filter((cell) => !kept.has(cell)).length).toBeGreaterThan(0);
});

it('cohort_retention is computed from scratch after a run that skipped it and after a full build of its upstream', async () => {
  await load('events', [event({ user: 'u4' }, 'signed_in', day(22, 9))]);
  await build(incremental, { exclude: ['marts.cohort_retention', 'marts.segment_daily'] });
  await load('events', [event({ user: 'u5' }, 'signed_in', day(22, 10))]);
  const rebuilt = (await buildAndCompare()).results;
  expect(dailyAction(rebuilt)).toMatch(DAILY_FROM_SCRATCH);
  const skipped = retentionAction(rebuilt);
  expect(skipped).toMatch(RETENTION_FROM_SCRATCH);
  const cells = Number((await incremental.knex.raw('select count(*)::int as n from marts.cohort_retention')).rows[0].n);
  expect(retentionWritten(skipped)).toBe(cells);
  await load('events', [event({ user: 'u6' }, 'signed_in', day(22, 11))]);
  await build(incremental, { select: ['marts.user_activity_periods'], fullRefresh: true });
  const afterFull = (await buildAndCompare()).results;
  expect(retentionAction(afterFull)).toMatch(RETENTION_FROM_SCRATCH);
  // Its chain to user_days' changes broken too: it works out what user_days replaces itself.
  expect(afterFull.get('marts.user_activity_periods')!.action).toMatch(/^incremental: \d+ rows by user_key from period_start$/);
  await load('events', [event({ user: 'u9' }, 'signed_in', day(23, 9))]);
  expect(retentionAction((await buildAndCompare()).results)).toMatch(DELTA);
});

it('core.fct_costs re-derives every line after a rate changed, and after a run that skipped it', async () => {
  // The published rates as a seed edit would leave them, and a EUR line priced with the old rate.
  await incremental.knex.raw(`update core.fx_rates set usd_per_unit = 2 where currency = 'EUR'`);
  await incremental.knex.raw(`update core.fct_costs set cost_usd = 1 where user_id = 'u0' and cost_type = 'storage'`);
  const changed = await buildAndCompare();
  const lines = changed.after['core.fct_costs']!.length;
  expect(changed.results.get('core.fct_costs')!.action).toBe(`incremental: ${lines} rows by cost_id (delta from core.user_identity_map, core.fx_rates)`);
  // The identity map publishes in a run without fct_costs: its next changes do not follow what fct_costs saw.
  await load('events', [event({ user: 'u4' }, 'signed_in', day(23, 10))]);
  await build(incremental, { select: ['core.user_identity_map'] });
  await load('costs', [cost({ user: 'u3' }, 'compute', '2.5', 'USD', 1)]);
  const skipped = await buildAndCompare();
  expect(skipped.results.get('core.fct_costs')!.action).toBe(`incremental: ${lines + 1} rows by cost_id`);
  // Nor do they follow what marts.user_days saw: it replaces the touched users wholly (u4's days).
  expect(skipped.results.get('marts.user_days')!.action).toMatch(/^incremental: \d+ rows by user_key from day$/);
  expect(skipped.results.get('marts.user_activity_periods')!.action).toMatch(NARROW['marts.user_activity_periods']);
  expect(skipped.after['core.fct_costs']!.length).toBe(lines + 1);
});

/** Per-user models that add appended users' new events to their stored rows (src/identity/appended-users.ts). */
const APPENDING = /\(delta from core\.fct_events, core\.user_identity_map\)$/;
it('appended users: new events after all their stored ones are added to their stored rows', async () => {
  // Proof that the stored rows are carried: values the new events cannot change, altered in the incremental database only,
  // survive a build of the models with u10's new event (not in its first week), then are put back.
  const probes = [{ table: 'core.dim_users', column: 'first_browser', value: 'probe' }, { table: 'features.user_facts', column: 'first_week_features', value: 99 }];
  const valueOf = async (probe: { table: string; column: string }) => (await incremental.knex.raw(`select ?? as value from ?? where user_key = 'u10'`, [probe.column, probe.table])).rows[0].value;
  const stored = await Promise.all(probes.map(valueOf));
  for (const probe of probes) await incremental.knex.raw(`update ?? set ?? = ? where user_key = 'u10'`, [probe.table, probe.column, probe.value]);
  await load('events', [event({ user: 'u10' }, 'page_viewed', day(21, 5, 20))]);
  const probed = await build(incremental, { select: ['+features.user_facts'] });
  for (const probe of probes) {
    expect(probed.get(probe.table)!.action, probe.table).toMatch(APPENDING);
    expect(await valueOf(probe), probe.table).toEqual(probe.value);
  }
  for (const [i, probe] of probes.entries()) await incremental.knex.raw(`update ?? set ?? = ? where user_key = 'u10'`, [probe.table, probe.column, stored[i]]);

  await load('events', [
    event({ user: 'u10' }, 'feature_used', day(21, 5, 45), 'reports'), // 25 minutes after its last: that session goes on
    // u11: new sessions on new days, the last in its first month after signup (day 0, 01:00): is_active_month_1
    event({ user: 'u11' }, 'signed_in', day(30, 9)), event({ user: 'u11' }, 'feature_used', day(30, 15), 'api'),
    event({ user: 'u11' }, 'signed_in', day(31, 9)),
    event({ user: `u${USERS}` }, 'feature_used', day(23, 12), 'alerts'), // in u20's first week (signed up on day 21): a new feature, session, day
  ]);
  // A copy of u11's first event that only adds a region (which only staging holds): it wins, fct_events keeps its row as it
  // was, and u11's dim_users row is recomputed (its region is the first event's), not carried.
  const first = (await incremental.knex.raw(`select message_id, user_id, anonymous_id, event, occurred_at, properties::text from core.fct_events where user_key = 'u11' order by occurred_at, message_id limit 1`)).rows[0];
  const copy = fixture(`ief-events-${++seq}.csv`, csv('message_id,user_id,anonymous_id,event,occurred_at,properties,region',
    `${first.message_id},${first.user_id ?? ''},${first.anonymous_id ?? ''},${first.event},${first.occurred_at.toISOString()},"${first.properties.replaceAll('"', '""')}",Bavaria`));
  for (const db of [incremental, full]) await loadFile(db.url, copy, { into: 'events' });
  const { results, before, after } = await buildAndCompare();
  const of = (rows: string[], user: string) => rows.filter((r) => r.startsWith(`(${user},`));
  for (const model of ['core.dim_users', 'features.user_facts']) {
    expect(results.get(model)!.action, model).toMatch(APPENDING);
    for (const user of ['u10', 'u11', `u${USERS}`]) expect(of(after[model]!, user), `${model} ${user}`).not.toEqual(of(before[model]!, user));
  }
  expect([of(before['features.user_facts']!, 'u11')[0], of(after['features.user_facts']!, 'u11')[0]].map((r) => r!.endsWith(',t,f)'))).toEqual([false, true]);
  expect(of(after['core.dim_users']!, 'u11')[0]).toContain(',Bavaria,');
});

it('appended users in paths, event counts and rule facts: continued runs, new event names, gaps, outcomes, first weeks', async () => {
  const last = (user: string) => incremental.knex.raw('select event from core.fct_events where user_key = ? order by occurred_at desc, message_id desc limit 1', [user]);
  const u13Last = (await last('u13')).rows[0].event;
  // After u19's next events (below): its upgrade path moves then. No revenue: no order after the reference time the last
  // case configures (whose round changes u6's and u10's segments: not used here).
  await load('outcomes', [`o7,u19,upgrade,${day(30, 12)},0.00,USD`]);
  await load('events', [
    event({ user: 'u11' }, 'feature_used', day(33, 9), 'api'), // converted (purchase, day 5) before: that path is as stored
    event({ user: 'u13' }, u13Last, day(33, 10)), // continues u13's last run: its stalled path does not change
    event({ user: 'u16' }, 'exported', day(33, 11)), event({ user: 'u16' }, 'exported', day(33, 12)), event({ user: 'u16' }, 'signed_in', day(33, 13)), // a new event name
    // Three weeks later (no later than anyone's stored events: the reference time stays): its window starts amid them.
    event({ user: 'u17' }, 'signed_in', day(40, 8)),
    ...Array.from({ length: 20 }, (_, m) => event({ user: 'u18' }, 'signed_in', day(33, 14, m))), // a run longer than the tail read
    event({ user: `u${USERS}` }, 'feature_used', day(24, 15), 'reports'), // in u20's first week (signed up on day 21): its breadth grows
  ]);
  const first = await buildAndCompare();
  expect(first.appended).toEqual(['u11', 'u13', 'u16', 'u17', 'u18', `u${USERS}`]);
  const breadth = (rows: string[]) => rows.filter((r) => r.startsWith(`(first_week_breadth_events,u${USERS},`));
  expect(breadth(first.after['segments.rule_event_facts']!)).not.toEqual(breadth(first.before['segments.rule_event_facts']!));
  combined(first.results);
  // Paths that come back the same are no changes for marts.segment_path_counts: u13's, and u11's purchase path.
  const changed = async (user: string) => (await incremental.knex.raw(`select outcome from ${changesRelation('marts.user_paths')} where user_key = ? group by 1 order by 1`, [user])).rows.map((r: { outcome: string }) => r.outcome);
  expect([await changed('u13'), await changed('u11'), await changed('u16')]).toEqual([[], ['upgrade'], ['purchase', 'upgrade']]);
  await load('events', [
    event({ user: 'u19' }, 'exported', day(25, 9)), event({ user: 'u19' }, 'feature_used', day(26, 9), 'alerts'), // before its upgrade
    event({ user: 'u18' }, 'signed_in', day(34, 9)), // the tail read is one run: its window is read whole
    event({ user: 'u13' }, 'exported', day(34, 10)),
  ]);
  const second = await buildAndCompare();
  expect(second.appended).toEqual(['u13', 'u18', 'u19']);
  combined(second.results);
  const paths = (rows: string[], user: string) => rows.filter((r) => r.startsWith(`(${user},`));
  for (const user of ['u13', 'u19']) expect(paths(second.after['marts.user_paths']!, user), user).not.toEqual(paths(second.before['marts.user_paths']!, user));
});

it('a changed funnel or experiment definition recomputes its rows for every user, without new data', async () => {
  // The project's own definitions with a shorter conversion window and experiment window.
  const changed = (file: string, from: string, to: string) => {
    const text = readFileSync(join(PROJECT_ROOT, file), 'utf8');
    expect(text).toContain(from);
    const dir = mkdtempSync(join(tmpdir(), 'seglayer-ief-definitions-'));
    writeFileSync(join(dir, basename(file)), text.replace(from, to));
    return dir;
  };
  project = await loadTestProject({
    SEGLAYER_FUNNELS_DIR: changed('funnels/onboarding.yml', 'conversion_window: 1 day', 'conversion_window: 30 minutes'),
    SEGLAYER_EXPERIMENTS_DIR: changed('experiments/onboarding_checklist.yml', 'window_days: 121', 'window_days: 10'),
  });
  const { before, after } = await buildAndCompare();
  for (const mart of FUNNEL_AND_EXPERIMENT) expect(after[mart], mart).not.toEqual(before[mart]);
});

it('a configured reference time before recorded activity: history rows at it can change segments at cohort start, counted in full then', async () => {
  project = await loadTestProject({ SEGLAYER_REFERENCE_TIME: day(21, 6) });
  await load('events', [event({ user: 'u10' }, 'signed_in', day(21, 5))]);
  // u6 goes paid, recorded at day 21 06:00: before its purchase cohort's start (day 21 07:00), whose periods do not change.
  await load('users', [`u6,${day(0, 6)},business,DE,${day(23)}`]);
  const { results, before, after } = await buildAndCompare();
  expect(retentionAction(results)).toMatch(DELTA);
  const paidAtStart = (rows: string[]) => rows.filter((r) => r.includes(',cohort_start,paid_plans,'));
  expect(paidAtStart(after['marts.cohort_retention']!)).not.toEqual(paidAtStart(before['marts.cohort_retention']!));
  const { rows } = await incremental.knex.raw(`
    select count(*)::int as n from segments.__seglayer_changes_membership_history
    where reference_at <= (select max(first_at) from marts.user_activity_periods where period_number = 0)`);
  expect(rows[0].n).toBeGreaterThan(0);
});
