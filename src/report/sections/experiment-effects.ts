/**
 * Experiment effects per segment (view experiment_results, issue 15): a forest plot of each
 * experiment's relative effect with its 95% interval, one row per segment, with n.
 */
import { intervalSeries, renderChart } from '../chart-svg.ts';
import { count, fmt, num, queryOf, type ReportSection, type SectionOutput } from '../report-section.ts';

const m = (name: string) => `experiment_results.${name}`;

export const experimentEffects: ReportSection = {
  id: 'experiments',
  title: 'Experiment effects per segment',
  description: 'Each experiment’s effect per segment with its 95% confidence interval (forest plot); dashed line: no effect.',
  requires: ['experiment', 'metric', 'segment', 'effect', 'ci_lower', 'ci_upper', 'control_n', 'treatment_n'].map(m),
  async render({ api, meta }): Promise<SectionOutput> {
    const rows = await api.load(queryOf(meta, [m('experiment'), m('metric'), m('segment'), m('effect'), m('ci_lower'), m('ci_upper'), m('control_n'), m('treatment_n')], { limit: 2000 }));
    const output: SectionOutput = { charts: [], tables: [], notes: rows.length === 0 ? ['No experiment results for this token.'] : [] };
    for (const key of [...new Set(rows.map((r) => `${r[m('experiment')]} · ${r[m('metric')]}`))]) {
      const own = rows.filter((r) => `${r[m('experiment')]} · ${r[m('metric')]}` === key);
      const n = (r: (typeof own)[number]) => num(r[m('control_n')]) + num(r[m('treatment_n')]);
      const labels = own.map((r) => `${r[m('segment')]} (n=${count(n(r))})`);
      output.charts.push(renderChart(`Effect of ${key}, with 95% CI`, `n = ${count(own.reduce((t, r) => t + n(r), 0))} users (control + treatment)`, {
        grid: { left: 240, right: 40, top: 70, bottom: 50 },
        yAxis: { type: 'category', data: labels, inverse: true }, xAxis: { type: 'value', name: 'Effect', nameLocation: 'middle', nameGap: 30 },
        series: [
          { type: 'scatter', name: 'Effect', symbolSize: 9, data: own.map((r, i) => [num(r[m('effect')]), i]), markLine: { silent: true, symbol: 'none', data: [{ xAxis: 0 }], lineStyle: { color: '#000000', type: 'dashed' }, label: { show: false } } },
          intervalSeries('95% CI', own.map((r, i) => [i, num(r[m('ci_lower')]), num(r[m('ci_upper')])] as [number, number, number]), { horizontal: true }),
        ],
      }, { height: 120 + own.length * 32 }));
      output.tables.push({ id: `experiment-${key}`, caption: key, columns: ['Segment', 'n', 'Effect', '95% CI'], rows: own.map((r) => [String(r[m('segment')]), n(r), fmt(num(r[m('effect')]), 4), `${fmt(num(r[m('ci_lower')]), 4)} – ${fmt(num(r[m('ci_upper')]), 4)}`]) });
    }
    return output;
  },
};
