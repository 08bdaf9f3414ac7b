/**
 * Cohort retention heatmap (view cohort_retention, issue 14): monthly cohorts of first
 * activity (any event) against months since, for all users; the share still active.
 */
import { SEQUENTIAL, renderChart } from '../chart-svg.ts';
import { count, fmt, num, queryOf, type ReportSection, type SectionOutput } from '../report-section.ts';

const V = 'cohort_retention';
const m = (name: string) => `${V}.${name}`;

export const cohortRetention: ReportSection = {
  id: 'cohort-retention',
  title: 'Cohort retention',
  description: 'Share of each monthly cohort (by first event) active again N months later, all users.',
  requires: ['cohort_grain', 'cohort_start', 'period_number', 'activity', 'segment_definition', 'segment', 'cohort_users', 'active_users', 'retention_rate'].map(m),
  async render({ api, meta }): Promise<SectionOutput> {
    const rows = await api.load(queryOf(meta, [m('cohort_start'), m('period_number'), m('cohort_users'), m('active_users'), m('retention_rate')], {
      filters: [
        { member: m('cohort_grain'), operator: 'equals', values: ['month'] },
        { member: m('activity'), operator: 'equals', values: ['any_event'] },
        { member: m('segment_definition'), operator: 'equals', values: ['all'] },
      ],
      limit: 5000,
    }));
    if (rows.length === 0) return { charts: [], tables: [], notes: ['No cohorts for this token.'] };
    const cohorts = [...new Set(rows.map((r) => String(r[m('cohort_start')]).slice(0, 7)))].sort();
    const periods = [...new Set(rows.map((r) => num(r[m('period_number')])))].sort((a, b) => a - b);
    const sizes = new Map(rows.filter((r) => num(r[m('period_number')]) === 0).map((r) => [String(r[m('cohort_start')]).slice(0, 7), num(r[m('cohort_users')])]));
    const users = [...sizes.values()].reduce((a, b) => a + b, 0);
    const data = rows.map((r) => [periods.indexOf(num(r[m('period_number')])), cohorts.indexOf(String(r[m('cohort_start')]).slice(0, 7)), Math.round(num(r[m('retention_rate')]) * 1000) / 10]);
    const chart = renderChart('Monthly cohort retention (%)', `n = ${count(users)} users in ${count(cohorts.length)} cohorts`, {
      grid: { left: 140, right: 90, top: 80, bottom: 60 },
      xAxis: { type: 'category', data: periods.map(String), name: 'Months since first activity', nameLocation: 'middle', nameGap: 35 },
      yAxis: { type: 'category', data: cohorts.map((c) => `${c} (n=${count(sizes.get(c) ?? 0)})`), name: 'Cohort', inverse: true },
      visualMap: { min: 0, max: 100, calculable: false, orient: 'vertical', right: 10, top: 'middle', inRange: { color: SEQUENTIAL }, text: ['100%', '0%'] },
      series: [{ type: 'heatmap', data, label: { show: cohorts.length * periods.length <= 300, fontSize: 10, color: '#fff' } }],
    }, { height: Math.max(360, 120 + cohorts.length * 24) });
    return {
      charts: [chart], notes: [],
      tables: [{ id: 'cohort-retention', caption: 'Retention by cohort and month', columns: ['Cohort', 'Month', 'Cohort users', 'Active users', 'Retention (%)'],
        rows: rows.map((r) => [String(r[m('cohort_start')]).slice(0, 10), num(r[m('period_number')]), num(r[m('cohort_users')]), num(r[m('active_users')]), fmt(num(r[m('retention_rate')]) * 100, 1)]) }],
    };
  },
};
