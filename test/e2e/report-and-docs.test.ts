/**
 * `seglayer report` and `seglayer docs` on demo data, opened in headless Chromium: no
 * console errors, every chart drawn (an SVG with shapes and a size), a section whose view is
 * not built shows a visible "not available" note, screenshots kept under
 * .seglayer/test-artifacts/. The report's figures equal the API's for the token, and its
 * intervals equal ones computed here from the warehouse rows (independent of Cube's
 * measures and of src/stats).
 */
import { join } from 'node:path';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDocs } from '../../src/docs/docs-writer.ts';
import { reportApi } from '../../src/report/report-api.ts';
import { writeReport } from '../../src/report/report-writer.ts';
import { FEATURES_MODEL } from '../../src/segments/feature-catalog.ts';
import { segmentColumns } from '../../src/segments/segment-cube.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnCli } from '../support/cli-process.ts';
import { TEST_API_SECRET } from '../support/api-fixture.ts';
import { drawnCharts, figuresTable, launchChromium, openFile } from '../support/headless-browser.ts';
import { startApiFixture, type ApiFixture } from '../support/api-fixture.ts';
import { PROJECT_ROOT } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

const ARTIFACTS = join(PROJECT_ROOT, '.seglayer/test-artifacts/report-docs');
let api: ApiFixture;
let browser: Browser;
let project: Awaited<ReturnType<typeof loadTestProject>>;

beforeAll(async () => {
  api = await startApiFixture({ users: 400 });
  project = await loadTestProject();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await api?.close();
});

const number = (text: string) => Number(text.replace(/,/g, ''));

describe('seglayer report', () => {
  it('renders every section, draws every chart, and shows the API figures (admin)', async () => {
    const out = join(ARTIFACTS, 'report-admin');
    const token = await api.token({ role: 'admin' });
    const result = await writeReport({ api: reportApi(api.server.apiUrl, token), segmentColumns: segmentColumns(project.segments), outDir: out, audience: 'role admin' });
    const { page, errors } = await openFile(browser, result.file, join(ARTIFACTS, 'report-admin.png'));
    expect(errors).toEqual([]);
    const charts = await drawnCharts(page);
    expect(charts.length).toBeGreaterThanOrEqual(5);
    for (const chart of charts) {
      expect(chart.elements, chart.chart).toBeGreaterThan(5);
      expect(chart.width * chart.height, chart.chart).toBeGreaterThan(100_000);
    }
    // Every chart states its sample size.
    const captions = await page.$$eval('figure figcaption', (nodes) => nodes.map((n) => n.textContent ?? ''));
    for (const caption of captions) expect(caption).toMatch(/n = [\d,]+/);

    // Sections whose views are not built yet say so, visibly.
    const unavailable = result.sections.filter((s) => s.status === 'not_available').map((s) => s.id);
    for (const id of unavailable) {
      const visible = await page.$eval(`[data-not-available="${id}"]`, (node) => (node as HTMLElement).offsetHeight > 0);
      expect(visible, id).toBe(true);
    }
    expect(result.sections.filter((s) => s.status === 'ok').map((s) => s.id)).toEqual(expect.arrayContaining(['segment-comparison', 'segment-movement', 'daily-trends']));

    // Segment comparison: n and revenue per user as the API gives them; the interval as
    // computed here from the warehouse rows with Student's t.
    const rows = await figuresTable(page, 'segment-comparison');
    const power = rows.find((r) => r[0] === 'Power users')!;
    expect(power).toBeDefined();
    const [fromApi] = await api.rest(token).load({ measures: ['user_value.count', 'user_value.total_revenue'], filters: [{ member: 'user_value.is_power_users', operator: 'equals', values: ['true'] }] }).then((r) => r.tablePivot());
    const n = Number(fromApi!['user_value.count']);
    expect(number(power[2]!)).toBe(n);
    expect(number(power[3]!)).toBeCloseTo(Number(fromApi!['user_value.total_revenue']) / n, 2);
    const [warehouse] = await api.sql<{ n: number; mean: number; sd: number }>(`
      select count(*)::int as n, avg(coalesce(r.revenue, 0))::float8 as mean, stddev_samp(coalesce(r.revenue, 0))::float8 as sd
      from segments.user_segments s join core.dim_users u using (user_key)
      left join (select user_key, sum(revenue_usd) filter (where is_revenue) as revenue from core.fct_outcomes group by 1) r using (user_key)
      where s.is_power_users`);
    expect(warehouse!.n).toBe(n);
    const half = tQuantile(0.975, n - 1) * (warehouse!.sd / Math.sqrt(n));
    const [lower, upper] = power[4]!.split('–').map((s) => number(s.trim()));
    expect(lower).toBeCloseTo(warehouse!.mean - half, 2);
    expect(upper).toBeCloseTo(warehouse!.mean + half, 2);

    // Daily trends: active users per day as the API gives them.
    const daily = await figuresTable(page, 'daily-activity');
    const lastDay = daily.at(-1)!;
    const [apiDay] = await api.rest(token).load({ measures: ['user_activity.active_users'], timeDimensions: [{ dimension: 'user_activity.occurred_at', dateRange: [lastDay[0]!, lastDay[0]!] }] }).then((r) => r.tablePivot());
    expect(number(lastDay[1]!)).toBe(Number(apiDay!['user_activity.active_users']));
    await page.close();
  });

  it('shows a restricted token only its rows', async () => {
    const [{ region }] = await api.sql<{ region: string }>(`select region from core.dim_users where region is not null group by 1 order by count(*) desc limit 1`) as [{ region: string }];
    const claims = { role: 'viewer', region };
    const token = await api.token(claims);
    const result = await writeReport({ api: reportApi(api.server.apiUrl, token), segmentColumns: segmentColumns(project.segments), outDir: join(ARTIFACTS, 'report-viewer'), audience: 'role viewer' });
    const { page, errors } = await openFile(browser, result.file, join(ARTIFACTS, 'report-viewer.png'));
    expect(errors).toEqual([]);
    const power = (await figuresTable(page, 'segment-comparison')).find((r) => r[0] === 'Power users');
    const [{ n }] = await api.sql<{ n: number }>(`select count(*)::int as n from segments.user_segments s join core.dim_users u using (user_key) where s.is_power_users and u.region = ?`, [region]) as [{ n: number }];
    expect(number(power?.[2] ?? '0')).toBe(n);
    await page.close();
  });
});

