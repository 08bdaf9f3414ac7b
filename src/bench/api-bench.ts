/**
 * `npm run bench -- --only api`: latency and throughput of the semantic API (Cube
 * behind the gateway) for one segment query, against the same SQL sent straight to
 * PostgreSQL with `pg` in the same run, at 1, 10 and 50 concurrent clients.
 *
 * Variants, each verified through GET /v1/sql before it is timed:
 *  (a) the query as a dashboard sends it: Cube answers it from the `value_by_segment` rollup;
 *  (b) the same numbers through a filter on a member the rollup lacks (city is set or
 *      not set: always true), so Cube runs SQL on core.dim_users and its joins.
 * Each variant is timed three ways: the same query repeated (after the first, the
 * gateway's answer cache answers), the same query past that cache (`cache=no-cache`:
 * Cube's own in-memory result cache answers, as every repeated query did before), and
 * distinct queries (differing only in `limit`, above any row count), which Cube must
 * compile and run afresh (Cube 0.33 has no per-request way to skip its own cache).
 *
 * The load (autocannon, or a pg.Pool) comes from a child process running this file,
 * so it does not share the API's event loop.
 */
import { benchStamp, describeStamp } from './bench-stamp.ts';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import type { Knex } from 'knex';
import type { Project } from '../project/project.ts';
import type { ApiServer } from '../serve/api-server.ts';
import { withDemoBenchDatabase } from './bench-demo-data.ts';
import { ratioTarget, absoluteTarget, type TargetResult } from './bench-target.ts';
import { bold, count, dim, red, say, table } from '../terminal/terminal-output.ts';
import { startCpuProfile, summarizeCpuProfile, type CpuProfile } from './cpu-profile.ts';

export interface ApiBenchOptions {
  /** Demo users; about 50 events each. */
  users: number;
  /** Timed seconds per run (10 by default). */
  seconds?: number;
  /**
   * Directory for CPU profiles of the API process: only the pre-aggregated variant at the
   * target's client count runs, and each API contender's timed window is profiled
   * (`<dir>/api-<contender>.cpuprofile`, with its top frames printed).
   */
  profile?: string;
}

const CLIENTS = [1, 10, 50];
/** Contenders per client count and variant. */
const CONTENDER_COUNT = 4;
/** The client count the targets are judged at. */
const TARGET_CLIENTS = 10;
const DEFAULT_SECONDS = 10;
const WARMUP_SECONDS = 3;
/** The gateway's default (600 a minute per token) would answer 429 within a second. */
const RATE_LIMIT = 10_000_000;
const CLAIMS = { role: 'analyst', region: 'CA' };
const SEGMENT_QUERY = {
  measures: ['user_value.count', 'user_value.paying_users', 'user_value.total_revenue'],
  dimensions: ['user_value.plan', 'user_value.acquisition_channel'],
};
/** Members the rollup does not have, in a filter that holds for every row. */
const RAW_QUERY = {
  ...SEGMENT_QUERY,
  filters: [{ or: [{ member: 'user_value.city', operator: 'set' }, { member: 'user_value.city', operator: 'notSet' }] }],
};
/** Distinct queries carry limit 10,001..50,000 (Cube's default is 10,000; the gateway allows up to 50,000). */
const DISTINCT_LIMITS = { first: 10_001, last: 50_000 };
const TARGET_P95_MS = 25;
/** p50 of the API over p50 of the same SQL through pg: repeated queries (an answer already computed), distinct ones. */
const TARGET_P50_RATIO = { 'api-repeated': 1, 'api-distinct': 2 } as const;

// ---------------------------------------------------------------------------
// The load generator (child process)

type Job = HttpJob | PgJob;
interface HttpJob {
  kind: 'http';
  url: string;
  token: string;
  query: Record<string, unknown>;
  /** Ask Cube every time (`cache=no-cache`), past the gateway's answer cache. */
  bypassAnswerCache?: boolean;
  /** Next `limit` for distinct queries; absent: the same query every time. */
  distinctFrom?: number;
  expectRows: number;
  clients: number;
  seconds: number;
}
interface PgJob {
  kind: 'pg';
  databaseUrl: string;
  sql: string;
  params: unknown[];
  expectRows: number;
  clients: number;
  seconds: number;
}

