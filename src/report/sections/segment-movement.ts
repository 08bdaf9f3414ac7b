/**
 * Segment movement: entries into and exits from segments per day (segment_movements),
 * and a Sankey of moves between the segments of one definition (segment_transitions:
 * RFM bands, clusters), for the definition with the most moves.
 */
import { renderChart } from '../chart-svg.ts';
import { count, missingMembers, num, type ReportSection, type SectionOutput } from '../report-section.ts';

const day = (value: unknown) => String(value ?? '').slice(0, 10);

export const segmentMovement: ReportSection = {
  id: 'segment-movement',
  title: 'Segment movement over time',
  description: 'How many users entered and left segments on each build day, and where users of one definition moved (from segment → to segment).',
  requires: ['segment_movements.entries', 'segment_movements.exits', 'segment_movements.changed_at'],
  async render({ api, meta }): Promise<SectionOutput> {
    const output: SectionOutput = { charts: [], tables: [], notes: [] };
    const rows = await api.load({
      measures: ['segment_movements.entries', 'segment_movements.exits'],
      timeDimensions: [{ dimension: 'segment_movements.changed_at', granularity: 'day' }],
      order: { 'segment_movements.changed_at': 'asc' }, limit: 5000,
    });
    const days = rows.map((r) => day(r['segment_movements.changed_at.day']));
    const entries = rows.map((r) => num(r['segment_movements.entries']));
    const exits = rows.map((r) => num(r['segment_movements.exits']));
    const total = entries.reduce((a, b) => a + b, 0) + exits.reduce((a, b) => a + b, 0);
    if (rows.length === 0) output.notes.push('No segment changes recorded yet.');
    else {
      output.charts.push(renderChart('Entries and exits per day', `n = ${count(total)} changes (entries + exits) on ${count(rows.length)} days`, {
        grid: { left: 80, right: 40, top: 80, bottom: 60 },
        legend: { top: 50, data: ['Entries', 'Exits'] },
        xAxis: { type: 'category', data: days, name: 'Build day (UTC)', nameLocation: 'middle', nameGap: 35 },
        yAxis: { type: 'value', name: 'Users', nameLocation: 'middle', nameGap: 55 },
        series: [
          { type: 'bar', name: 'Entries', stack: 'changes', data: entries },
          { type: 'bar', name: 'Exits', stack: 'changes', data: exits.map((v) => -v) },
        ],
      }));
      output.tables.push({ id: 'segment-movement', caption: 'Entries and exits per day', columns: ['Day', 'Entries', 'Exits'], rows: days.map((d, i) => [d, entries[i]!, exits[i]!]) });
    }
    if (missingMembers(meta, ['segment_transitions.moves', 'segment_transitions.from_segment', 'segment_transitions.to_segment', 'segment_transitions.definition']).length > 0) {
      output.notes.push('Transitions between segments: not available to this token (view segment_transitions).');
      return output;
    }
    const moves = await api.load({ measures: ['segment_transitions.moves'], dimensions: ['segment_transitions.definition', 'segment_transitions.from_segment', 'segment_transitions.to_segment'], limit: 5000 });
    const byDefinition = new Map<string, number>();
    for (const m of moves) byDefinition.set(String(m['segment_transitions.definition']), (byDefinition.get(String(m['segment_transitions.definition'])) ?? 0) + num(m['segment_transitions.moves']));
    const [definition] = [...byDefinition.entries()].sort((a, b) => b[1] - a[1])[0] ?? [];
    if (!definition) {
      output.notes.push('No user has moved between segments yet: transitions appear once a later build reassigns users.');
      return output;
    }
    const links = moves.filter((m) => m['segment_transitions.definition'] === definition && m['segment_transitions.from_segment'] !== m['segment_transitions.to_segment']).map((m) => ({
      source: `from ${m['segment_transitions.from_segment']}`, target: `to ${m['segment_transitions.to_segment']}`, value: num(m['segment_transitions.moves']),
    }));
    const nodes = [...new Set(links.flatMap((l) => [l.source, l.target]))].map((name) => ({ name }));
    output.charts.push(renderChart(`Moves between segments of "${definition}"`, `n = ${count(byDefinition.get(definition)!)} moves`, {
      series: [{ type: 'sankey', top: 70, bottom: 20, left: 40, right: 120, data: nodes, links, emphasis: { focus: 'adjacency' }, lineStyle: { color: 'source', opacity: 0.4 }, label: { color: '#000' } }],
    }));
    output.tables.push({ id: 'segment-transitions', caption: `Moves between segments of "${definition}"`, columns: ['From', 'To', 'Users'], rows: links.map((l) => [l.source.slice(5), l.target.slice(3), l.value]) });
    return output;
  },
};
