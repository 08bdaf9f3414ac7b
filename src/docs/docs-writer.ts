/**
 * `seglayer docs`: a static site of the project. index.html has the lineage graph and
 * lists models, segments and served views; each model has a page (description, owner,
 * materialization, columns with tests and pii, compiled SQL, upstream and downstream);
 * segments.html has every definition with its rule, hypothesis and current size.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { ColumnTest } from '../models/model-definition.ts';
import type { Model } from '../models/model-discovery.ts';
import type { SegmentDefinition } from '../segments/segment-definition.ts';
import { escapeHtml, htmlPage, htmlTable } from '../site/html.ts';
import { lineageChart } from './lineage-chart.ts';
import { buildLineage, nodeId, type CubeFile, type Lineage } from './lineage.ts';

export interface SegmentSize {
  definition: string;
  segment: string;
  members: number;
  share: number;
}

export interface DocsOptions {
  projectRoot: string;
  models: Model[];
  segments: SegmentDefinition[];
  featuresModel: string;
  /** Current sizes from segments.summary; empty when not built. */
  sizes: SegmentSize[];
  outDir: string;
}

export interface DocsResult {
  index: string;
  pages: string[];
  lineage: Lineage;
}

function readCubeFiles(projectRoot: string): CubeFile[] {
  const files: CubeFile[] = [];
  for (const dir of ['schema/cubes', 'schema/views']) {
    const path = join(projectRoot, dir);
    for (const name of readdirSync(path).filter((n) => n.endsWith('.yml')).sort()) files.push((parse(readFileSync(join(path, name), 'utf8')) ?? {}) as CubeFile);
  }
  return files;
}

const testText = (test: ColumnTest) => (typeof test === 'string' ? test : Object.entries(test).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(''));
const pageOf = (model: string) => `models/${model}.html`;

function linkTo(id: string, from: 'root' | 'model'): string {
  const [kind, name] = [id.slice(0, id.indexOf(':')), id.slice(id.indexOf(':') + 1)];
  const prefix = from === 'model' ? '../' : '';
  if (kind === 'model') return `<a href="${prefix}${escapeHtml(pageOf(name))}">${escapeHtml(name)}</a>`;
  if (kind === 'segment') return `<a href="${prefix}segments.html#${escapeHtml(name)}">segment ${escapeHtml(name)}</a>`;
  if (kind === 'view') return `<a href="${prefix}index.html#view-${escapeHtml(name)}">view ${escapeHtml(name)}</a>`;
  return `${escapeHtml(kind)} ${escapeHtml(name)}`;
}

function ruleOf(definition: SegmentDefinition): string {
  if (definition.kind === 'rule') return definition.rule;
  if (definition.kind === 'rfm') return `RFM on ${definition.rfm.recency}, ${definition.rfm.frequency}, ${definition.rfm.monetary}${definition.rfm.population ? ` among ${definition.rfm.population}` : ''}`;
  return `k-means, k = ${definition.cluster.k}, on ${definition.cluster.features.join(', ')}${definition.cluster.population ? ` among ${definition.cluster.population}` : ''}`;
}