interface Measured {
  /** Answers completed in the timed window. */
  answers: number;
  /** Answers with the expected rows (2xx with data for HTTP). */
  ok: number;
  /** Bad answers, and requests without one, by kind. */
  failures: Record<string, number>;
  seconds: number;
  p50: number;
  p95: number;
  p99: number;
  /** API only, filled in by the parent: the variant's SQL statements Cube ran during the timed window. */
  sqlRuns?: number;
  /** API only, filled in by the parent: every statement Cube sent to PostgreSQL in the timed window. */
  statements?: number;
  /**
   * API only, filled in by the parent: CPU time of the API's process (user + system) in the
   * timed window. Per answer, it is the API's cost that other load on the machine does not
   * inflate the way it inflates latencies (one event loop: at 10 clients p50 ≈ 10 × this).
   */
  cpuMs?: number;
  /** HTTP, distinct queries: the next unused limit. */
  distinctNext?: number;
}

const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN);

function summarize(latencies: number[], failures: Record<string, number>, seconds: number, extra: Partial<Measured> = {}): Measured {
  const sorted = [...latencies].sort((x, y) => x - y);
  const failed = Object.values(failures).reduce((x, y) => x + y, 0);
  return { answers: latencies.length, ok: latencies.length - failed, failures, seconds, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), ...extra };
}

/** `cache=no-cache` passes the gateway's answer cache by (Cube 0.33 ignores it): Cube's own result cache answers. */
const loadPath = (query: Record<string, unknown>, bypassAnswerCache?: boolean) => `/cubejs-api/v1/load?query=${encodeURIComponent(JSON.stringify(query))}${bypassAnswerCache ? '&cache=no-cache' : ''}`;

async function cannon(job: HttpJob, seconds: number, state: { distinct?: number }): Promise<Measured> {
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  const fail = (kind: string) => (failures[kind] = (failures[kind] ?? 0) + 1);
  const request: autocannon.Request = {
    method: 'GET',
    path: loadPath(job.query, job.bypassAnswerCache),
    onResponse: (status, body) => {
      let answer: { error?: string; data?: unknown[] } = {};
      try {
        answer = JSON.parse(body);
      } catch {
        return fail(`HTTP ${status}, body not JSON`);
      }
      if (status < 200 || status >= 300) return fail(`HTTP ${status}: ${String(answer.error ?? '').slice(0, 80)}`);
      if (answer.error) return fail(`HTTP ${status} with error "${String(answer.error).slice(0, 80)}"`); // e.g. Cube's "Continue wait"
      if (!Array.isArray(answer.data) || answer.data.length !== job.expectRows) return fail(`HTTP ${status} with ${answer.data?.length ?? 'no'} rows, expected ${job.expectRows}`);
    },
  };
  if (state.distinct !== undefined) {
    request.setupRequest = (req) => {
      if (state.distinct! > DISTINCT_LIMITS.last) state.distinct = DISTINCT_LIMITS.first; // wraps: repeats from here on
      return { ...req, path: loadPath({ ...job.query, limit: state.distinct!++ }, job.bypassAnswerCache) };
    };
  }
  return new Promise((done, failed) => {
    const instance = autocannon(
      { url: job.url, connections: job.clients, duration: seconds, timeout: 60, headers: { authorization: `Bearer ${job.token}` }, requests: [request] },
      (error, result) => {
        if (error) return failed(error);
        const measured = summarize(latencies, failures, result.duration, { distinctNext: state.distinct });
        // Requests that got no answer at all: not in the latencies, but failures all the same.
        if (result.errors > result.timeouts) failures['connection errors'] = result.errors - result.timeouts;
        if (result.timeouts) failures['no answer within 60 s'] = result.timeouts;
        done(measured);
      },
    );
    instance.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
  });
}

async function hammer(job: PgJob, seconds: number): Promise<Measured> {
  const pool = new pg.Pool({ connectionString: job.databaseUrl, max: job.clients, application_name: 'seglayer-bench' });
  try {
    const connections = await Promise.all(Array.from({ length: job.clients }, () => pool.connect()));
    connections.forEach((connection) => connection.release());
    const latencies: number[] = [];
    const failures: Record<string, number> = {};
    const started = performance.now();
    const deadline = started + seconds * 1000;
    await Promise.all(
      Array.from({ length: job.clients }, async () => {
        while (performance.now() < deadline) {
          const t0 = performance.now();
          let failure: string | undefined;
          try {
            const { rowCount } = await pool.query(job.sql, job.params);
            if (rowCount !== job.expectRows) failure = `${rowCount} rows, expected ${job.expectRows}`;
          } catch (error) {
            failure = (error as Error).message.slice(0, 80);
          }
          const t1 = performance.now();
          if (t1 > deadline) break; // as autocannon: answers after the window do not count
          latencies.push(t1 - t0);
          if (failure) failures[failure] = (failures[failure] ?? 0) + 1;
        }
      }),
    );
    return summarize(latencies, failures, seconds);
  } finally {
    await pool.end();
  }
}

