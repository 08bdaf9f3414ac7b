/**
 * Funnel per segment (view funnel_steps, issue 14): users reaching each step, per segment
 * of the funnel's breakdown. Members as the funnel_steps view names them.
 */
import { renderChart } from '../chart-svg.ts';
import { count, num, queryOf, type ReportSection, type SectionOutput } from '../report-section.ts';

const m = (name: string) => `funnel_steps.${name}`;

export const funnelSteps: ReportSection = {
  id: 'funnel',
  title: 'Funnel per segment',
  description: 'Users reaching each step of each funnel, by segment.',
  requires: ['funnel', 'step_number', 'step_title', 'segment', 'users'].map(m),
  async render({ api, meta }): Promise<SectionOutput> {
    const rows = await api.load(queryOf(meta, [m('funnel'), m('step_number'), m('step_title'), m('segment'), m('users')], { limit: 5000 }));
    const output: SectionOutput = { charts: [], tables: [], notes: [] };
    for (const funnel of [...new Set(rows.map((r) => String(r[m('funnel')])))]) {
      const own = rows.filter((r) => String(r[m('funnel')]) === funnel);
      const steps = [...new Map(own.map((r) => [num(r[m('step_number')]), String(r[m('step_title')])])).entries()].sort((a, b) => a[0] - b[0]);
      const segments = [...new Set(own.map((r) => String(r[m('segment')])))];
      const usersAt = (segment: string, step: number) => num(own.find((r) => String(r[m('segment')]) === segment && num(r[m('step_number')]) === step)?.[m('users')]);
      const entered = segments.reduce((n, s) => n + usersAt(s, steps[0]![0]), 0);
      output.charts.push(renderChart(`Funnel "${funnel}": users reaching each step`, `n = ${count(entered)} users at the first step`, {
        grid: { left: 80, right: 40, top: 90, bottom: 70 },
        legend: { top: 50, data: segments.map((s) => `${s} (n=${count(usersAt(s, steps[0]![0]))})`) },
        xAxis: { type: 'category', data: steps.map(([, name]) => name), name: 'Step', nameLocation: 'middle', nameGap: 40 },
        yAxis: { type: 'value', name: 'Users', nameLocation: 'middle', nameGap: 55 },
        series: segments.map((s) => ({ type: 'bar', name: `${s} (n=${count(usersAt(s, steps[0]![0]))})`, data: steps.map(([n]) => usersAt(s, n)) })),
      }));
      output.tables.push({ id: `funnel-${funnel}`, caption: `Funnel "${funnel}"`, columns: ['Segment', 'Step', 'Users'], rows: segments.flatMap((s) => steps.map(([n, name]) => [s, name, usersAt(s, n)])) });
    }
    if (rows.length === 0) output.notes.push('No funnel rows for this token.');
    return output;
  },
};
