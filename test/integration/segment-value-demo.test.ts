/**
 * The segment value marts on demo data: generate, load, build every model once,
 * then recover what demo-journeys.ts and the older plants put there, from the
 * truth file the generator wrote while generating:
 *   - the onboarding funnel's drop-off on tablets (marts.funnel_steps);
 *   - the path invite_sent > report_exported > upgrade_clicked before upgrading (marts.segment_paths);
 *   - first-week breadth's higher upgrade rate, in and out of sample (marts.segment_validation);
 *   - every user and all net revenue in segment value's "all users" row (marts.segment_value).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { segmentValueRows, segmentValueTable } from '../../src/cli/segment-value-table.ts';
import { writeDemoFiles } from '../../src/demo/demo-generator.ts';
import type { DemoTruth } from '../../src/demo/demo-truth.ts';
import { loadFile } from '../../src/load/batch-loader.ts';
import { runModels, type RunSummary } from '../../src/models/model-runner.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

let db: TestDatabase;
let truth: DemoTruth;
let build: RunSummary;
const rows = async <T = Record<string, unknown>>(sql: string, bindings: unknown[] = []) => (await db.knex.raw(sql, bindings as never)).rows as T[];

beforeAll(async () => {
  db = await createTestDatabase();
  const manifest = await writeDemoFiles({ users: 3000, seed: 14, outDir: mkdtempSync(join(tmpdir(), 'seglayer-demo-')) });
  truth = JSON.parse(readFileSync(manifest.truthPath, 'utf8')) as DemoTruth;
  for (const file of manifest.files) await loadFile(db.url, file.path, { into: file.into });
  build = await runModels(db.knex, db.url, (await loadTestProject()).models);
}, 600_000);
afterAll(() => db?.drop());

describe('segment value marts on demo data', () => {
  it('build, with every test passing', () => {
    expect(build.results.filter((r) => r.status !== 'success').map((r) => `${r.model}: ${r.error}`)).toEqual([]);
    expect(build.results.filter((r) => r.model.startsWith('marts.')).map((r) => r.model).sort()).toEqual(
      ['marts.change_statistics', 'marts.cohort_retention', 'marts.experiment_statistics', 'marts.experiment_user_metrics', 'marts.funnel_steps', 'marts.segment_daily', 'marts.segment_path_counts', 'marts.segment_paths', 'marts.segment_validation', 'marts.segment_value', 'marts.user_activity_periods', 'marts.user_days', 'marts.user_follow_up', 'marts.user_funnel_progress', 'marts.user_paths'],
    );
  });

  it('recover the onboarding funnel exactly, and its drop-off on tablets', async () => {
    const funnel = await rows<{ segment: string; users: number; conversion_from_previous: number; lower: number; upper: number }>(`
      select segment, users::int, conversion_from_previous, conversion_from_previous_ci_lower as lower, conversion_from_previous_ci_upper as upper
      from marts.funnel_steps where funnel = 'onboarding' order by segment, step_number`);
    const of = (segment: string) => funnel.filter((r) => r.segment === segment);
    const { reached, plantedStepProbability, dropOffDevice } = truth.journeys.onboarding;
    expect(dropOffDevice).toBe('tablet');
    expect(of('tablet_users').map((r) => r.users)).toEqual(reached.tablet);
    expect(of('(none)').map((r) => r.users)).toEqual(reached.mobile.map((n, i) => n + reached.desktop[i]!));
    // Step 3 (data source after profile): the planted 30% on tablets, 75% elsewhere, each inside its 95% CI, and apart.
    const tablet = of('tablet_users')[2]!;
    const others = of('(none)')[2]!;
    expect(tablet.lower).toBeLessThan(plantedStepProbability.data_source!.tablet);
    expect(tablet.upper).toBeGreaterThan(plantedStepProbability.data_source!.tablet);
    expect(others.lower).toBeLessThan(plantedStepProbability.data_source!.desktop);
    expect(others.upper).toBeGreaterThan(plantedStepProbability.data_source!.desktop);
    expect(tablet.upper).toBeLessThan(others.lower);
    // The other steps show no drop-off difference: their intervals overlap.
    for (const step of [1, 3]) expect(of('tablet_users')[step]!.upper).toBeGreaterThan(of('(none)')[step]!.lower);
  });

  it('recover the planted path to upgrade as the top path of length 3 by lift', async () => {
    const { path, withPath, upgradedUsers } = truth.journeys.upgradePath;
    const paths = await rows<{ path: string; converted_users: number; converted_total: number; stalled_users: number; share_converted: number; share_converted_ci_lower: number; lift: number | null; users: number }>(`
      select path, converted_users::int, converted_total::int, stalled_users::int, share_converted, share_converted_ci_lower, lift, users::int
      from marts.segment_paths where outcome = 'upgrade' and definition = 'all' and path_length = 3 order by path_rank`);
    const planted = paths.find((p) => p.path === path.join(' > '))!;
    expect(planted).toBeDefined();
    // Upgraders with fewer than 3 distinct consecutive events in the 30 days before have no path of length 3.
    expect(planted.converted_total).toBeLessThanOrEqual(upgradedUsers);
    expect(planted.converted_total).toBeGreaterThanOrEqual(withPath);
    // Another event may rarely fall between the planted ones, and a rare upgrader takes the path by chance: within 5%.
    expect(Math.abs(planted.converted_users - withPath)).toBeLessThanOrEqual(Math.ceil(0.05 * withPath));
    expect(planted.share_converted_ci_lower).toBeGreaterThan(0.3);
    // A path no stalled user took (share_stalled 0) has no finite lift (null): it ranks above every finite one.
    const liftOf = (p: (typeof paths)[number]) => (p.lift === null && p.stalled_users === 0 && p.converted_users > 0 ? Infinity : p.lift);
    const withLift = paths.filter((p) => liftOf(p) !== null && p.users >= 20);
    expect(withLift.sort((a, b) => liftOf(b)! - liftOf(a)!)[0]!.path).toBe(planted.path);
  });

  it('find that first-week breadth upgrades more, in the training and the holdout window', async () => {
    const [claim] = await rows<{ verdict: string; training_lift_ci_lower: number; holdout_lift_ci_lower: number }>(
      `select verdict, training_lift_ci_lower, holdout_lift_ci_lower from marts.segment_validation where definition = 'first_week_breadth'`);
    expect(claim).toMatchObject({ verdict: 'holds' });
  });

  it('count every user and all net revenue in the "all users" row of segment value', async () => {
    const [all] = await rows<{ n: number; value: number }>(`select n::int, value from marts.segment_value where definition = 'all' and metric = 'revenue_per_user'`);
    const net = truth.outcomes.purchaseRevenue.totalUsd + truth.outcomes.upgradeRevenue.totalUsd - truth.outcomes.refunds.totalUsd;
    expect(all!.n).toBe(truth.users.total);
    expect(all!.value * all!.n).toBeCloseTo(net, 0);
    const [breadth] = await rows<{ value: number; lift: number; lift_ci_lower: number }>(
      `select value, lift, lift_ci_lower from marts.segment_value where definition = 'first_week_breadth' and metric = 'conversion_rate'`);
    expect(breadth!.lift_ci_lower).toBeGreaterThan(0);
  });

  it('make the segment value table npm start prints: all users first, revenue per user with CI, lift, verdict', async () => {
    const table = segmentValueTable(await segmentValueRows(db.knex));
    expect(table[0]).toEqual(['segment', 'n', 'revenue/user', '95% CI', 'lift', '95% CI', 'verdict']);
    expect(table[1]!.slice(0, 2)).toEqual(['all users', truth.users.total.toLocaleString('en-US')]);
    const breadth = table.find((r) => r[0] === 'first_week_breadth')!;
    expect(breadth[6]).toBe('holds');
    expect(breadth[2]).toMatch(/^\$\d+\.\d\d$/);
    expect(breadth[3]).toMatch(/^\[\$\d+\.\d\d, \$\d+\.\d\d\]$/);
    expect(table.find((r) => r[0] === 'young_adults')![6]).toBe('—'); // no claim
  });
});
