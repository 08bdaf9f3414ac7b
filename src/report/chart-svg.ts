/**
 * Charts as SVG strings, rendered on the server by Apache ECharts (SSR mode): the report is
 * one offline HTML file with no script. One palette for every chart: Okabe & Ito's
 * colour-blind-safe eight (Okabe & Ito 2008, "Color Universal Design"), and viridis for
 * sequential scales (heatmaps), which stays ordered in greyscale and for colour-blind readers.
 */
import * as echarts from 'echarts';

export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];
export const SEQUENTIAL = ['#440154', '#3b528b', '#21918c', '#5ec962', '#fde725'];

export interface Chart {
  title: string;
  /** Sample size shown under the title: every chart says how many users it rests on. */
  sampleSize: string;
  svg: string;
}

/**
 * Renders an ECharts option (without title, palette or animation: added here) to SVG.
 * `sampleSize` becomes the subtitle, e.g. "n = 1,234 users".
 */
export function renderChart(title: string, sampleSize: string, option: echarts.EChartsCoreOption, size: { width?: number; height?: number } = {}): Chart {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: size.width ?? 860, height: size.height ?? 420 });
  try {
    chart.setOption({
      animation: false,
      color: PALETTE,
      textStyle: { fontFamily: 'system-ui, sans-serif', fontSize: 13 },
      title: { text: title, subtext: sampleSize, left: 'center', textStyle: { fontSize: 16 }, subtextStyle: { fontSize: 13, color: '#333' } },
      ...option,
    });
    return { title, sampleSize, svg: chart.renderToSVGString() };
  } finally {
    chart.dispose();
  }
}

/**
 * A custom series drawing a 95% interval as a whisker at each category: `data` holds
 * [categoryIndex, lower, upper] (horizontal: value axis is x).
 */
export function intervalSeries(name: string, data: [number, number, number][], options: { horizontal?: boolean; color?: string } = {}) {
  return {
    type: 'custom',
    name,
    data,
    z: 10,
    renderItem(_params: unknown, api: any) {
      const category = api.value(0);
      const ends = options.horizontal
        ? [api.coord([api.value(1), category]), api.coord([api.value(2), category])]
        : [api.coord([category, api.value(1)]), api.coord([category, api.value(2)])];
      const cap = 6;
      const style = { stroke: options.color ?? '#000000', lineWidth: 1.5 };
      const [a, b] = ends as [[number, number], [number, number]];
      const caps = options.horizontal
        ? [[a[0], a[1] - cap, a[0], a[1] + cap], [b[0], b[1] - cap, b[0], b[1] + cap]]
        : [[a[0] - cap, a[1], a[0] + cap, a[1]], [b[0] - cap, b[1], b[0] + cap, b[1]]];
      return {
        type: 'group',
        children: [
          { type: 'line', shape: { x1: a[0], y1: a[1], x2: b[0], y2: b[1] }, style },
          ...caps.map(([x1, y1, x2, y2]) => ({ type: 'line', shape: { x1, y1, x2, y2 }, style })),
        ],
      };
    },
  };
}
