/**
 * `npm run bench` (loader part): rows/s of `seglayer load` on demo event rows,
 * as a ratio against `psql \copy` of the same gzip file into the same table in
 * the same run, and the loader's peak RSS at two file sizes (it must not grow
 * with the file). Runs alternate between contenders to spread machine noise.
 */
import { benchStamp, describeStamp } from './bench-stamp.ts';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from '../config.ts';
import { createKnex } from '../database/knex-client.ts';
import { migrateLatest } from '../database/migrator.ts';
import { ensureDatabase, openWarehouse } from '../database/warehouse-connection.ts';
import { writeDemoFiles } from '../demo/demo-generator.ts';
import { contractFor } from '../load/table-contracts.ts';
import { bold, count, dim, say, table } from '../terminal/terminal-output.ts';
import { absoluteTarget, ratioTarget, type TargetResult } from './bench-target.ts';

export interface LoaderBenchOptions {
  /** Demo users; about 50 events each (100k users ≈ 5M events). */
  users: number;
  /** Timed runs per contender. */
  repeat: number;
}

interface Run {
  rows: number;
  seconds: number;
  peakRssMb?: number;
  /** The loader process's CPU seconds (all threads), start-up included. */
  cpuSeconds?: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function requirePsql(): void {
  try {
    execFileSync('psql', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('the benchmark compares against psql \\copy: install the PostgreSQL client (apt-get install postgresql-client)');
  }
}

async function eventsFile(config: ReturnType<typeof loadConfig>, users: number): Promise<string> {
  const dir = join(config.homeDir, 'bench', `events-${users}`);
  const path = join(dir, 'events.csv.gz');
  if (!existsSync(path)) {
    say(dim(`generating clean demo events for ${count(users)} users into ${dir} (cached for later runs)`));
    const manifest = await writeDemoFiles({ users, seed: 7, outDir: dir, malformedRate: 0 });
    const events = manifest.files.find((f) => f.into === 'raw.events');
    if (!events || resolve(events.path) !== resolve(path)) throw new Error('demo generator did not write events.csv.gz');
  }
  return path;
}

async function psqlCopy(url: string, path: string, columns: string[]): Promise<Run> {
  const started = process.hrtime.bigint();
  const out = execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-c',
    `\\copy raw.events (${columns.join(', ')}) from program 'gzip -dc ${path}' with (format csv, header true)`], { encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { rows: Number(/COPY (\d+)/.exec(out)?.[1] ?? 0), seconds };
}

function seglayerLoad(url: string, path: string): Promise<Run> {
  const worker = join(import.meta.dirname, 'load-worker.ts');
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', worker, url, path, 'raw.events'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`load worker exited with ${code}`));
      // The worker times the load itself (connect to commit), leaving out Node's start-up.
      resolvePromise(JSON.parse(out.trim().split('\n').pop()!) as Run);
    });
  });
}

export async function runLoaderBench(options: LoaderBenchOptions): Promise<TargetResult[]> {
  requirePsql();
  const config = loadConfig();
  const warehouse = await openWarehouse(config);
  const url = await ensureDatabase(warehouse.url, 'seglayer_bench');
  const knex = createKnex(url);
  try {
    await knex.raw('drop schema if exists raw cascade');
    await knex.raw('drop schema if exists ops cascade');
    // Its migration creates tables without "if not exists": left behind, a second bench run failed.
    await knex.raw('drop schema if exists bi_policy cascade');
    await migrateLatest(knex, config.projectRoot);
    // psql \copy does not fill lineage columns; defaults keep its rows valid without changing the work.
    await knex.raw('alter table raw.events alter column load_batch_id set default 0, alter column source_row_number set default 0');
    const columns = contractFor('raw.events').columns.map((c) => c.name).filter((c) => c !== 'context');
    const big = await eventsFile(config, options.users);
    const small = await eventsFile(config, Math.max(1000, Math.round(options.users / 5)));

    const reset = async () => {
      await knex.raw('truncate raw.events, ops.quarantine, ops.model_batches, ops.load_batches');
      await knex.raw('checkpoint');
    };
    const psqlRuns: Run[] = [];
    const loaderRuns: Run[] = [];
    for (let i = 0; i < options.repeat; i++) {
      for (const contender of i % 2 === 0 ? ['psql', 'seglayer'] : ['seglayer', 'psql']) {
        await reset();
        const run = contender === 'psql' ? await psqlCopy(url, big, columns) : await seglayerLoad(url, big);
        (contender === 'psql' ? psqlRuns : loaderRuns).push(run);
        say(dim(`  ${contender.padEnd(8)} run ${i + 1}: ${count(run.rows)} rows in ${run.seconds.toFixed(1)} s${run.peakRssMb ? `, peak RSS ${run.peakRssMb.toFixed(0)} MB, ${run.cpuSeconds?.toFixed(1)} CPU s` : ''}`));
      }
    }
    await reset();
    const smallRun = await seglayerLoad(url, small);

    const psqlRate = median(psqlRuns.map((r) => r.rows / r.seconds));
    const loaderRate = median(loaderRuns.map((r) => r.rows / r.seconds));
    const rows = psqlRuns[0]!.rows;
    if (loaderRuns.some((r) => r.rows !== rows)) throw new Error('the loader and psql loaded different row counts');
    const peak = Math.max(...loaderRuns.map((r) => r.peakRssMb ?? 0));
    say(dim(describeStamp(benchStamp())));
    say(bold(`\nloader: ${count(rows)} demo event rows (gzip CSV), median of ${options.repeat} runs each`));
    say(table([
      ['contender', 'rows/s', 'seconds', 'peak RSS MB', 'client CPU s'],
      ['psql \\copy (baseline)', Math.round(psqlRate), median(psqlRuns.map((r) => r.seconds)).toFixed(1), '-', '-'],
      ['seglayer load', Math.round(loaderRate), median(loaderRuns.map((r) => r.seconds)).toFixed(1), peak.toFixed(0), median(loaderRuns.map((r) => r.cpuSeconds ?? Number.NaN)).toFixed(1)],
      [`seglayer load, ${count(smallRun.rows)} rows`, Math.round(smallRun.rows / smallRun.seconds), smallRun.seconds.toFixed(1), (smallRun.peakRssMb ?? 0).toFixed(0), (smallRun.cpuSeconds ?? Number.NaN).toFixed(1)],
    ]));
    const ratio = loaderRate / psqlRate;
    say(`throughput ratio seglayer/psql: ${bold(ratio.toFixed(2))} (target >= 0.70)`);
    say(`peak RSS: ${bold(peak.toFixed(0))} MB at ${count(rows)} rows, ${(smallRun.peakRssMb ?? 0).toFixed(0)} MB at ${count(smallRun.rows)} rows (target < 300 MB, flat in file size)`);
    const resultsDir = join(config.homeDir, 'bench');
    mkdirSync(resultsDir, { recursive: true });
    const file = join(resultsDir, `loader-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ rows, psqlRuns, loaderRuns, smallRun, ratio, peakRssMb: peak }, null, 2));
    say(dim(`results: ${file}`));
    return [
      ratioTarget('loader rows/s vs psql \\copy', loaderRate, psqlRate, 'rows/s', '>=', 0.7),
      absoluteTarget(`loader peak RSS, ${count(rows)} rows`, peak, 'MB', '<', 300),
      absoluteTarget(`loader peak RSS, ${count(smallRun.rows)} rows`, smallRun.peakRssMb ?? Number.NaN, 'MB', '<', 300),
    ];
  } finally {
    await knex.destroy();
    await warehouse.close();
  }
}
