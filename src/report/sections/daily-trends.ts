/**
 * Daily trends: active users and events per day (user_activity), net revenue and paying
 * users per day (revenue), over the last 90 days that have data.
 */
import { renderChart } from '../chart-svg.ts';
import { count, fmt, missingMembers, num, type ReportSection, type SectionOutput } from '../report-section.ts';

const DAYS = 90;
const day = (value: unknown) => String(value ?? '').slice(0, 10);

export const dailyTrends: ReportSection = {
  id: 'daily-trends',
  title: 'Daily trends',
  description: `Active users and net revenue per day over the last ${DAYS} days with data.`,
  requires: ['user_activity.active_users', 'user_activity.occurred_at'],
  async render({ api, meta }): Promise<SectionOutput> {
    const output: SectionOutput = { charts: [], tables: [], notes: [] };
    const activity = (await api.load({
      measures: ['user_activity.active_users', 'user_activity.count'],
      timeDimensions: [{ dimension: 'user_activity.occurred_at', granularity: 'day' }],
      order: { 'user_activity.occurred_at': 'desc' }, limit: DAYS,
    })).reverse();
    if (activity.length === 0) {
      output.notes.push('No events for this token.');
      return output;
    }
    const [overall] = await api.load({ measures: ['user_activity.active_users'], timeDimensions: [{ dimension: 'user_activity.occurred_at', dateRange: [day(activity[0]?.['user_activity.occurred_at.day']), day(activity.at(-1)?.['user_activity.occurred_at.day'])] }] });
    const users = num(overall?.['user_activity.active_users']);
    const days = activity.map((r) => day(r['user_activity.occurred_at.day']));
    output.charts.push(renderChart('Active users per day', `n = ${count(users)} distinct active users over ${count(days.length)} days`, {
      grid: { left: 80, right: 40, top: 80, bottom: 60 },
      xAxis: { type: 'category', data: days, name: 'Day (UTC)', nameLocation: 'middle', nameGap: 35 },
      yAxis: { type: 'value', name: 'Active users', nameLocation: 'middle', nameGap: 55 },
      series: [{ type: 'line', name: 'Active users', showSymbol: false, data: activity.map((r) => num(r['user_activity.active_users'])) }],
    }));
    output.tables.push({ id: 'daily-activity', caption: 'Active users and events per day', columns: ['Day', 'Active users', 'Events'], rows: activity.map((r, i) => [days[i]!, num(r['user_activity.active_users']), num(r['user_activity.count'])]) });
    if (missingMembers(meta, ['revenue.net_revenue', 'revenue.paying_users', 'revenue.occurred_at']).length > 0) {
      output.notes.push('Revenue per day: not available to this token (view revenue).');
      return output;
    }
    const revenue = await api.load({
      measures: ['revenue.net_revenue', 'revenue.paying_users'],
      timeDimensions: [{ dimension: 'revenue.occurred_at', granularity: 'day', dateRange: [days[0]!, days.at(-1)!] }],
      order: { 'revenue.occurred_at': 'asc' }, limit: 5000,
    });
    const payers = revenue.reduce((n, r) => n + num(r['revenue.paying_users']), 0);
    output.charts.push(renderChart('Net revenue per day (USD)', `n = ${count(payers)} paying user-days over ${count(revenue.length)} days`, {
      grid: { left: 80, right: 40, top: 80, bottom: 60 },
      xAxis: { type: 'category', data: revenue.map((r) => day(r['revenue.occurred_at.day'])), name: 'Day (UTC)', nameLocation: 'middle', nameGap: 35 },
      yAxis: { type: 'value', name: 'Net revenue (USD)', nameLocation: 'middle', nameGap: 60 },
      series: [{ type: 'bar', name: 'Net revenue', data: revenue.map((r) => num(r['revenue.net_revenue'])), itemStyle: { color: '#009E73' } }],
    }));
    output.tables.push({ id: 'daily-revenue', caption: 'Net revenue and paying users per day', columns: ['Day', 'Net revenue (USD)', 'Paying users'], rows: revenue.map((r) => [day(r['revenue.occurred_at.day']), fmt(num(r['revenue.net_revenue'])), num(r['revenue.paying_users'])]) });
    return output;
  },
};
