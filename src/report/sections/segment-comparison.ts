/**
 * Segment comparison: for every segment, its size, revenue per user with a 95% interval
 * (Student t from n, Σx, Σx²) and conversion with a Wilson interval, and the relative lift
 * of revenue per user over all other users (Welch, delta method; src/stats segmentLift).
 * Reads user_value with one query per segment column; the rest of the users are the
 * column's other rows, so segment and rest are disjoint as the comparison requires.
 */
import { StatisticsError, meanInterval, segmentLift, summarizeMean, wilsonInterval } from '../../stats/index.ts';
import { intervalSeries, renderChart } from '../chart-svg.ts';
import { count, fmt, missingMembers, num, type ReportSection, type SectionOutput } from '../report-section.ts';

const MEASURES = ['user_value.count', 'user_value.paying_users', 'user_value.total_revenue', 'user_value.revenue_sum_of_squares'];

export interface SegmentFigures {
  segment: string;
  definition: string;
  n: number;
  paying: number;
  revenue: number;
  revenuePerUser: { estimate: number; lower: number; upper: number };
  conversion: { estimate: number; lower: number; upper: number };
  lift: { estimate: number; lower: number; upper: number } | null;
}

type Group = { n: number; paying: number; sum: number; squares: number };
const add = (a: Group, b: Group): Group => ({ n: a.n + b.n, paying: a.paying + b.paying, sum: a.sum + b.sum, squares: a.squares + b.squares });
const minus = (a: Group, b: Group): Group => ({ n: a.n - b.n, paying: a.paying - b.paying, sum: a.sum - b.sum, squares: a.squares - b.squares });

export function segmentFigures(segment: string, definition: string, group: Group, rest: Group): SegmentFigures {
  const value = group.n >= 2 ? meanInterval({ n: group.n, sum: group.sum, sum_squares: group.squares }) : null;
  const conversion = wilsonInterval({ n: group.n, successes: group.paying });
  let lift: SegmentFigures['lift'] = null;
  if (group.n >= 2 && rest.n >= 2 && rest.sum > 0) {
    try {
      const { relative_lift } = segmentLift(summarizeMean({ n: group.n, sum: group.sum, sum_squares: group.squares }), summarizeMean({ n: rest.n, sum: rest.sum, sum_squares: rest.squares }));
      lift = { estimate: relative_lift.effect, lower: relative_lift.ci_lower, upper: relative_lift.ci_upper };
    } catch (error) {
      // No variation in either group (e.g. nobody paid): no lift to estimate; shown as –.
      if (!(error instanceof StatisticsError)) throw error;
    }
  }
  return {
    segment, definition, n: group.n, paying: group.paying, revenue: group.sum,
    revenuePerUser: { estimate: group.sum / group.n, lower: value?.ci_lower ?? NaN, upper: value?.ci_upper ?? NaN },
    conversion: { estimate: conversion.estimate, lower: conversion.ci_lower, upper: conversion.ci_upper },
    lift,
  };
}