const MEASURING = 'measuring';

/** Child entry: warm up, say so, measure, print the result as one JSON line. */
async function generateLoad(job: Job): Promise<void> {
  const state = { distinct: job.kind === 'http' ? job.distinctFrom : undefined };
  const run = (seconds: number) => (job.kind === 'http' ? cannon(job, seconds, state) : hammer(job, seconds));
  await run(WARMUP_SECONDS);
  process.stdout.write(`${MEASURING}\n`);
  const measured = await run(job.seconds);
  process.stdout.write(`${JSON.stringify(measured)}\n`);
}

/** Runs `job` in a child process; `window` is called when its timed window starts, and after it ends. */
function inChild(job: Job, window: (phase: 'start' | 'end') => void): Promise<Measured> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((done, failed) => {
    const child = spawn(process.execPath, ['--import', 'tsx', self, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let result: Measured | undefined;
    child.stdout.on('data', (chunk) => {
      out += chunk;
      let newline: number;
      while ((newline = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, newline).trim();
        out = out.slice(newline + 1);
        if (line === MEASURING) window('start');
        else if (line.startsWith('{')) {
          window('end');
          result = JSON.parse(line) as Measured;
        }
      }
    });
    child.on('error', failed);
    child.on('exit', (code) => {
      if (code !== 0 || !result) return failed(new Error(`load generator exited with ${code}${result ? '' : ' and no result'}`));
      done(result);
    });
  });
}

/**
 * Counts the statements Cube's PostgreSQL driver sends, by text (LIMIT left out), so a
 * run can say how many answers were computed rather than taken from Cube's cache.
 * Wraps pg.Client#query of the pg the driver loads, in this (the API's) process only;
 * the load generators run in their own processes.
 */
const statementKey = (sql: string) => sql.replace(/\s+LIMIT\s+\d+\s*$/i, '');
function watchCubeStatements(): { ran(sql: string): number; total(): number } {
  const require = createRequire(import.meta.url);
  const driverPg = createRequire(require.resolve('@cubejs-backend/postgres-driver'))('pg') as typeof pg;
  const seen = new Map<string, number>();
  let total = 0;
  const query = driverPg.Client.prototype.query as (...args: unknown[]) => unknown;
  (driverPg.Client.prototype as { query: unknown }).query = function (this: unknown, ...args: unknown[]) {
    const config = args[0];
    const text = typeof config === 'string' ? config : (config as { text?: unknown } | undefined)?.text;
    if (typeof text === 'string') {
      total++;
      seen.set(statementKey(text), (seen.get(statementKey(text)) ?? 0) + 1);
    }
    return query.apply(this, args);
  };
  return { ran: (sql) => seen.get(statementKey(sql)) ?? 0, total: () => total };
}

// ---------------------------------------------------------------------------
// The benchmark (parent process)

interface Variant {
  key: 'a' | 'b';
  label: string;
  query: Record<string, unknown>;
  /** The SQL Cube runs (rollup table names resolved), and its parameters. */
  sql: string;
  params: unknown[];
  preAggregations: string[];
  rows: unknown[];
}

interface Row {
  variant: Variant['key'];
  contender: 'sql' | 'api-repeated' | 'api-repeated-cube' | 'api-distinct';
  clients: number;
  measured: Measured;
}

const CONTENDERS: Record<Row['contender'], string> = {
  sql: 'direct SQL via pg (baseline)',
  'api-repeated': 'API, same query repeated',
  'api-repeated-cube': 'API, same query, answer cache bypassed',
  'api-distinct': 'API, distinct queries',
};

async function callApi(server: ApiServer, token: string, route: 'load', query: Record<string, unknown>): Promise<any> {
  const response = await fetch(`${server.apiUrl}/${route}?query=${encodeURIComponent(JSON.stringify(query))}`, { headers: { authorization: `Bearer ${token}` } });
  const body: any = await response.json();
  if (!response.ok || body.error) throw new Error(`GET /v1/${route} answered ${response.status}: ${body.error ?? JSON.stringify(body).slice(0, 200)}`);
  return body;
}

async function describeVariant(server: ApiServer, token: string, db: pg.Client, key: Variant['key'], label: string, query: Record<string, unknown>): Promise<Variant> {
  // The plan as the benchmark's caller (its row filter included); /v1/sql is for operators only.
  const plan = await server.cube.planOf(query, CLAIMS);
  const load = await callApi(server, token, 'load', query);
  const [text, params] = [plan.sql, plan.params];
  const preAggregations: string[] = plan.preAggregations.map((p) => p.tableName);
  // /v1/sql names a rollup by its logical table; Cube runs the query on the newest versioned table
  // of that name (<name>_<content>_<structure>_<built at, base 36>). The check below that Cube runs this SQL confirms the pick.
  let resolved = text;
  for (const name of preAggregations) {
    const [schema, table] = name.split('.') as [string, string];
    const { rows } = await db.query(`select tablename from pg_tables where schemaname = $1 and tablename ~ $2`, [schema, `^${table}_[a-z0-9]+_[a-z0-9]+_[a-z0-9]+$`]);
    const builtAt = (t: string) => parseInt(t.split('_').pop()!, 36);
    const newest = rows.map((r) => r.tablename as string).sort((x, y) => builtAt(y) - builtAt(x))[0];
    if (!newest) throw new Error(`no built table for the pre-aggregation ${name}`);
    resolved = resolved.split(`${name} `).join(`${schema}.${newest} `);
  }
  return { key, label, query, sql: resolved, params, preAggregations, rows: load.data };
}

/** Rows keyed by their dimensions, measures as numbers: (a) and (b) must agree. */
function sameNumbers(x: unknown[], y: unknown[]): boolean {
  const keyed = (rows: unknown[]) =>
    new Map(rows.map((row) => {
      const r = row as Record<string, string | number | null>;
      return [SEGMENT_QUERY.dimensions.map((d) => r[d]).join('|'), SEGMENT_QUERY.measures.map((m) => Number(r[m] ?? 0))];
    }));
  const [a, b] = [keyed(x), keyed(y)];
  return a.size === b.size && [...a].every(([k, values]) => values.every((v, i) => Math.abs(v - (b.get(k)?.[i] ?? NaN)) <= 1e-6 * Math.max(1, Math.abs(v))));
}

/** Waits until Cube has sent no statement for a second (at most a minute); returns the seconds waited. */
async function settled(total: () => number): Promise<number> {
  const started = performance.now();
  let last = -1;
  while (total() !== last && performance.now() - started < 60_000) {
    last = total();
    await new Promise((done) => setTimeout(done, 1000));
  }
  return (performance.now() - started) / 1000 - 1;
}

/** Writes the profile of one contender's timed window and prints where its CPU time went. */
function reportProfile(dir: string, contender: Row['contender'], root: string, profile: CpuProfile): void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${contender}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  const summary = summarizeCpuProfile(profile, { top: 30, root });
  const pct = (share: number) => `${(100 * share).toFixed(1)}%`;
  say(bold(`\n  profile of the API process, ${CONTENDERS[contender]}: ${summary.totalMs.toFixed(0)} ms sampled, busy ${pct(summary.busyMs / summary.totalMs)} (${file})`));
  say(table([['area', 'self ms', 'share'], ...summary.areas.map((a) => [a.name, a.ms.toFixed(0), pct(a.share)])]));
  say(table([['frame (self time)', 'self ms', 'share'], ...summary.frames.map((f) => [f.name, f.ms.toFixed(0), pct(f.share)])]));
}

