/**
 * Top paths to an outcome against paths that stall (view segment_paths, issue 14): the
 * share of converting and stalled users taking each path, with its n.
 */
import { renderChart } from '../chart-svg.ts';
import { count, fmt, num, queryOf, type ReportSection, type SectionOutput } from '../report-section.ts';

const m = (name: string) => `segment_paths.${name}`;
const TOP = 10;

export const topPaths: ReportSection = {
  id: 'paths',
  title: 'Paths to an outcome vs stalled',
  description: `The ${TOP} most common event paths before an outcome, with their share among users who reached it and among those who stalled.`,
  requires: ['path', 'outcome', 'definition', 'converted_users', 'stalled_users', 'share_converted', 'share_stalled'].map(m),
  async render({ api, meta }): Promise<SectionOutput> {
    // Paths of all users (definition "all"); per-segment rows are in the view for drilling down.
    const rows = await api.load(queryOf(meta, [m('outcome'), m('path'), m('converted_users'), m('stalled_users'), m('share_converted'), m('share_stalled')], {
      filters: [{ member: m('definition'), operator: 'equals', values: ['all'] }], order: { [m('converted_users')]: 'desc' }, limit: TOP,
    }));
    if (rows.length === 0) return { charts: [], tables: [], notes: ['No paths for this token.'] };
    const labels = rows.map((r) => String(r[m('path')]));
    const reached = rows.reduce((n, r) => n + num(r[m('converted_users')]), 0);
    const stalled = rows.reduce((n, r) => n + num(r[m('stalled_users')]), 0);
    const chart = renderChart('Share of users taking each path (%)', `n = ${count(reached)} reached, ${count(stalled)} stalled (top ${TOP} paths)`, {
      grid: { left: 320, right: 40, top: 90, bottom: 50 }, legend: { top: 50, data: ['Reached the outcome', 'Stalled'] },
      yAxis: { type: 'category', data: labels, inverse: true }, xAxis: { type: 'value', name: 'Share of users (%)', nameLocation: 'middle', nameGap: 30 },
      series: [
        { type: 'bar', name: 'Reached the outcome', data: rows.map((r) => num(r[m('share_converted')]) * 100) },
        { type: 'bar', name: 'Stalled', data: rows.map((r) => num(r[m('share_stalled')]) * 100) },
      ],
    }, { height: 120 + rows.length * 40 });
    return {
      charts: [chart], notes: [],
      tables: [{ id: 'paths', caption: 'Top paths', columns: ['Outcome', 'Path', 'Reached (n)', 'Stalled (n)', 'Reached (%)', 'Stalled (%)'],
        rows: rows.map((r) => [String(r[m('outcome')]), String(r[m('path')]), num(r[m('converted_users')]), num(r[m('stalled_users')]), fmt(num(r[m('share_converted')]) * 100, 1), fmt(num(r[m('share_stalled')]) * 100, 1)]) }],
    };
  },
};
