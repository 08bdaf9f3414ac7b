/**
 * `npm run bench` (model part): a full build of every model on demo data
 * (100k users ≈ 5M events by default), against the same SQL run by hand in one
 * psql session in the same run; then an incremental build after 1% new events.
 * The runner's extra work (tests, swaps, bookkeeping) is what the ratio shows.
 */
import { benchStamp, describeStamp } from './bench-stamp.ts';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../config.ts';
import { createKnex } from '../database/knex-client.ts';
import { migrateLatest } from '../database/migrator.ts';
import { ensureDatabase, openWarehouse } from '../database/warehouse-connection.ts';
import { writeDemoFiles, type DemoManifest } from '../demo/demo-generator.ts';
import { loadFile } from '../load/batch-loader.ts';
import { compileModel, quoteRelation } from '../models/model-compiler.ts';
import { loadProject } from '../project/project-loader.ts';
import { buildGraph, runModels } from '../models/model-runner.ts';
import { bold, count, dim, say, table } from '../terminal/terminal-output.ts';
import { ratioTarget, type TargetResult } from './bench-target.ts';

export interface BuildBenchOptions {
  /** Demo users; about 50 events each. */
  users: number;
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

export async function runBuildBench(options: BuildBenchOptions): Promise<TargetResult[]> {
  const config = loadConfig();
  const warehouse = await openWarehouse(config);
  const url = await ensureDatabase(warehouse.url, 'seglayer_bench_build');
  const knex = createKnex(url, { workMem: config.SEGLAYER_WORK_MEM, max: 6 });
  try {
    const { models } = await loadProject(config);
    const schemas = [...new Set(models.map((m) => m.name.split('.')[0]!))];
    const dropModels = () => knex.raw(schemas.map((s) => `drop schema if exists ${quoteRelation(s)} cascade;`).join('\n'));
    await dropModels();
    await knex.raw('drop schema if exists raw cascade; drop schema if exists ops cascade');
    await migrateLatest(knex, config.projectRoot);
    const manifest = await demoFiles(config.homeDir, options.users);
    for (const file of manifest.files) await loadFile(url, file.path, { into: file.into });
    const events = Number((await knex.raw('select count(*) from raw.events')).rows[0].count);
    say(dim(`loaded ${count(events)} raw events for ${count(options.users)} users`));

    // The same SQL, by hand: each model created once, in order, in one psql session.
    const known = new Set(models.map((m) => m.name));
    const graph = buildGraph(models);
    const script = [`set work_mem = '${config.SEGLAYER_WORK_MEM}';`, ...schemas.map((s) => `create schema ${quoteRelation(s)};`)];
    for (const name of graph.order) {
      const model = graph.byName.get(name)!;
      const kind = model.materialized === 'view' ? 'view' : 'table';
      script.push(`create ${kind} ${quoteRelation(name)} as ${compileModel(model, known).sql};`);
    }
    const scriptPath = join(config.homeDir, 'bench', 'build-by-hand.sql');
    mkdirSync(join(config.homeDir, 'bench'), { recursive: true });
    writeFileSync(scriptPath, script.join('\n\n'));
    await knex.raw('checkpoint');
    const byHand = await elapsed(async () => execFileSync('psql', [url, '-q', '-v', 'ON_ERROR_STOP=1', '-f', scriptPath], { stdio: 'inherit' }));
    say(dim(`  psql, same SQL by hand: ${byHand.toFixed(1)} s`));
    await dropModels();
    await knex.raw('checkpoint');

    let fullOk = true;
    const full = await elapsed(async () => {
      fullOk = (await runModels(knex, url, models, { fullRefresh: true })).ok;
    });
    say(dim(`  seglayer build (full): ${full.toFixed(1)} s`));

    // 1% new events: the most recent ones again, a day later, as a new batch.
    const newEvents = Math.round(events / 100);
    await knex.raw(`
      with batch as (insert into ops.load_batches (source, format, target_tables, status, rows_in, rows_loaded, started_at, finished_at)
                     values ('bench: 1% new events', 'csv', '{raw.events}', 'loaded', ?, ?, now(), now()) returning batch_id)
      insert into raw.events (message_id, anonymous_id, user_id, event, occurred_at, received_at, properties, device_type, os, browser,
                              country, region, city, locale, utm_source, utm_medium, utm_campaign, context, load_batch_id, source_row_number)
      select 'new-' || message_id, anonymous_id, user_id, event, occurred_at + interval '1 day', received_at + interval '1 day', properties,
             device_type, os, browser, country, region, city, locale, utm_source, utm_medium, utm_campaign, context,
             (select batch_id from batch), row_number() over ()
      from (select * from raw.events order by occurred_at desc limit ?) recent`, [newEvents, newEvents, newEvents]);
    await knex.raw('checkpoint');
    let incrementalOk = true;
    const incremental = await elapsed(async () => {
      incrementalOk = (await runModels(knex, url, models)).ok;
    });
    const consistent = (await knex.raw(`select (select count(*) from core.fct_events) = (select count(*) from staging.stg_events) as ok`)).rows[0].ok;

    say(dim(describeStamp(benchStamp())));
    say(bold(`\nmodel build: ${count(events)} raw events, ${count(options.users)} users, ${models.length} models`));
    say(table([
      ['run', 'seconds', 'ratio'],
      ['psql, same SQL by hand (baseline)', byHand.toFixed(1), '1.00'],
      [`seglayer build, full${fullOk ? '' : ' (FAILED)'}`, full.toFixed(1), (full / byHand).toFixed(2)],
      [`seglayer build after +${count(newEvents)} events (1%)${incrementalOk && consistent ? '' : ' (FAILED)'}`, incremental.toFixed(1), `${(incremental / full).toFixed(2)} of full`],
    ]));
    say(`overhead over hand-run SQL: ${bold((full / byHand).toFixed(2))}x (target <= 1.15); incremental: ${bold(((100 * incremental) / full).toFixed(0))}% of a full build (target <= 10%)`);
    writeFileSync(join(config.homeDir, 'bench', `build-${new Date().toISOString().replace(/[:.]/g, '-')}.json`),
      JSON.stringify({ ...benchStamp(), users: options.users, events, byHand, full, incremental, newEvents, fullOk, incrementalOk, consistent }, null, 2));
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
