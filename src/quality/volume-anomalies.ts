/**
 * Volume anomalies: a day's rows per event name far outside that event's recent range.
 *
 * For each of the last CHECKED_DAYS complete days (the newest day in the data is partial
 * and is left out), the day's count n is compared with the BASELINE_DAYS days before it
 * (days without rows count as 0), robustly, so one earlier spike does not hide the next:
 *
 *   score = (n − median) / max(1.4826 · MAD, √max(median, 1))
 *
 * 1.4826 · MAD estimates the standard deviation of normally distributed counts; the √median
 * floor is the Poisson standard deviation of a count, so a perfectly steady series (MAD 0)
 * does not flag a day for one extra row. A day is anomalous when |score| > threshold and it
 * is at least twice or at most half the median (docs/statistics.md, "Volume anomalies").
 * Days are UTC days of the data's own time column: the check does not read the clock.
 */
import type { Knex } from 'knex';
import type { QualityResult } from './quality-result.ts';

export const CHECKED_DAYS = 7;
export const BASELINE_DAYS = 28;
/** Events averaging fewer rows a day are too thin to call a day unusual. */
const MIN_BASELINE_MEDIAN = 5;

export interface VolumeSettings {
  /** |score| above this flags a day (default 6). */
  threshold: number;
  /** How a flagged day counts: warn (recorded, printed) or fail (a non-zero exit). */
  severity: 'warn' | 'fail';
}

export interface VolumeAnomaly {
  event: string;
  day: string;
  rows: number;
  median: number;
  mad: number;
  score: number;
}

/** Anomalous (event, day) pairs of raw.events; set-based, over the last 35 days of data only. */
export async function findVolumeAnomalies(knex: Knex, threshold: number): Promise<VolumeAnomaly[]> {
  const { rows } = await knex.raw(
    `with bounds as (select (max(occurred_at) at time zone 'UTC')::date as newest_day from raw.events),
     daily as (
       select event, (occurred_at at time zone 'UTC')::date as day, count(*)::int as n
       from raw.events, bounds
       where occurred_at >= (newest_day - (?::int + ?::int))::timestamp at time zone 'UTC'
       group by 1, 2
     ),
     days as (select generate_series(newest_day - (?::int + ?::int), newest_day - 1, interval '1 day')::date as day from bounds),
     grid as (
       select e.event, d.day, coalesce(x.n, 0) as n
       from (select distinct event from daily) e cross join days d left join daily x on x.event = e.event and x.day = d.day
     ),
     checked as (select g.* from grid g, bounds where g.day >= newest_day - ?::int),
     medians as (
       select c.event, c.day, c.n, percentile_cont(0.5) within group (order by b.n) as median
       from checked c join grid b on b.event = c.event and b.day < c.day and b.day >= c.day - ?::int
       group by 1, 2, 3
     ),
     spread as (
       select m.event, m.day, m.n, m.median, percentile_cont(0.5) within group (order by abs(b.n - m.median)) as mad
       from medians m join grid b on b.event = m.event and b.day < m.day and b.day >= m.day - ?::int
       group by 1, 2, 3, 4
     )
     select event, to_char(day, 'YYYY-MM-DD') as day, n as rows, median, mad,
            (n - median) / greatest(1.4826 * mad, sqrt(greatest(median, 1))) as score
     from spread
     where median >= ?::float8
       and abs(n - median) / greatest(1.4826 * mad, sqrt(greatest(median, 1))) > ?::float8
       and (n >= 2 * median or n <= median / 2)
     order by event, day`,
    [CHECKED_DAYS, BASELINE_DAYS, CHECKED_DAYS, BASELINE_DAYS, CHECKED_DAYS, BASELINE_DAYS, BASELINE_DAYS, MIN_BASELINE_MEDIAN, threshold],
  );
  return (rows as VolumeAnomaly[]).map((r) => ({ ...r, median: Number(r.median), mad: Number(r.mad), score: Number(r.score) }));
}

export async function checkVolume(knex: Knex, settings: VolumeSettings): Promise<QualityResult[]> {
  const anomalies = await findVolumeAnomalies(knex, settings.threshold);
  const byEvent = new Map<string, VolumeAnomaly[]>();
  for (const anomaly of anomalies) byEvent.set(anomaly.event, [...(byEvent.get(anomaly.event) ?? []), anomaly]);
  const results: QualityResult[] = [...byEvent].map(([event, days]) => ({
    check: 'volume', source: 'raw.events', subject: event, status: settings.severity, failures: days.length,
    message: days.map((d) => `${d.day}: ${d.rows} rows against a median of ${d.median} (MAD ${d.mad}, score ${d.score.toFixed(1)})`).join('; '),
  }));
  return results.length ? results : [{ check: 'volume', source: 'raw.events', subject: '(all events)', status: 'pass', failures: 0, message: `no day in the last ${CHECKED_DAYS} complete days outside its ${BASELINE_DAYS}-day range` }];
}
