/**
 * The data-quality checks run by `seglayer test` and at the end of `seglayer build`:
 * source freshness and volume anomalies, recorded in ops.test_results under the run's id
 * (model `source:raw.events`, test `freshness(occurred_at)` or `volume(app_opened)`).
 */
import type { Knex } from 'knex';
import type { Config } from '../config.ts';
import type { QualityResult } from './quality-result.ts';
import { checkFreshness } from './source-freshness.ts';
import { checkVolume } from './volume-anomalies.ts';

export type { QualityResult } from './quality-result.ts';

export async function runQualityChecks(knex: Knex, config: Config, runId: string): Promise<QualityResult[]> {
  const results = [
    ...(await checkFreshness(knex, { warnAfter: config.SEGLAYER_FRESHNESS_WARN_AFTER, errorAfter: config.SEGLAYER_FRESHNESS_ERROR_AFTER })),
    ...(await checkVolume(knex, { threshold: config.SEGLAYER_VOLUME_THRESHOLD, severity: config.SEGLAYER_VOLUME_SEVERITY })),
  ];
  await knex('ops.test_results').insert(results.map((r) => ({
    run_id: runId, model: `source:${r.source}`, test: `${r.check}(${r.subject})`, column_name: r.check === 'freshness' ? r.subject : null,
    status: r.status, failures: r.failures, message: r.message,
  })));
  return results;
}
