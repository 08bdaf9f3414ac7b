/**
 * Source freshness: the newest row of each raw source (by its own time column) against
 * the wall clock. A source that stopped arriving (a broken export, an expired key) shows
 * here before it shows as a quiet drop in every figure. This is a monitoring check, so it
 * reads now(); no figure depends on it.
 */
import type { Knex } from 'knex';
import type { QualityResult } from './quality-result.ts';

/** Raw sources and the column that says when each row happened. */
export const FRESHNESS_SOURCES: Record<string, string> = {
  'raw.events': 'occurred_at',
  'raw.outcomes': 'occurred_at',
  'raw.survey_responses': 'responded_at',
  'raw.experiment_assignments': 'assigned_at',
};

export interface FreshnessSettings {
  /** A span such as 3d: older newest rows are a warning. */
  warnAfter?: string;
  /** A span such as 7d: older newest rows are an error (a non-zero exit). */
  errorAfter?: string;
}

const INTERVAL = (span: string) => span.replace(/^(\d+)\s*([smhdw])$/, (_, n: string, unit: string) => `${n} ${{ s: 'seconds', m: 'minutes', h: 'hours', d: 'days', w: 'weeks' }[unit]}`);

export async function checkFreshness(knex: Knex, settings: FreshnessSettings): Promise<QualityResult[]> {
  const results: QualityResult[] = [];
  for (const [table, column] of Object.entries(FRESHNESS_SOURCES)) {
    const { rows } = await knex.raw(
      `select max(??) as newest, extract(epoch from now() - max(??))::float8 as age_seconds,
              now() - max(??) > ?::interval as past_warn, now() - max(??) > ?::interval as past_error
       from ??`,
      [column, column, column, INTERVAL(settings.warnAfter ?? '100000w'), column, INTERVAL(settings.errorAfter ?? '100000w'), table],
    );
    const { newest, age_seconds: age, past_warn: warn, past_error: error } = rows[0] as { newest: Date | null; age_seconds: number | null; past_warn: boolean; past_error: boolean };
    if (!newest) continue; // a source never loaded has nothing to be fresh about
    const days = (age! / 86_400).toFixed(1);
    const status = error ? 'fail' : warn ? 'warn' : 'pass';
    const limit = error ? settings.errorAfter : settings.warnAfter;
    results.push({
      check: 'freshness', source: table, subject: column, status, failures: status === 'pass' ? 0 : 1,
      message: status === 'pass'
        ? `newest ${column} ${newest.toISOString()} (${days} days old)`
        : `newest ${column} is ${newest.toISOString()}, ${days} days old: older than ${limit}${error ? '' : ' (warning)'}`,
    });
  }
  return results;
}
