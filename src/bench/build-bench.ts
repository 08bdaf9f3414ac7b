/**
 * `npm run bench` (model part): a full build of every model on demo data
 * (100k users ≈ 5M events by default), against the same SQL run by hand in one
 * psql session in the same run; then an incremental build after 1% new events.
 * The runner's extra work (tests, swaps, bookkeeping) is what the ratio shows.
 */
import { benchStamp, describeStamp } from './bench-stamp.ts';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { loadConfig } from '../config.ts';
import { createKnex } from '../database/knex-client.ts';
import { openWarehouse } from '../database/warehouse-connection.ts';
import { writeDemoFiles, type DemoManifest } from '../demo/demo-generator.ts';
import { compileModel, quoteRelation } from '../models/model-compiler.ts';
import { loadProject } from '../project/project-loader.ts';
import { buildGraph, runModels, type ModelResult } from '../models/model-runner.ts';
import { bold, count, dim, gigabytes, say, table } from '../terminal/terminal-output.ts';
import { ratioTarget, type TargetResult } from './bench-target.ts';
import { buildProgress } from './build-progress.ts';
import { freshLoadedDatabase } from './loaded-template.ts';

export interface BuildBenchOptions {
  /** Demo users; about 50 events each. */
  users: number;
  /** Models run at once in the full and the incremental builds (the runner's default: cores). */
  threads?: number;
}

export const elapsed = async (work: () => Promise<unknown>) => {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e9;
};

export async function demoFiles(homeDir: string, users: number): Promise<DemoManifest> {
  const dir = join(homeDir, 'bench', `demo-${users}`);
  const manifestPath = join(dir, 'manifest.json');
  if (existsSync(manifestPath)) return JSON.parse(readFileSync(manifestPath, 'utf8')) as DemoManifest;
  say(dim(`generating demo data for ${count(users)} users into ${dir} (cached for later runs)`));
  const manifest = await writeDemoFiles({ users, seed: 7, outDir: dir });
  writeFileSync(manifestPath, JSON.stringify(manifest));
  return manifest;
}

/**
 * Disk a build run needs, as a multiple of the loaded data: the copy with every model built
 * (the hand-run SQL's, then the runner's) plus the temporary files its sorts spill. Measured
 * (the "disk" line of a run, 2026-12-02): built 3.8× the loaded data at 20k users (0.35 → 1.33 GB)
 * and 3.7× at 500k (8.56 → 31.88 GB); temporary files summed over the build are 0.9× and 4.0×, but
 * those are not on disk at once, so 5× leaves room for the largest sorts.
 */
const BUILD_DISK_FACTOR = 5;

/** The database's size and the bytes of temporary files its sessions have written so far. */
async function diskUse(knex: Knex): Promise<{ databaseBytes: number; tempBytes: number }> {
  const row = (await knex.raw(`select pg_database_size(current_database()) as size, temp_bytes from pg_stat_database where datname = current_database()`)).rows[0];
  return { databaseBytes: Number(row.size), tempBytes: Number(row.temp_bytes) };
}

