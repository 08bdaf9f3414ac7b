/**
 * The segment value marts against the core build, in the same run on the same
 * data: the core models (staging, core) built in full and timed, then features
 * and segments (untimed: segments-bench.ts measures them), then every marts
 * model, each timed and reported as seconds and as a ratio of the core build.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { quoteRelation } from '../models/model-compiler.ts';
import { runModels } from '../models/model-runner.ts';
import { bold, count, dim, say, table } from '../terminal/terminal-output.ts';
import type { TargetResult } from './bench-target.ts';
import { withDemoBenchDatabase } from './bench-demo-data.ts';
import { benchStamp, describeStamp } from './bench-stamp.ts';
import { elapsed } from './build-bench.ts';

export interface MartsBenchOptions {
  users: number;
}

export async function runMartsBench(options: MartsBenchOptions): Promise<TargetResult[]> {
  // The data is loaded once per user count and kept: reruns measure the builds only.
  await withDemoBenchDatabase('marts', options.users, async ({ config, url, knex, models }) => {
    const events = Number((await knex.raw('select count(*) from raw.events')).rows[0].count);
    const upstream = ['features', 'segments'];
    const core = models.filter((m) => !upstream.includes(m.layer) && m.layer !== 'marts').map((m) => m.name);
    const middle = models.filter((m) => upstream.includes(m.layer)).map((m) => m.name);
    const marts = models.filter((m) => m.layer === 'marts').map((m) => m.name);
    await knex.raw([...upstream, 'marts'].map((s) => `drop schema if exists ${quoteRelation(s)} cascade;`).join('\n'));

    say(dim(`core build (${core.length} models) ...`));
    let coreOk = true;
    const coreSeconds = await elapsed(async () => {
      coreOk = (await runModels(knex, url, models, { select: core, fullRefresh: true })).ok;
    });
    say(dim(`  ${coreSeconds.toFixed(1)} s; features + segments (${middle.length} models, untimed) ...`));
    const middleOk = (await runModels(knex, url, models, { select: middle, fullRefresh: true })).ok;
    say(dim(`marts (${marts.length} models) ...`));
    await knex.raw('checkpoint');
    let summary: Awaited<ReturnType<typeof runModels>> | undefined;
    const martSeconds = await elapsed(async () => {
      summary = await runModels(knex, url, models, { select: marts, fullRefresh: true });
    });
    const users = Number((await knex.raw('select count(*) from features.user_features')).rows[0].count);

    say(dim(describeStamp(benchStamp())));
    say(bold(`\nmarts: ${count(users)} users, ${count(events)} raw events`));
    say(table([
      ['run', 'seconds', 'ratio to core build'],
      [`core build (staging + core, full)${coreOk ? '' : ' (FAILED)'}`, coreSeconds.toFixed(1), '1.00'],
      [`marts${summary!.ok && middleOk ? '' : ' (FAILED)'}`, martSeconds.toFixed(1), (martSeconds / coreSeconds).toFixed(2)],
      ...[...summary!.results].sort((a, b) => b.seconds - a.seconds).map((r) => [`  ${r.model}${r.status === 'success' ? '' : ` (${r.status})`}`, r.seconds.toFixed(1), (r.seconds / coreSeconds).toFixed(2)]),
    ]));
    say(dim('2 cores, noisy machine: compare ratios, not seconds, between runs. Per-model times overlap: the runner builds independent marts in parallel, so they add up to more than the marts line.'));
    writeFileSync(join(config.homeDir, 'bench', `marts-${options.users}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`),
      JSON.stringify({ ...benchStamp(), users: options.users, events, coreSeconds, martSeconds, models: summary!.results.map((r) => ({ model: r.model, seconds: r.seconds, status: r.status })) }, null, 2));
  });
  return []; // no target in the issue: the figures are context
}
