/**
 * Features + segments against the core build, in the same run on the same data: the
 * core models (staging, core) built in full, then features.user_features and every
 * segment model, each timed; the segment part is reported as time and as a ratio of the
 * core build.
 */
import { withDemoBenchDatabase } from './bench-demo-data.ts';
import { benchStamp, describeStamp } from './bench-stamp.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bold, count, dim, say, table } from '../terminal/terminal-output.ts';
import type { TargetResult } from './bench-target.ts';
import { quoteRelation } from '../models/model-compiler.ts';
import { runModels } from '../models/model-runner.ts';
import { elapsed } from './build-bench.ts';
import { runEventPredicateBench } from './event-predicates-bench.ts';

export interface SegmentsBenchOptions {
  users: number;
}

export async function runSegmentsBench(options: SegmentsBenchOptions): Promise<TargetResult[]> {
  // The data is loaded once per user count and kept: reruns measure the builds only.
  await withDemoBenchDatabase('segments', options.users, async ({ config, url, knex, models }) => {
    const events = Number((await knex.raw('select count(*) from raw.events')).rows[0].count);
    const layers = ['features', 'segments'];
    const core = models.filter((m) => !layers.includes(m.layer)).map((m) => m.name);
    const segmentModels = models.filter((m) => layers.includes(m.layer)).map((m) => m.name);
    await knex.raw(layers.map((s) => `drop schema if exists ${quoteRelation(s)} cascade;`).join('\n'));

    say(dim(`core build (${core.length} models) ...`));
    let coreOk = true;
    const coreSeconds = await elapsed(async () => {
      coreOk = (await runModels(knex, url, models, { select: core, fullRefresh: true })).ok;
    });
    say(dim(`  ${coreSeconds.toFixed(1)} s`));
    say(dim(`features + segments (${segmentModels.length} models) ...`));
    await knex.raw('checkpoint');
    let summary: Awaited<ReturnType<typeof runModels>> | undefined;
    const segmentSeconds = await elapsed(async () => {
      summary = await runModels(knex, url, models, { select: segmentModels, fullRefresh: true });
    });
    const users = Number((await knex.raw('select count(*) from features.user_features')).rows[0].count);

    say(dim(describeStamp(benchStamp())));
    say(bold(`\nfeatures + segments: ${count(users)} users, ${count(events)} raw events`));
    say(table([
      ['run', 'seconds', 'ratio to core build'],
      [`core build (staging + core, full)${coreOk ? '' : ' (FAILED)'}`, coreSeconds.toFixed(1), '1.00'],
      [`features + segments${summary!.ok ? '' : ' (FAILED)'}`, segmentSeconds.toFixed(1), (segmentSeconds / coreSeconds).toFixed(2)],
      ...summary!.results.map((r) => [`  ${r.model}${r.status === 'success' ? '' : ` (${r.status})`}`, r.seconds.toFixed(1), (r.seconds / coreSeconds).toFixed(2)]),
    ]));
    say(dim(`event predicates: a rule of 50 vs the same question by hand ...`));
    const predicates = await runEventPredicateBench(knex);
    say(bold(`\none rule of ${predicates.predicates} event predicates over ${count(predicates.events)} events (${count(predicates.members)} users selected by both)`));
    say(table([
      ['run', 'seconds', 'ratio to by hand'],
      ['compiled rule (one grouped scan of events, one of outcomes)', predicates.compiledSeconds.toFixed(2), (predicates.compiledSeconds / predicates.byHandSeconds).toFixed(2)],
      ['by hand (a CTE per predicate, user_key in (...))', predicates.byHandSeconds.toFixed(2), '1.00'],
    ]));
    say(dim('2 cores, noisy machine: compare ratios, not seconds, between runs.'));
    writeFileSync(join(config.homeDir, 'bench', `segments-${options.users}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`),
      JSON.stringify({ ...benchStamp(), users: options.users, events, coreSeconds, segmentSeconds, eventPredicates: predicates, models: summary!.results.map((r) => ({ model: r.model, seconds: r.seconds, status: r.status })) }, null, 2));
  });
  return []; // no target in the issue: the figures are context
}