export const segmentComparison: ReportSection = {
  id: 'segment-comparison',
  title: 'Segment comparison',
  description: 'Size, revenue per user and conversion of every segment, each with its 95% confidence interval, and the relative lift of revenue per user over all other users.',
  requires: MEASURES,
  async render({ api, meta, segmentColumns }): Promise<SectionOutput> {
    const figures: SegmentFigures[] = [];
    let users = 0;
    const notes: string[] = [];
    const columns = segmentColumns.filter((c) => missingMembers(meta, [`user_value.${c.column}`]).length === 0);
    if (columns.length < segmentColumns.length) notes.push(`Not shown (not visible to this token): ${segmentColumns.filter((c) => !columns.includes(c)).map((c) => c.title).join(', ')}.`);
    for (const column of columns) {
      const member = `user_value.${column.column}`;
      const rows = await api.load({ measures: MEASURES, dimensions: [member], limit: 1000 });
      const groups = rows.map((row) => ({
        key: row[member],
        group: { n: num(row['user_value.count']), paying: num(row['user_value.paying_users']), sum: num(row['user_value.total_revenue']), squares: num(row['user_value.revenue_sum_of_squares']) },
      }));
      const all = groups.reduce((total, g) => add(total, g.group), { n: 0, paying: 0, sum: 0, squares: 0 });
      users = Math.max(users, all.n);
      for (const { key, group } of groups) {
        if (column.type === 'boolean' ? key !== true && key !== 'true' : key === null) continue;
        const label = column.type === 'boolean' ? column.title : `${column.title}: ${String(key)}`;
        if (group.n > 0) figures.push(segmentFigures(label, column.definition, group, minus(all, group)));
      }
    }
    if (figures.length === 0) return { charts: [], tables: [], notes: [...notes, 'No segment has members for this token.'] };
    const labels = figures.map((f) => `${f.segment} (n=${count(f.n)})`);
    const height = Math.max(360, 60 + figures.length * 26);
    const grid = { left: 260, right: 40, top: 70, bottom: 50 };
    const charts = [
      renderChart('Segment size', `n = ${count(users)} users; ${count(figures.length)} segments, n of each in its label`, {
        grid, yAxis: { type: 'category', data: labels, inverse: true }, xAxis: { type: 'value', name: 'Users', nameLocation: 'middle', nameGap: 30 },
        series: [{ type: 'bar', name: 'Users', data: figures.map((f) => f.n) }],
      }, { height }),
      renderChart('Revenue per user (USD), with 95% CI', `n = ${count(users)} users; n of each segment in its label; Student t interval`, {
        grid, yAxis: { type: 'category', data: labels, inverse: true }, xAxis: { type: 'value', name: 'Net revenue per user (USD)', nameLocation: 'middle', nameGap: 30 },
        series: [
          { type: 'bar', name: 'Revenue per user', data: figures.map((f) => f.revenuePerUser.estimate), itemStyle: { color: '#56B4E9' } },
          intervalSeries('95% CI', figures.map((f, i) => [i, f.revenuePerUser.lower, f.revenuePerUser.upper]).filter(([, l]) => Number.isFinite(l)) as [number, number, number][], { horizontal: true }),
        ],
      }, { height }),
      renderChart('Lift of revenue per user over all other users, with 95% CI', `n = ${count(users)} users; n of each segment in its label; Welch, delta method for the ratio`, {
        grid, yAxis: { type: 'category', data: labels, inverse: true },
        xAxis: { type: 'value', name: 'Relative lift (%)', nameLocation: 'middle', nameGap: 30 },
        series: [
          { type: 'scatter', name: 'Lift', symbolSize: 9, itemStyle: { color: '#D55E00' }, data: figures.map((f, i) => [f.lift ? f.lift.estimate * 100 : null, i]), markLine: { silent: true, symbol: 'none', data: [{ xAxis: 0 }], lineStyle: { color: '#000000', type: 'dashed' }, label: { show: false } } },
          intervalSeries('95% CI', figures.flatMap((f, i) => (f.lift && Number.isFinite(f.lift.lower) ? [[i, f.lift.lower * 100, f.lift.upper * 100] as [number, number, number]] : [])), { horizontal: true }),
        ],
      }, { height }),
    ];
    return {
      charts,
      notes,
      tables: [{
        id: 'segment-comparison',
        caption: 'Segments: users, revenue per user and conversion with 95% CI, lift of revenue per user over all other users',
        columns: ['Segment', 'Definition', 'Users (n)', 'Revenue per user (USD)', '95% CI', 'Conversion (%)', '95% CI', 'Lift (%)', '95% CI'],
        rows: figures.map((f) => [
          f.segment, f.definition, f.n, fmt(f.revenuePerUser.estimate), `${fmt(f.revenuePerUser.lower)} – ${fmt(f.revenuePerUser.upper)}`,
          fmt(f.conversion.estimate * 100, 1), `${fmt(f.conversion.lower * 100, 1)} – ${fmt(f.conversion.upper * 100, 1)}`,
          f.lift ? fmt(f.lift.estimate * 100, 1) : '–', f.lift ? `${fmt(f.lift.lower * 100, 1)} – ${fmt(f.lift.upper * 100, 1)}` : '–',
        ]),
      }],
    };
  },
};