const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(n < 10 ? 2 : 1) : '-');
const ratio = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}x` : '-');
const cpuPerAnswer = (m: Measured) => (m.cpuMs !== undefined && m.answers ? m.cpuMs / m.answers : NaN);
const failedOf = (m: Measured) => Object.values(m.failures).reduce((x, y) => x + y, 0);

export async function runApiBench(options: ApiBenchOptions): Promise<TargetResult[]> {
  const { startApiServer } = await import('../serve/api-server.ts');
  const { mintToken } = await import('../serve/token-minter.ts');
  const { elapsed } = await import('./build-bench.ts');
  const seconds = options.seconds ?? DEFAULT_SECONDS;
  let targets: TargetResult[] = [];

  // Loaded and built once per user count, then kept: reruns measure the API only.
  await withDemoBenchDatabase('api', options.users, async ({ config, url, knex, project }) => {
    const events = await buildOnce(knex, url, project, config.CUBEJS_PRE_AGGREGATIONS_SCHEMA);
    let server: ApiServer | undefined;
    let cubeSql: ReturnType<typeof watchCubeStatements> | undefined;
    let closing = false;
    try {
      let apiLogLines = 0;
      const log = (line: string) => {
        if (closing) return; // Cube's background renewals complain once its pools are closed
        if (++apiLogLines <= 10) say(dim(`  api: ${line}`));
        else if (apiLogLines === 11) say(dim('  api: (further API log lines counted, not shown)'));
      };
      const statements = watchCubeStatements();
      cubeSql = statements;
      const api = await startApiServer({ ...config, SEGLAYER_API_RATE_LIMIT: RATE_LIMIT }, { databaseUrl: url, port: 0, refreshSeconds: 0, log });
      server = api;
      say(dim(`API at ${api.apiUrl} (scheduled refresh off; rate limit raised to ${count(RATE_LIMIT)} requests/min per token for the benchmark)`));
      const refreshSeconds = await elapsed(() => api.cube.refreshPreAggregations());
      say(dim(`pre-aggregations built in ${refreshSeconds.toFixed(1)} s`));
      const token = await mintToken(api.jwt, { claims: CLAIMS, expiresIn: '12h' });

      const db = new pg.Client(url);
      await db.connect();
      let a: Variant, b: Variant;
      try {
        a = await describeVariant(api, token, db, 'a', '(a) with pre-aggregations', SEGMENT_QUERY);
        b = await describeVariant(api, token, db, 'b', '(b) without pre-aggregations', RAW_QUERY);
        say(dim(`(a) /v1/sql preAggregations: ${JSON.stringify(a.preAggregations)}; timed SQL reads ${/FROM (\S+)/.exec(a.sql)?.[1]}`));
        say(dim(`(b) /v1/sql preAggregations: ${JSON.stringify(b.preAggregations)}`));
        if (a.preAggregations.length === 0) throw new Error('(a) is not served from a pre-aggregation: /v1/sql lists none');
        if (b.preAggregations.length !== 0) throw new Error(`(b) is served from a pre-aggregation (${b.preAggregations.join(', ')}); it must not be`);
        if (!sameNumbers(a.rows, b.rows)) throw new Error('(a) and (b) answer different numbers');
        for (const v of [a, b]) {
          const { rowCount } = await db.query(v.sql, v.params);
          if (rowCount !== v.rows.length) throw new Error(`${v.label}: the SQL returns ${rowCount} rows directly, the API ${v.rows.length}`);
          // The statement timed directly must be the one Cube runs: make Cube run it once more.
          const before = cubeSql.ran(v.sql);
          await callApi(api, token, 'load', { ...v.query, limit: DISTINCT_LIMITS.last });
          if (cubeSql.ran(v.sql) !== before + 1) throw new Error(`${v.label}: Cube did not run the SQL that /v1/sql reports`);
        }
      } finally {
        await db.end();
      }
      say(dim(`both variants answer the same ${a.rows.length} rows and numbers; the SQL run directly returns them too, and is the statement Cube runs`));

      const rows: Row[] = [];
      const distinctNext: Record<Variant['key'], number> = { a: DISTINCT_LIMITS.first, b: DISTINCT_LIMITS.first };
      const [clientCounts, variants] = options.profile ? [[TARGET_CLIENTS], [a]] : [CLIENTS, [a, b]];
      const runs = clientCounts.length * variants.length * CONTENDER_COUNT;
      say(dim(`${runs} runs of ${WARMUP_SECONDS} s warm-up + ${seconds} s each (about ${Math.ceil((runs * (WARMUP_SECONDS + seconds + 1)) / 60)} min)`));
      for (const clients of clientCounts) {
        for (const v of variants) {
          for (const contender of Object.keys(CONTENDERS) as Row['contender'][]) {
            const job: Job = contender === 'sql'
              ? { kind: 'pg', databaseUrl: url, sql: v.sql, params: v.params, expectRows: v.rows.length, clients, seconds }
              : { kind: 'http', url: api.url, token, query: v.query, expectRows: v.rows.length, clients, seconds, bypassAnswerCache: contender === 'api-repeated-cube',
                  distinctFrom: contender === 'api-distinct' ? distinctNext[v.key] : undefined };
            const ran = { start: 0, end: 0 };
            const total = { start: 0, end: 0 };
            const cpu = { start: process.cpuUsage(), end: process.cpuUsage() };
            let profiling: Promise<{ stop(): Promise<CpuProfile> }> | undefined;
            let profiled: Promise<CpuProfile> | undefined;
            const measured = await inChild(job, (phase) => {
              ran[phase] = statements.ran(v.sql);
              total[phase] = statements.total();
              cpu[phase] = process.cpuUsage();
              if (options.profile && contender !== 'sql') {
                if (phase === 'start') profiling = startCpuProfile();
                else profiled = profiling?.then((p) => p.stop());
              }
            });
            if (profiled) reportProfile(options.profile!, contender, config.projectRoot, await profiled);
            if (contender !== 'sql') {
              measured.sqlRuns = ran.end - ran.start;
              measured.statements = total.end - total.start;
              measured.cpuMs = (cpu.end.user - cpu.start.user + cpu.end.system - cpu.start.system) / 1000;
            }
            if (measured.distinctNext !== undefined) distinctNext[v.key] = measured.distinctNext;
            // Requests the load generator gave up on may still sit in Cube's queue: let them drain before the next run.
            const waited = await settled(cubeSql.total);
            if (waited >= 2) say(dim(`    (waited ${waited.toFixed(0)} s for Cube to finish queued SQL)`));
            rows.push({ variant: v.key, contender, clients, measured });
            const failed = failedOf(measured);
            say(dim(`  ${`${v.label.slice(0, 3)} ${CONTENDERS[contender]}`.padEnd(38)} ${String(clients).padStart(2)} clients: ${count(Math.round(measured.ok / measured.seconds)).padStart(6)} ok/s, p50 ${ms(measured.p50)} ms, p95 ${ms(measured.p95)} ms${contender === 'sql' ? '' : `; Cube ran the query's SQL ${count(measured.sqlRuns ?? 0)} times, ${count(measured.statements ?? 0)} statements in all; API CPU ${ms(cpuPerAnswer(measured))} ms per answer`}`) +
              (failed ? red(`  ${count(failed)} FAILED`) : ''));
          }
        }
      }

      if (options.profile) {
        say(dim(`profiles written to ${options.profile}; no targets are judged on a profiled run`));
        return;
      }
      targets = report(options.users, events, seconds, [a, b], rows);
      if (apiLogLines > 0) say(red(`the API logged ${count(apiLogLines)} error lines during the benchmark (the first 10 are above)`));
      const resultsDir = join(config.homeDir, 'bench');
      mkdirSync(resultsDir, { recursive: true });
      const file = join(resultsDir, `api-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
      writeFileSync(file, JSON.stringify({ ...benchStamp(), users: options.users, events, seconds, warmupSeconds: WARMUP_SECONDS, claims: CLAIMS, rateLimit: RATE_LIMIT, refreshSeconds,
        variants: [a, b].map(({ rows: answer, ...v }) => ({ ...v, rows: answer.length })), results: rows, targets }, null, 2));
      say(dim(`results: ${file}`));
    } finally {
      closing = true;
      // Queries the load generator gave up on may still run in Cube's queue: let them end
      // before its pools close and the warehouse stops under them.
      if (cubeSql) await settled(cubeSql.total);
      await server?.close();
    }
  });
  return targets;
}

