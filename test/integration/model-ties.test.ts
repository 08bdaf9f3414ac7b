/**
 * Ties are decided by content, never by load order: the same rows loaded as
 * A then B, or B then A, build identical models, even where two rows share the
 * timestamp that should decide between them.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadFile } from '../../src/load/batch-loader.ts';
import { discoverModels } from '../../src/models/model-discovery.ts';
import { runModels } from '../../src/models/model-runner.ts';
import { csv, fixture } from '../support/fixture-files.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

const USERS = 20;
const AT = '2025-03-01T12:00:00Z';

/** Two versions of every source: the same keys and timestamps, different content. */
function files(side: 'a' | 'b') {
  const [plan, country, answer, variant, upgrade] = side === 'a' ? ['pro', 'DE', 'save_time', 'control', 'team'] : ['free', 'FR', 'learn', 'treatment', 'business'];
  const ids = Array.from({ length: USERS }, (_, i) => `u${i}`);
  return {
    users: fixture(`users-${side}.csv`, csv('user_id,plan,country,updated_at', ...ids.map((u) => `${u},${plan},${country},${AT}`))),
    // u0 and u1 are the same person (alias), so their traits and answers compete too.
    identities: fixture(`identities-${side}.csv`, csv('anonymous_id,user_id,linked_at,link_source', `u1,u0,${AT},alias`)),
    outcomes: fixture(`outcomes-${side}.csv`, csv('user_id,outcome_type,occurred_at,plan', ...ids.map((u) => `${u},upgrade,${AT},${upgrade}`))),
    survey: fixture(`survey-${side}.csv`, csv('user_id,survey,question,answer,responded_at', ...ids.map((u) => `${u},onboarding,primary_goal,${answer},${AT}`))),
    experiments: fixture(`experiments-${side}.csv`, csv('experiment,variant,user_id,assigned_at', ...ids.map((u) => `checkout,${variant},${u},${AT}`))),
    events: fixture(`events-${side}.csv`, csv('message_id,user_id,event,occurred_at,country', ...ids.map((u) => `e-${u},${u},app_opened,${AT},${country}`))),
  };
}

const MODELS = ['+core.dim_users', '+core.user_survey', '+core.fct_experiment_assignments', '+staging.stg_events'];
const CHECKED = ['core.dim_users', 'core.user_survey', 'core.fct_experiment_assignments', 'staging.stg_users', 'staging.stg_survey_responses', 'staging.stg_experiment_assignments'];

async function buildInOrder(order: ('a' | 'b')[]): Promise<{ db: TestDatabase; checksums: Record<string, string> }> {
  const db = await createTestDatabase();
  for (const side of order) {
    const f = files(side);
    for (const [into, path] of Object.entries(f)) {
      await loadFile(db.url, path, { into: into === 'survey' ? 'survey_responses' : into === 'experiments' ? 'experiment_assignments' : into });
    }
  }
  const summary = await runModels(db.knex, db.url, (await loadTestProject()).models, { select: MODELS });
  expect(summary.results.filter((r) => r.status !== 'success').map((r) => `${r.model}: ${r.error}`)).toEqual([]);
  const checksums: Record<string, string> = {};
  for (const table of CHECKED) {
    const { rows } = await db.knex.raw(`select count(*) || ':' || coalesce(md5(string_agg(t::text, '|' order by t::text)), '') as sum from ${table} t`);
    checksums[table] = rows[0].sum;
  }
  // stg_events keeps lineage columns, which rightly name the batch that delivered the kept copy.
  const { rows } = await db.knex.raw(`select md5(string_agg(row(message_id, user_id, event, occurred_at, country)::text, '|' order by message_id)) as sum from staging.stg_events`);
  checksums['staging.stg_events'] = rows[0].sum;
  return { db, checksums };
}

let ab: Awaited<ReturnType<typeof buildInOrder>>;
let ba: Awaited<ReturnType<typeof buildInOrder>>;
beforeAll(async () => {
  ab = await buildInOrder(['a', 'b']);
  ba = await buildInOrder(['b', 'a']);
});
afterAll(async () => {
  await ab?.db.drop();
  await ba?.db.drop();
});

it('every model that picks one row among ties builds the same rows whatever the load order', () => {
  expect(ba.checksums).toEqual(ab.checksums);
});

it('the ties really were there: each user has two candidate rows with the same timestamp', async () => {
  const { rows } = await ab.db.knex.raw(`select count(*)::int as n from raw.users group by user_id, updated_at`);
  expect(rows.every((r: { n: number }) => r.n === 2)).toBe(true);
  const plans = await ab.db.knex('core.dim_users').whereNotNull('user_id').distinct('plan').pluck('plan');
  expect(plans).toHaveLength(1);
});

it('a file loaded again does not flag the same conflicting copy again', async () => {
  const db = await createTestDatabase();
  try {
    const file = fixture('conflict.csv', csv('message_id,user_id,event,occurred_at', `c1,u1,app_opened,${AT}`, `c1,u1,app_closed,${AT}`, `c2,u2,app_opened,${AT}`));
    for (let i = 0; i < 3; i++) await loadFile(db.url, file, { into: 'events' });
    const summary = await runModels(db.knex, db.url, (await loadTestProject()).models, { select: ['staging.stg_events'] });
    expect(summary.ok).toBe(true);
    const flagged = await db.knex('ops.quarantine').where({ source: 'model:staging.stg_events' }).select('batch_id', 'raw_payload');
    expect(flagged).toHaveLength(1);
    expect(flagged[0]).toMatchObject({ batch_id: 1 });
    expect(await db.knex('staging.stg_events').orderBy('message_id').pluck('event')).toEqual(['app_closed', 'app_opened']);
  } finally {
    await db.drop();
  }
});
