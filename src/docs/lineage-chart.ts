/** The lineage graph as SVG (ECharts graph series, fixed layered layout: column = depth). */
import { PALETTE, renderChart, type Chart } from '../report/chart-svg.ts';
import type { Lineage, NodeKind } from './lineage.ts';

const KINDS: { kind: NodeKind; name: string }[] = [
  { kind: 'raw', name: 'Raw table' },
  { kind: 'model', name: 'Model' },
  { kind: 'segment', name: 'Segment definition' },
  { kind: 'cube', name: 'Cube (private)' },
  { kind: 'view', name: 'Cube view (served)' },
];

export function lineageChart(lineage: Lineage): Chart {
  const columns = new Map<number, string[]>();
  for (const node of [...lineage.nodes].sort((a, b) => a.label.localeCompare(b.label))) {
    columns.set(node.depth, [...(columns.get(node.depth) ?? []), node.id]);
  }
  const rows = Math.max(...[...columns.values()].map((c) => c.length));
  const depth = Math.max(...columns.keys());
  const width = Math.max(900, 230 * (depth + 1));
  const height = Math.max(420, 120 + rows * 30);
  const position = new Map<string, [number, number]>();
  for (const [d, ids] of columns) ids.forEach((id, i) => position.set(id, [60 + (d * (width - 200)) / Math.max(depth, 1), 90 + i * 30]));
  return renderChart('Lineage: raw tables → models → segments → Cube cubes → served views', `${lineage.nodes.length} nodes, ${lineage.edges.length} edges`, {
    legend: { top: 50, data: KINDS.map((k) => k.name) },
    series: [{
      type: 'graph', layout: 'none', roam: false, edgeSymbol: ['none', 'arrow'], edgeSymbolSize: 6,
      categories: KINDS.map((k, i) => ({ name: k.name, itemStyle: { color: PALETTE[i] } })),
      label: { show: true, position: 'right', fontSize: 10, color: '#111' },
      lineStyle: { color: '#999', width: 1, opacity: 0.6, curveness: 0.1 },
      data: lineage.nodes.map((n) => ({ id: n.id, name: n.label, x: position.get(n.id)![0], y: position.get(n.id)![1], symbolSize: 8, category: KINDS.findIndex((k) => k.kind === n.kind) })),
      links: lineage.edges.map((e) => ({ source: e.from, target: e.to })),
    }],
  }, { width, height });
}