export async function runBuildBench(options: BuildBenchOptions): Promise<TargetResult[]> {
  const config = loadConfig();
  const warehouse = await openWarehouse(config);
  const threads = options.threads ?? availableParallelism();
  // A fresh copy of the loaded demo data, loaded once and kept between runs (loaded-template.ts).
  const manifest = await demoFiles(config.homeDir, options.users);
  const { url, events } = await freshLoadedDatabase(config, warehouse.url, 'seglayer_bench_build', options.users, manifest, BUILD_DISK_FACTOR);
  const knex = createKnex(url, { workMem: config.SEGLAYER_WORK_MEM, max: Math.max(6, threads + 2) });
  try {
    const { models } = await loadProject(config);
    const schemas = [...new Set(models.map((m) => m.name.split('.')[0]!))];
    const dropModels = () => knex.raw(schemas.map((s) => `drop schema if exists ${quoteRelation(s)} cascade;`).join('\n'));
    say(dim(`${count(events)} raw events for ${count(options.users)} users`));

    // The same SQL, by hand: each model created once, in order, in one psql session.
    const known = new Set(models.map((m) => m.name));
    const graph = buildGraph(models);
    const script = [`set work_mem = '${config.SEGLAYER_WORK_MEM}';`, ...schemas.map((s) => `create schema ${quoteRelation(s)};`)];
    for (const [i, name] of graph.order.entries()) {
      const model = graph.byName.get(name)!;
      const kind = model.materialized === 'view' ? 'view' : 'table';
      // Progress on stderr (psql's \\warn, no query, nothing to the timing): this script runs ~25 minutes at 500k users.
      script.push(`\\warn '  by hand: ${i + 1}/${graph.order.length} ${name}'`);
      script.push(`create ${kind} ${quoteRelation(name)} as ${compileModel(model, known).sql};`);
      // The indexes the runner builds with the table (for incremental deletes and per-user reads) are part of the same work.
      for (const columns of kind === 'table' ? model.indexes : []) script.push(`create index on ${quoteRelation(name)} (${columns.map((c) => quoteRelation(c)).join(', ')});`);
      for (const p of kind === 'table' ? model.partialIndexes : []) script.push(`create index on ${quoteRelation(name)} (${p.columns.map((c) => quoteRelation(c)).join(', ')}) where ${p.where};`);
      // As the runner does: without statistics the next statement plans nested loops over a table it takes for tiny.
      if (kind === 'table') script.push(`analyze ${quoteRelation(name)};`);
    }
    const scriptPath = join(config.homeDir, 'bench', 'build-by-hand.sql');
    mkdirSync(join(config.homeDir, 'bench'), { recursive: true });
    writeFileSync(scriptPath, script.join('\n\n'));
    await knex.raw('checkpoint');
    const loaded = await diskUse(knex);
    const byHand = await elapsed(async () => execFileSync('psql', [url, '-q', '-v', 'ON_ERROR_STOP=1', '-f', scriptPath], { stdio: 'inherit' }));
    say(dim(`  psql, same SQL by hand: ${byHand.toFixed(1)} s`));
    // What a size needs on disk, measured rather than guessed: the built database and the temporary files its
    // sorts and hashes spilled (psql's session has ended, so its counts are in pg_stat_database).
    const builtByHand = await diskUse(knex);
    const disk = { loadedBytes: loaded.databaseBytes, builtBytes: builtByHand.databaseBytes, tempBytes: builtByHand.tempBytes - loaded.tempBytes };
    say(dim(`  disk: ${gigabytes(disk.loadedBytes)} loaded, ${gigabytes(disk.builtBytes)} built, ${gigabytes(disk.tempBytes)} of temporary files written by the build`));
    await dropModels();
    await knex.raw('checkpoint');

    let fullOk = true;
    const full = await elapsed(async () => {
      fullOk = (await runModels(knex, url, models, { fullRefresh: true, threads, onEvent: buildProgress('full build') })).ok;
    });
    say(dim(`  seglayer build (full): ${full.toFixed(1)} s`));

    // 1% new events, as one new batch: the most recent ones again, `shift` later (a day: the next
    // day's data, which moves the reference time; minus a day: late data, which does not).
    const newEvents = Math.round(events / 100);
    const referenceTime = async (): Promise<string> => (await knex.raw(`select as_of_at::text as t from core.reference_time`)).rows[0].t;
    let round = 0; // each round's copies get their own message ids
    const incrementalRound = async (label: string, shift: string) => {
      // A daily build runs a day after the last: autovacuum has long since processed what that build wrote. Untimed here,
      // it would be vacuuming the freshly built tables (1.2 GB at 20k users) on the same 2 cores during the round.
      await knex.raw('vacuum (analyze)');
      await knex.raw(`
        with batch as (insert into ops.load_batches (source, format, target_tables, status, rows_in, rows_loaded, started_at, finished_at)
                       values (?, 'csv', '{raw.events}', 'loaded', ?, ?, now(), now()) returning batch_id)
        insert into raw.events (message_id, anonymous_id, user_id, event, occurred_at, received_at, properties, device_type, os, browser,
                                country, region, city, locale, utm_source, utm_medium, utm_campaign, context, load_batch_id, source_row_number)
        select ? || message_id, anonymous_id, user_id, event, occurred_at + ?::interval, received_at + ?::interval, properties,
               device_type, os, browser, country, region, city, locale, utm_source, utm_medium, utm_campaign, context,
               (select batch_id from batch), row_number() over ()
        from (select * from raw.events where message_id not like 'bench-%' order by occurred_at desc limit ?) recent`,
        [`bench: ${label}`, newEvents, newEvents, `bench-${++round}-`, shift, shift, newEvents]);
      const before = await referenceTime();
      await knex.raw('checkpoint');
      let results: ModelResult[] = [];
      let ok = true;
      const seconds = await elapsed(async () => {
        const summary = await runModels(knex, url, models, { threads, onEvent: buildProgress(label) });
        ok = summary.ok;
        results = summary.results;
      });
      const after = await referenceTime();
      // Per model, slowest first: where the incremental build's time goes (its SQL, tests, publishing, the runner's bookkeeping).
      const perModel = [...results].sort((x, y) => y.seconds - x.seconds).map((r) => {
        const p = r.phases ?? { query: 0, write: 0, tests: 0, publish: 0 };
        return { model: r.model, seconds: r.seconds, action: r.action ?? r.status, ...p, bookkeeping: r.seconds - p.query - p.write - p.tests - p.publish };
      });
      return { label, seconds, ok, referenceTime: { before, after }, perModel };
    };
    const rounds = [await incrementalRound('+1% events a day later', '1 day'), await incrementalRound('+1% late events (a day earlier)', '-1 day')];
    const incremental = rounds[0]!.seconds;
    const incrementalOk = rounds.every((r) => r.ok);
    const consistent = (await knex.raw(`select (select count(*) from core.fct_events) = (select count(*) from staging.stg_events) as ok`)).rows[0].ok;

    say(dim(describeStamp(benchStamp())));
    say(bold(`\nmodel build: ${count(events)} raw events, ${count(options.users)} users, ${models.length} models, ${threads} at once`));
    say(table([
      ['run', 'seconds', 'ratio'],
      ['psql, same SQL by hand (baseline)', byHand.toFixed(1), '1.00'],
      [`seglayer build, full${fullOk ? '' : ' (FAILED)'}`, full.toFixed(1), (full / byHand).toFixed(2)],
      ...rounds.map((r) => [`seglayer build after ${r.label}${r.ok && consistent ? '' : ' (FAILED)'}`, r.seconds.toFixed(1), `${(r.seconds / full).toFixed(2)} of full`]),
    ]));
    for (const round of rounds) {
      const { before, after } = round.referenceTime;
      say(bold(`\nincremental build after ${round.label} (${count(newEvents)} events), per model, slowest first`) +
        dim(` (models run concurrently, so shares can overlap); reference time ${before === after ? `unchanged` : `moved from ${before} to ${after}: features of every user are recomputed`}`));
      const shown = round.perModel.slice(0, 12);
      say(table([
        ['model', 'seconds', 'of the build', 'query', 'write', 'tests', 'publish', 'runner', 'action'],
        ...shown.map((m) => [m.model, m.seconds.toFixed(2), `${((100 * m.seconds) / round.seconds).toFixed(0)}%`,
          ...[m.query, m.write, m.tests, m.publish, m.bookkeeping].map((s) => s.toFixed(2)), m.action]),
        [`${round.perModel.length - shown.length} other models`, round.perModel.slice(shown.length).reduce((t, m) => t + m.seconds, 0).toFixed(2), '', '', '', '', '', '', ''],
        ['all models: steps summed', '', '', ...(['query', 'write', 'tests', 'publish', 'bookkeeping'] as const).map((k) => round.perModel.reduce((t, m) => t + m[k], 0).toFixed(2)), ''],
      ]));
    }
    say(`overhead over hand-run SQL: ${bold((full / byHand).toFixed(2))}x (target <= 1.15); incremental after +1% events: ${bold(((100 * incremental) / full).toFixed(0))}% of a full build (target <= 10%); after +1% late events: ${bold(((100 * rounds[1]!.seconds) / full).toFixed(0))}%`);
    writeFileSync(join(config.homeDir, 'bench', `build-${new Date().toISOString().replace(/[:.]/g, '-')}.json`),
      JSON.stringify({ ...benchStamp(), users: options.users, threads, events, disk, byHand, full, incremental, newEvents, fullOk, incrementalOk, consistent, incrementalRounds: rounds }, null, 2));
    // A failed build has no meaningful time: its target reads as not met.
    return [
      ratioTarget('full build vs the same SQL by hand', fullOk ? full : Number.NaN, byHand, 's', '<=', 1.15),
      ratioTarget('incremental build after +1% events vs full', incrementalOk && consistent ? incremental : Number.NaN, full, 's', '<=', 0.1),
    ];
  } finally {
    await knex.destroy();
    await warehouse.close();
  }
}