describe('seglayer docs', () => {
  it('writes models, lineage and segments that Chromium draws without errors', async () => {
    const sizes = await api.sql<{ definition: string; segment: string; members: number; share: number }>(`select definition, segment, members, share_of_users::float8 as share from segments.summary order by 1, 2`);
    const result = writeDocs({ projectRoot: PROJECT_ROOT, models: project.models, segments: project.segments, featuresModel: FEATURES_MODEL, sizes, outDir: join(ARTIFACTS, 'docs') });
    expect(result.pages.length).toBe(project.models.length + 2);

    // Lineage reaches from raw tables through models to the served views and segments.
    const ids = new Set(result.lineage.nodes.map((n) => n.id));
    for (const id of ['raw:raw.events', 'model:staging.stg_events', 'model:core.fct_events', 'cube:events', 'view:user_activity', 'segment:power_users', 'model:segments.user_segments', 'view:user_value']) expect(ids, id).toContain(id);
    const path = (from: string, to: string): boolean => from === to || result.lineage.downstream(from).some((next) => path(next, to));
    expect(path('raw:raw.events', 'view:user_activity')).toBe(true);
    expect(path('segment:power_users', 'view:user_value')).toBe(true);

    const index = await openFile(browser, result.index, join(ARTIFACTS, 'docs-index.png'));
    expect(index.errors).toEqual([]);
    const [lineage] = await drawnCharts(index.page);
    expect(lineage!.elements).toBeGreaterThan(result.lineage.nodes.length);

    const dimUsers = await openFile(browser, join(ARTIFACTS, 'docs/models/core.dim_users.html'), join(ARTIFACTS, 'docs-dim-users.png'));
    expect(dimUsers.errors).toEqual([]);
    const columns = await figuresTable(dimUsers.page, 'model-columns');
    expect(columns.find((c) => c[0] === 'email')?.[4]).toBe('pii');
    expect(columns.find((c) => c[0] === 'user_key')?.[3]).toBe('not_null; unique');
    expect(await dimUsers.page.$eval('pre code', (n) => n.textContent)).toContain('"core"."user_identity_map"');

    const segments = await openFile(browser, join(ARTIFACTS, 'docs/segments.html'), join(ARTIFACTS, 'docs-segments.png'));
    expect(segments.errors).toEqual([]);
    const size = await figuresTable(segments.page, 'segment-size-power_users');
    const [{ n }] = await api.sql<{ n: number }>(`select count(*)::int as n from segments.user_segments where is_power_users`) as [{ n: number }];
    expect(number(size[0]![1]!)).toBe(n);
    expect(await figuresTable(segments.page, 'segment-power_users')).toEqual([[expect.any(String), 'rule', 'product', '1', 'active_days >= 20 and sessions >= 30', expect.stringContaining('Heavy users')]]);
  });
});

describe('the commands', () => {
  it('seglayer report and seglayer docs write their files and say where', async () => {
    const home = mkdtempSync(join(tmpdir(), 'seglayer-report-cli-'));
    const env = { DATABASE_URL: api.db.url, SEGLAYER_HOME: home, CUBEJS_API_SECRET: TEST_API_SECRET };
    const report = await spawnCli(['report', '--claims', '{"role":"analyst","region":"nowhere"}'], env).done;
    expect(report.output).toContain(`report: ${join(home, 'report/index.html')}`);
    expect(report.code).toBe(0);
    const docs = await spawnCli(['docs', '--out', join(home, 'site')], env).done;
    expect(docs.output).toContain(`docs: ${join(home, 'site/index.html')}`);
    expect(docs.code).toBe(0);
    const refused = await spawnCli(['report', '--claims', '{"role":"analyst"}'], env).done;
    expect(refused.code).toBe(1);
    expect(refused.output).toMatch(/must carry one of the claims "region"/);
  }, 480_000); // three CLI processes, one starting Cube: slow on a shared 2-core machine
});