/**
 * Every model built once on the kept database (a full build when any model's relation is
 * missing); the rollups' schema is dropped each run (cube.js: CUBEJS_PRE_AGGREGATIONS_SCHEMA),
 * so no pre-aggregation survives from an earlier run. Returns the raw event count.
 */
async function buildOnce(knex: Knex, url: string, project: Project, rollupSchema: string): Promise<number> {
  const models = project.models;
  const { quoteRelation } = await import('../models/model-compiler.ts');
  const { runModels } = await import('../models/model-runner.ts');
  const { writeStatisticsAfterBuild } = await import('../project/statistics-after-build.ts');
  const { elapsed } = await import('./build-bench.ts');
  await knex.raw(`drop schema if exists ${quoteRelation(rollupSchema)} cascade`);
  const events = Number((await knex.raw('select count(*) from raw.events')).rows[0].count);
  const missing = Number((await knex.raw('select count(*) from unnest(?::text[]) as m(name) where to_regclass(m.name) is null', [models.map((m) => m.name)])).rows[0].count);
  if (missing === 0) {
    say(dim(`${count(events)} raw events, every model built already (kept from an earlier run; drop the bench database to start afresh)`));
    return events;
  }
  say(dim(`${count(events)} raw events; building ${models.length} models`));
  let summary: Awaited<ReturnType<typeof runModels>> | undefined;
  const building = await elapsed(async () => {
    summary = await runModels(knex, url, models, {
      fullRefresh: true,
      onEvent: (event) => {
        if (event.kind === 'done') say(dim(`  ${event.result.model} ${event.result.status} (${event.index}/${event.total}, ${event.result.seconds.toFixed(1)} s)`));
      },
    });
  });
  if (!summary!.ok) throw new Error('the model build failed; `npm run seglayer -- build` on demo data shows why');
  // As `build` does: the experiment_results and change_effects views read tables written from the statistics.
  await writeStatisticsAfterBuild(knex, project, summary!);
  say(dim(`models built in ${building.toFixed(1)} s`));
  return events;
}