export function writeDocs(options: DocsOptions): DocsResult {
  const cubeFiles = readCubeFiles(options.projectRoot);
  const lineage = buildLineage(options.models, cubeFiles, options.segments, options.featuresModel);
  mkdirSync(join(options.outDir, 'models'), { recursive: true });
  const pages: string[] = [];
  const nav = (from: 'root' | 'model') => `<nav><a href="${from === 'model' ? '../' : ''}index.html">Overview &amp; lineage</a><a href="${from === 'model' ? '../' : ''}segments.html">Segments</a></nav>`;

  for (const model of options.models) {
    const id = nodeId('model', model.name);
    const columns = Object.entries(model.columns).map(([name, c]) => [name, c.type ?? '', c.description, c.tests.map(testText).join('; '), c.pii ? 'pii' : '']);
    const body = `${nav('model')}
<h1>${escapeHtml(model.name)}</h1>
<p>${escapeHtml(model.description)}</p>
${htmlTable(['Owner', 'Layer', 'Materialized', 'Tags', 'File'], [[model.owner, model.layer, model.materialized, model.tags.join(', '), model.file]], { id: 'model-facts' })}
<h2>Columns</h2>
${htmlTable(['Column', 'Type', 'Description', 'Tests', 'PII'], columns, { id: 'model-columns' })}
<h2>Upstream</h2><ul>${lineage.upstream(id).map((u) => `<li>${linkTo(u, 'model')}</li>`).join('') || '<li>none</li>'}</ul>
<h2>Downstream</h2><ul>${lineage.downstream(id).map((d) => `<li>${linkTo(d, 'model')}</li>`).join('') || '<li>none</li>'}</ul>
<h2>SQL</h2><pre><code>${escapeHtml(lineage.sql.get(model.name) ?? '')}</code></pre>`;
    const file = join(options.outDir, pageOf(model.name));
    writeFileSync(file, htmlPage(`${model.name} · seglayer docs`, body));
    pages.push(file);
  }

  const sizeOf = (definition: string) => options.sizes.filter((s) => s.definition === definition);
  const segmentBlocks = options.segments.map((d) => {
    const sizes = sizeOf(d.name);
    return `<section id="${escapeHtml(d.name)}"><h2>${escapeHtml(d.title)} <code>${escapeHtml(d.name)}</code></h2>
<p>${escapeHtml(d.description)}</p>
${htmlTable(['Family', 'Kind', 'Owner', 'Version', 'Rule', 'Hypothesis'], [[d.family, d.kind, d.owner, d.version, ruleOf(d), d.hypothesis]], { id: `segment-${d.name}` })}
${sizes.length > 0 ? htmlTable(['Segment', 'Members (n)', 'Share of users (%)'], sizes.map((s) => [s.segment, s.members, (s.share * 100).toFixed(1)]), { id: `segment-size-${d.name}`, caption: 'Current size (segments.summary)' }) : '<p class="note">Current size: not built yet (run seglayer build).</p>'}
<p>Downstream: ${lineage.downstream(nodeId('segment', d.name)).map((x) => linkTo(x, 'root')).join(', ')}</p></section>`;
  });
  const segmentsFile = join(options.outDir, 'segments.html');
  writeFileSync(segmentsFile, htmlPage('Segments · seglayer docs', `${nav('root')}<h1>Segment definitions</h1><p>Every definition in segments/*.yml with its rule, hypothesis and current size.</p>${segmentBlocks.join('\n')}`));
  pages.push(segmentsFile);

  const chart = lineageChart(lineage);
  const views = cubeFiles.flatMap((f) => f.views ?? []) as { name: string; title?: string; description?: string }[];
  const byLayer = [...new Set(options.models.map((m) => m.layer))].map((layer) => `<h3>${escapeHtml(layer)}</h3>${htmlTable(['Model', 'Description', 'Owner'], options.models.filter((m) => m.layer === layer).map((m) => [m.name, m.description, m.owner]), { id: `models-${layer}` })
    .replace(/<td>([a-z_]+\.[a-z_0-9]+)<\/td>/g, (_, name: string) => `<td><a href="${escapeHtml(pageOf(name))}">${escapeHtml(name)}</a></td>`)}`);
  const index = join(options.outDir, 'index.html');
  writeFileSync(index, htmlPage('seglayer docs', `${nav('root')}
<h1>seglayer project docs</h1>
<p class="meta">${options.models.length} models, ${options.segments.length} segment definitions, ${views.length} served Cube views.</p>
<figure class="wide" data-chart="lineage">${chart.svg}<figcaption>${escapeHtml(chart.title)} — ${escapeHtml(chart.sampleSize)}</figcaption></figure>
<h2>Models</h2>${byLayer.join('\n')}
<h2>Served views (Cube)</h2>
${views.map((v) => `<section id="view-${escapeHtml(v.name)}"><h3>${escapeHtml(v.title ?? v.name)} <code>${escapeHtml(v.name)}</code></h3><p>${escapeHtml(v.description ?? '')}</p><p>Reads: ${lineage.upstream(nodeId('view', v.name)).map((c) => escapeHtml(c.replace('cube:', 'cube '))).join(', ')}</p></section>`).join('\n')}`));
  pages.push(index);
  return { index, pages, lineage };
}
