/**
 * `seglayer report`: one offline HTML file (charts inlined as SVG, no script) and the
 * figures behind it as JSON, from the API with a token.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SegmentColumn } from '../segments/segment-cube.ts';
import { escapeHtml, htmlPage, htmlTable } from '../site/html.ts';
import type { ReportApi } from './report-api.ts';
import { missingMembers, type FigureTable, type ReportSection, type SectionOutput } from './report-section.ts';
import { REPORT_SECTIONS } from './report-sections.ts';

export interface ReportOptions {
  api: ReportApi;
  segmentColumns: SegmentColumn[];
  outDir: string;
  /** Who the token speaks for, printed in the header (e.g. role analyst, region CA). */
  audience: string;
  sections?: ReportSection[];
}

export interface SectionResult {
  id: string;
  title: string;
  status: 'ok' | 'not_available';
  /** Why a section is not available: the members /v1/meta does not list. */
  missing: string[];
  charts: number;
  tables: FigureTable[];
}

export interface ReportResult {
  file: string;
  figuresFile: string;
  sections: SectionResult[];
}

export async function writeReport(options: ReportOptions): Promise<ReportResult> {
  const meta = await options.api.meta();
  const context = { api: options.api, meta, segmentColumns: options.segmentColumns };
  const results: SectionResult[] = [];
  const parts: string[] = [];
  for (const section of options.sections ?? REPORT_SECTIONS) {
    const missing = missingMembers(meta, section.requires);
    const output: SectionOutput = missing.length > 0 ? { charts: [], tables: [], notes: [] } : await section.render(context);
    results.push({ id: section.id, title: section.title, status: missing.length > 0 ? 'not_available' : 'ok', missing, charts: output.charts.length, tables: output.tables });
    parts.push(`<section id="${escapeHtml(section.id)}">
<h2>${escapeHtml(section.title)}</h2>
<p>${escapeHtml(section.description)}</p>
${missing.length > 0 ? `<p class="not-available" data-not-available="${escapeHtml(section.id)}"><strong>Not available:</strong> the API does not offer ${missing.map((m) => `<code>${escapeHtml(m)}</code>`).join(', ')} to this token (the view is not built yet, or the token's role may not see it).</p>` : ''}
${output.notes.map((n) => `<p class="note">${escapeHtml(n)}</p>`).join('\n')}
${output.charts.map((c) => `<figure data-chart="${escapeHtml(c.title)}">${c.svg}<figcaption>${escapeHtml(c.title)} — ${escapeHtml(c.sampleSize)}</figcaption></figure>`).join('\n')}
${output.tables.map((t) => `<details><summary>Figures: ${escapeHtml(t.caption)}</summary>${htmlTable(t.columns, t.rows, { id: t.id, caption: t.caption })}</details>`).join('\n')}
</section>`);
  }
  const nav = `<nav>${results.map((r) => `<a href="#${escapeHtml(r.id)}">${escapeHtml(r.title)}</a>`).join('')}</nav>`;
  const html = htmlPage('seglayer report', `<h1>seglayer report</h1>
<p class="meta">From the semantic API as ${escapeHtml(options.audience)}: it shows what this token may see. Generated ${escapeHtml(new Date().toISOString().slice(0, 16).replace('T', ' '))} UTC. Every chart states its sample size; intervals are 95% (docs/statistics.md).</p>
${nav}
${parts.join('\n')}`);
  mkdirSync(options.outDir, { recursive: true });
  const file = join(options.outDir, 'index.html');
  const figuresFile = join(options.outDir, 'figures.json');
  writeFileSync(file, html);
  writeFileSync(figuresFile, `${JSON.stringify(results, null, 2)}\n`);
  return { file, figuresFile, sections: results };
}