function report(users: number, events: number, seconds: number, variants: Variant[], rows: Row[]): TargetResult[] {
  const find = (variant: Variant['key'], contender: Row['contender'], clients: number) =>
    rows.find((r) => r.variant === variant && r.contender === contender && r.clients === clients)!.measured;
  const rate = (m: Measured) => m.ok / m.seconds;

  say(dim(describeStamp(benchStamp())));
  say(bold(`\nsemantic API: ${count(users)} users (${count(events)} raw events), ${SEGMENT_QUERY.measures.length} measures by ${SEGMENT_QUERY.dimensions.map((d) => d.split('.')[1]).join(' x ')}, ` +
    `GET /cubejs-api/v1/load as ${JSON.stringify(CLAIMS)}; ${seconds} s per run after ${WARMUP_SECONDS} s warm-up`));
  const header = ['variant', 'clients', 'p50 ms', 'p95 ms', 'p99 ms', 'req/s', 'failed', 'SQL run', 'stmts/req', 'API CPU ms/req', 'p50 vs SQL', 'req/s vs SQL'];
  const lines: (string | number)[][] = [header];
  for (const v of variants) {
    for (const clients of CLIENTS) {
      const base = find(v.key, 'sql', clients);
      for (const contender of Object.keys(CONTENDERS) as Row['contender'][]) {
        const m = find(v.key, contender, clients);
        const isApi = contender !== 'sql';
        lines.push([
          `${v.label}: ${CONTENDERS[contender]}`,
          String(clients),
          ms(m.p50), ms(m.p95), ms(m.p99),
          rate(m).toFixed(rate(m) < 100 ? 1 : 0),
          failedOf(m) ? `${count(failedOf(m))} !!` : '0',
          isApi && m.answers ? `${Math.min(100, Math.round((100 * (m.sqlRuns ?? 0)) / m.answers))}%` : '-',
          isApi && m.answers ? ((m.statements ?? 0) / m.answers).toFixed(1) : '1.0',
          isApi ? ms(cpuPerAnswer(m)) : '-',
          isApi ? ratio(m.p50 / base.p50) : '1.00x',
          isApi ? ratio(rate(m) / rate(base)) : '1.00x',
        ]);
      }
    }
  }
  say(table(lines));

  const failures = rows.filter((r) => failedOf(r.measured) > 0);
  if (failures.length) {
    say(red(bold(`\n!! ${failures.length} of ${rows.length} runs had failed requests (their latencies include the bad answers; req/s counts only good ones):`)));
    for (const r of failures) {
      say(red(`   ${r.variant} ${CONTENDERS[r.contender]}, ${r.clients} clients: ${Object.entries(r.measured.failures).map(([kind, n]) => `${count(n)} x ${kind}`).join('; ')}`));
    }
  } else {
    say(`\nfailed requests: 0 (every answer was 2xx with the expected ${variants[0]!.rows.length} rows; non-2xx, Cube's "Continue wait", connection errors and timeouts would be counted)`);
  }

  // The issue's targets, on the pre-aggregated query (a) at 10 clients.
  const targets: TargetResult[] = [];
  for (const contender of ['api-repeated', 'api-distinct'] as const) {
    targets.push(absoluteTarget(`API p95, pre-aggregated, ${TARGET_CLIENTS} clients, ${CONTENDERS[contender].replace('API, ', '')}`, find('a', contender, TARGET_CLIENTS).p95, 'ms', '<', TARGET_P95_MS));
  }
  for (const contender of ['api-repeated', 'api-distinct'] as const) {
    targets.push(ratioTarget(`API p50 vs direct SQL, pre-aggregated, ${TARGET_CLIENTS} clients, ${CONTENDERS[contender].replace('API, ', '')}`,
      find('a', contender, TARGET_CLIENTS).p50, find('a', 'sql', TARGET_CLIENTS).p50, 'ms', '<=', TARGET_P50_RATIO[contender]));
  }
  // Failed requests make every figure of the run meaningless: no target counts as met then.
  if (failures.length) for (const t of targets) t.met = false;

  say(bold('\nwhat is measured'));
  say(`  (a) ${JSON.stringify(variants[0]!.query)}: /v1/sql lists the pre-aggregation ${variants[0]!.preAggregations.join(', ')}`);
  say(`  (b) the same plus ${JSON.stringify(RAW_QUERY.filters)}: a filter that holds for every row, on a member the rollup lacks; /v1/sql lists no pre-aggregation, the answer is the same rows and numbers as (a)`);
  say(`  direct SQL: the statement /v1/sql gives for the variant, with its parameters (for (a) on the rollup's current table; checked to be the statement Cube runs), from a pg.Pool with one connection per client`);
  say(`  "same query repeated": after the first, answered by the gateway's answer cache (src/serve/answer-cache.ts: keyed by the query as the access policy rewrote it, the claims, the newest build and rollups, kept 10 s) once the token, rate limit, query guard and member checks passed`);
  say(`  "answer cache bypassed": the same query with cache=no-cache, so Cube answers it: from its in-memory result cache until the refresh key changes (the rollup's, or every 10 s for raw SQL), so mostly no SQL runs; this is what every repeated query cost before the answer cache`);
  say(`  "distinct queries": identical but for limit (${count(DISTINCT_LIMITS.first)}-${count(DISTINCT_LIMITS.last)}, above any row count), so each is compiled and its SQL run; Cube 0.33 has no per-request cache switch (the REST "cache" option, e.g. "no-cache", came with later Cube versions; 0.33 ignores it, and renewQuery only re-checks refresh keys)`);
  say(`  "SQL run": the query's SQL statements Cube sent to PostgreSQL in the timed window, per API answer (counted at Cube's pg driver); the other answers came from Cube's in-memory result cache`);
  say(`  "API CPU ms/req": CPU time (user + system) of the API's process in the timed window, per answer: what one request costs the API, which other load on the machine inflates far less than latencies; with one event loop, p50 at ${TARGET_CLIENTS} clients is about ${TARGET_CLIENTS} times it`);
  say(`  "stmts/req": every statement Cube sent per API answer (the query's SQL, refresh-key and pre-aggregation checks, and SET TIME ZONE / SET statement_timeout on a connection that has not had them yet: src/serve/session-once-postgres-driver.ts)`);
  say(`  Cube sends at most 2 queries at a time to PostgreSQL (the postgres driver's default concurrency; CUBEJS_CONCURRENCY changes it); the pg.Pool baseline runs one query per client at a time`);
  say(`  req/s counts good answers only; the load comes from a separate process (autocannon for the API, pg for the baseline); p50/p95/p99 from every answer's own time`);
  say(dim(`  rate limit raised to ${count(RATE_LIMIT)} requests/min per token for this benchmark (the default, SEGLAYER_API_RATE_LIMIT=600, would answer 429 within a second)`));
  say(dim(`  this machine has ${availableParallelism()} cores shared by PostgreSQL, the API and the load generator, and may be noisy: read the numbers as indicative; nothing here is asserted`));
  return targets;
}

// Run as `node --import tsx api-bench.ts <job>`: the load generator.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await generateLoad(JSON.parse(process.argv[2]!) as Job);
}
