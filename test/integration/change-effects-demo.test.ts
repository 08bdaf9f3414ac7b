/**
 * Changes that were not randomised, end to end on demo data: generate, load,
 * build up to marts.change_statistics, write marts.change_effects, and check
 * - the planted mobile share sheet (weekly sharing 15% → 40% on mobile from
 *   2025-10-01, desktop unchanged) is found: a significant DiD on mobile whose
 *   95% CI covers the effect the generator planted in the metric's units
 *   (truth.json release.effectOnExposed), with parallel pre-trends;
 * - the panel and the post-period share equal what the test counts itself from
 *   core.fct_events and core.dim_users;
 * - a placebo release (2025-06-01, when nothing happened) is not significant;
 * - `seglayer changes ls | report` print them readably.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeEffectRow } from '../../src/changes/change-analysis.ts';
import { writeChangeEffects } from '../../src/changes/change-effects-writer.ts';
import { writeDemoFiles } from '../../src/demo/demo-generator.ts';
import type { DemoTruth } from '../../src/demo/demo-truth.ts';
import { loadFile } from '../../src/load/batch-loader.ts';
import { runModels } from '../../src/models/model-runner.ts';
import { spawnCli } from '../support/cli-process.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

let db: TestDatabase;
let truth: DemoTruth;
let effects: ChangeEffectRow[];
let changesDir: string;

const PLACEBO = readFileSync(join(PROJECT_ROOT, 'changes/mobile_share_sheet.yml'), 'utf8')
  .replace('name: mobile_share_sheet', 'name: placebo_release')
  .replace('released_at: 2025-10-01', 'released_at: 2025-06-01');

beforeAll(async () => {
  db = await createTestDatabase();
  const manifest = await writeDemoFiles({ users: 2000, seed: 15, outDir: mkdtempSync(join(tmpdir(), 'seglayer-demo-')) });
  truth = JSON.parse(readFileSync(manifest.truthPath, 'utf8')) as DemoTruth;
  for (const file of manifest.files) await loadFile(db.url, file.path, { into: file.into });
  changesDir = mkdtempSync(join(tmpdir(), 'seglayer-changes-'));
  copyFileSync(join(PROJECT_ROOT, 'changes/mobile_share_sheet.yml'), join(changesDir, 'mobile_share_sheet.yml'));
  writeFileSync(join(changesDir, 'placebo_release.yml'), PLACEBO);
  const project = await loadTestProject({ SEGLAYER_CHANGES_DIR: changesDir });
  const summary = await runModels(db.knex, db.url, project.models, { select: ['+marts.change_statistics'] });
  expect(summary.results.filter((r) => r.status !== 'success').map((r) => `${r.model}: ${r.error}`)).toEqual([]);
  effects = await writeChangeEffects(db.knex, project.changes);
}, 600_000);
afterAll(() => db?.drop());

const effect = (change: string, metric: string) => {
  const found = effects.find((e) => e.change === change && e.metric === metric);
  if (!found) throw new Error(`no effect for ${change}.${metric}`);
  return found;
};

describe('the planted mobile share sheet', () => {
  it('is analysed on the panel the generator planted, membership as of this build (no history reaches back to 2025)', () => {
    const shared = effect('mobile_share_sheet', 'shared_a_report');
    expect(shared.exposed_n).toBe(truth.release.panelUsers.mobile);
    expect(shared.comparison_n).toBe(truth.release.panelUsers.desktop);
    expect(shared.membership_basis).toBe('current');
  });

  it('gives each group\'s post-period share as the test counts it from the events', async () => {
    const { rows } = await db.knex.raw(
      `with panel as (
         select u.user_key, u.first_device_type from core.dim_users u
         where u.first_seen_at < timestamptz '2025-09-03' and u.first_device_type in ('mobile', 'desktop')
       )
       select p.first_device_type as device, count(*)::int as n,
              count(*) filter (where exists (select 1 from core.fct_events e where e.user_key = p.user_key and e.event = 'report_shared'
                                             and e.occurred_at >= timestamptz '2025-10-01' and e.occurred_at < timestamptz '2025-10-29'))::int as shared
       from panel p group by 1`,
    );
    const by = Object.fromEntries((rows as { device: string; n: number; shared: number }[]).map((r) => [r.device, r]));
    const shared = effect('mobile_share_sheet', 'shared_a_report');
    expect(shared.exposed_post_mean).toBeCloseTo(by.mobile!.shared / by.mobile!.n, 12);
    expect(shared.comparison_post_mean).toBeCloseTo(by.desktop!.shared / by.desktop!.n, 12);
  });

  it('has a significant DiD on mobile whose 95% CI covers the planted effect, with parallel pre-trends', () => {
    const shared = effect('mobile_share_sheet', 'shared_a_report');
    const planted = truth.release.effectOnExposed;
    expect(planted).toBeGreaterThan(0.05);
    expect(shared.is_significant).toBe(true);
    expect(shared.did_p_value!).toBeLessThan(0.001);
    expect(shared.did_ci_lower!).toBeLessThanOrEqual(planted);
    expect(shared.did_ci_upper!).toBeGreaterThanOrEqual(planted);
    expect(shared.parallel_trends).toBe('holds');
    expect(shared.trend_weeks).toBe(4);
    expect(shared.trend_ci_lower!).toBeLessThanOrEqual(0);
    expect(shared.trend_ci_upper!).toBeGreaterThanOrEqual(0);
    expect(shared.note).toBeNull();
    expect(effect('mobile_share_sheet', 'reports_shared').is_significant).toBe(true);
  });
});

describe('a placebo release where nothing happened', () => {
  it('is not significant, its CI covering 0, on the same metrics', () => {
    for (const metric of ['shared_a_report', 'reports_shared']) {
      const placebo = effect('placebo_release', metric);
      expect(placebo.exposed_n, metric).toBeGreaterThan(200);
      expect(placebo.is_significant, metric).toBe(false);
      expect(placebo.did_ci_lower!, metric).toBeLessThanOrEqual(0);
      expect(placebo.did_ci_upper!, metric).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('seglayer changes', () => {
  const cli = async (...args: string[]) => {
    const { done } = spawnCli(['changes', ...args], { DATABASE_URL: db.url, SEGLAYER_CHANGES_DIR: changesDir, NO_COLOR: '1' });
    return done;
  };

  it('ls lists the changes with their groups and windows', async () => {
    const { code, output: stdout } = await cli('ls');
    expect(code).toBe(0);
    expect(stdout).toMatch(/mobile_share_sheet\s+growth\s+2025-10-01\s+mobile_users\s+desktop_users\s+28 d \/ 28 d/);
    expect(stdout).toMatch(/placebo_release/);
  });

  it('report prints n, pre, post, the DiD with its CI, p and the parallel-trends verdict', async () => {
    const { code, output: stdout } = await cli('report', 'mobile_share_sheet');
    expect(code).toBe(0);
    const shared = effect('mobile_share_sheet', 'shared_a_report');
    expect(stdout).toContain('Native share sheet on mobile');
    expect(stdout).toContain(`n ${shared.exposed_n}`);
    expect(stdout).toMatch(/shared_a_report .*\+\d+\.\d\d pts \[\+\d+\.\d\d, \+\d+\.\d\d\].*<0\.0001.*holds/);
    const unknown = await cli('report', 'nope');
    expect(unknown.code).toBe(1);
    expect(unknown.output).toMatch(/no change "nope"; known: mobile_share_sheet, placebo_release/);
  });
});
