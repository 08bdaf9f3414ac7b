/**
 * Experiment analysis at scale, beside its floor: one experiment × 3 metrics
 * (binomial, mean with CUPED, ratio) × 12 segments on the demo's
 * onboarding_checklist, timed as the sufficient-statistics SQL pass and the
 * TypeScript statistics, against a single `select count(*)` over the same
 * exposure join (exposures ⋈ events and outcomes within the window) in the same run.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeExperiment, type StatisticsRow } from '../experiments/experiment-analysis.ts';
import { type ExperimentDefinition, experimentSchema } from '../experiments/experiment-definition.ts';
import { experimentStatisticsSql } from '../experiments/experiment-statistics-sql.ts';
import { runModels } from '../models/model-runner.ts';
import { bold, count, dim, say, table } from '../terminal/terminal-output.ts';
import type { TargetResult } from './bench-target.ts';
import { withDemoBenchDatabase } from './bench-demo-data.ts';
import { benchStamp, describeStamp } from './bench-stamp.ts';
import { elapsed } from './build-bench.ts';

export interface ExperimentsBenchOptions {
  users: number;
}

const SEGMENTS = ['mobile_users', 'desktop_users', 'tablet_users', 'first_week_breadth', 'power_users', 'dormant', 'paying_customers', 'young_adults', 'paid_plans', 'north_america', 'europe', 'tech_savvy'];

const EXPERIMENT: ExperimentDefinition = {
  ...experimentSchema.parse({
    name: 'onboarding_checklist',
    title: 'Onboarding checklist (bench)',
    hypothesis: 'Benchmark shape: 3 metrics × 12 segments.',
    owner: 'bench',
    control: 'control',
    variants: [{ name: 'control', weight: 1 }, { name: 'treatment', weight: 1 }],
    window_days: 121,
    metrics: [
      { name: 'upgraded', type: 'binomial', measure: { outcomes: ['upgrade'] } },
      { name: 'page_views', type: 'mean', measure: { events: ['page_viewed'] }, cuped: true },
      { name: 'features_per_session', type: 'ratio', numerator: { events: ['feature_used'] }, denominator: { events: ['feature_used', 'page_viewed'], value: 'sessions' } },
    ],
    segments: SEGMENTS,
  }),
  file: '(bench)',
};

const RELATIONS = { assignments: 'core.fct_experiment_assignments', outcomes: 'core.fct_outcomes', events: 'core.fct_events', membership: 'segments.current_membership' };

export async function runExperimentsBench(options: ExperimentsBenchOptions): Promise<TargetResult[]> {
  // Data and the models the analysis reads are built once per user count and kept: reruns measure the analysis only.
  await withDemoBenchDatabase('experiments', options.users, async ({ config, url, knex, models }) => {
    const built = (await knex.raw(`select to_regclass('segments.current_membership') is not null and to_regclass('core.fct_experiment_assignments') is not null as ok`)).rows[0].ok;
    if (!built) {
      say(dim('building core, features and segments once ...'));
      const summary = await runModels(knex, url, models, { select: ['+segments.current_membership', '+core.fct_experiment_assignments', '+core.fct_events', '+core.fct_outcomes'] });
      if (!summary.ok) throw new Error(`bench build failed: ${summary.results.filter((r) => r.status !== 'success').map((r) => `${r.model}: ${r.error}`).join('; ')}`);
    }
    const exposed = Number((await knex.raw(`select count(*) from core.fct_experiment_assignments where experiment = ?`, [EXPERIMENT.name])).rows[0].count);

    // The floor: one pass over the exposure join the statistics read, counting rows and nothing else.
    const window = `r.occurred_at >= e.assigned_at - make_interval(days => ?) and r.occurred_at < e.assigned_at + make_interval(days => ?)`;
    const floorSql = `select (select count(*) from core.fct_experiment_assignments e join core.fct_events r on r.user_key = e.user_key and ${window} where e.experiment = ?)
                           + (select count(*) from core.fct_outcomes r join core.fct_experiment_assignments e on r.user_key = e.user_key and ${window} where e.experiment = ?) as n`;
    const floorBindings = [EXPERIMENT.window_days, EXPERIMENT.window_days, EXPERIMENT.name, EXPERIMENT.window_days, EXPERIMENT.window_days, EXPERIMENT.name];
    const statistics = experimentStatisticsSql(EXPERIMENT, RELATIONS);

    let joinedRows = 0;
    let rows: StatisticsRow[] = [];
    const floorRuns: number[] = [];
    const statisticsRuns: number[] = [];
    const analysisRuns: number[] = [];
    await knex.raw(floorSql, floorBindings as never); // warm the cache for both contenders
    for (let run = 0; run < 2; run++) {
      floorRuns.push(await elapsed(async () => {
        joinedRows = Number((await knex.raw(floorSql, floorBindings as never)).rows[0].n);
      }));
      statisticsRuns.push(await elapsed(async () => {
        rows = (await knex.raw(statistics.sql, statistics.bindings as never)).rows as StatisticsRow[];
      }));
      analysisRuns.push(await elapsed(async () => {
        analyzeExperiment(EXPERIMENT, rows, { multiple_variants: 0, unknown_variant: 0 });
      }));
    }
    const floor = Math.min(...floorRuns);
    const sql = Math.min(...statisticsRuns);
    const ts = Math.min(...analysisRuns);
    const results = analyzeExperiment(EXPERIMENT, rows, { multiple_variants: 0, unknown_variant: 0 });

    say(dim(describeStamp(benchStamp())));
    say(bold(`\nexperiments: 1 experiment × ${EXPERIMENT.metrics.length} metrics × ${SEGMENTS.length} segments (+ all users), ${count(exposed)} exposed users, ${count(joinedRows)} joined rows`));
    say(table([
      ['run (best of 2)', 'seconds', 'ratio to count(*) floor'],
      ['select count(*) over the exposure join (floor)', floor.toFixed(2), '1.00'],
      [`sufficient statistics, one SQL pass (${rows.length} rows)`, sql.toFixed(2), (sql / floor).toFixed(2)],
      [`final statistics in TypeScript (${results.length} results)`, ts.toFixed(3), (ts / floor).toFixed(3)],
      ['statistics + analysis', (sql + ts).toFixed(2), ((sql + ts) / floor).toFixed(2)],
    ]));
    say(dim('2 cores, noisy machine: compare ratios, not seconds, between runs.'));
    writeFileSync(join(config.homeDir, 'bench', `experiments-${options.users}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`),
      JSON.stringify({ ...benchStamp(), users: options.users, exposed, joinedRows, floorRuns, statisticsRuns, analysisRuns, statisticsRows: rows.length, results: results.length }, null, 2));
  });
  return []; // no target in the issue: the figures are context
}
