/**
 * dbt-like verbs over the models in models/: build, test, ls, compile.
 * What only build and test need (the database session, statistics writers, quality checks,
 * grants) is imported inside their actions, so `ls` and `compile` start fast.
 */
import type { Command } from 'commander';
import { UserError } from '../../errors/user-error.js';
import { didYouMean } from '../../errors/nearest-name.ts';
import type { Knex } from 'knex';
import type { Config } from '../../config.ts';
import { compileModel } from '../../models/model-compiler.ts';
import { buildGraph, runModels, type RunEvent, type RunSummary } from '../../models/model-runner.ts';
import { loadConfig } from '../../config.ts';
import { loadProject } from '../../project/project-loader.ts';
import { bold, count, dim, green, progress, red, say, table, yellow } from '../../terminal/terminal-output.ts';

interface SelectFlags {
  select?: string[];
  exclude?: string[];
}
const collect = (value: string, previous: string[] = []) => [...previous, value];

export function printEvent(event: RunEvent): void {
  if (event.kind === 'cleanup') progress(dim(`removed leftovers of an interrupted build: ${event.dropped.join(', ')}`));
  else if (event.kind === 'terminated') progress(dim(`ended ${event.statements} statement(s) still running for a build that died`));
  else if (event.kind === 'start') progress(dim(`[${event.index}/${event.total}] ${event.model} ...`));
  else {
    const r = event.result;
    const status = r.status === 'success' ? green('OK') : r.status === 'skipped' ? yellow('SKIP') : red('ERROR');
    const detail = r.status === 'success' ? `${r.rows === null ? '' : `${count(r.rows)} rows, `}${r.seconds.toFixed(2)} s${r.action ? `, ${r.action}` : ''}` : r.error ?? '';
    progress(`[${event.index}/${event.total}] ${status} ${r.model} ${dim(detail)}`);
  }
}

export function printSummary(summary: RunSummary): void {
  say(bold(`\nrun ${summary.runId}`));
  say(table([
    ['model', 'status', 'rows', 'seconds', 'tests'],
    ...summary.results.map((r) => [
      r.model, r.status, r.rows === null ? '-' : count(r.rows), r.seconds.toFixed(2),
      r.tests.length ? `${r.tests.filter((t) => t.status === 'pass').length}/${r.tests.length} pass` : '-',
    ]),
  ]));
  for (const r of summary.results.filter((x) => x.status !== 'success')) say(`${r.status === 'error' ? red('error') : yellow('skipped')} ${r.model}: ${r.error}`);
}

interface OutputFlags {
  json?: boolean;
  failFast?: boolean;
}

/** Source freshness and volume anomalies after a build or test run (printed, or with --json the whole run); false when one is an error. */
async function qualityChecksPass(knex: Knex, config: Config, summary: RunSummary, flags: OutputFlags): Promise<boolean> {
  const [{ runQualityChecks }, { printQuality }] = await Promise.all([import('../../quality/quality-checks.ts'), import('../quality-output.ts')]);
  const results = await runQualityChecks(knex, config, summary.runId);
  if (flags.json) say(JSON.stringify({ runId: summary.runId, ok: summary.ok && !results.some((r) => r.status === 'fail'), models: summary.results, quality: results }, null, 2));
  else printQuality(results);
  return !results.some((r) => r.status === 'fail');
}

function selection(command: Command): Command {
  return command
    .argument('[selectors...]', 'model names, +name (with upstream), name+ (with downstream), tag:x, layer:x')
    .option('-s, --select <selector>', 'same as the positional selectors (repeatable)', collect)
    .option('--exclude <selector>', 'leave these out (repeatable)', collect);
}

export function registerModelCommands(program: Command): void {
  selection(program.command('build').description('build the selected models (all by default), testing each before it is published'))
    .option('--fail-fast', 'stop starting models after the first failure')
    .option('--json', 'print the run (models, tests, data-quality checks) as JSON on stdout')
    .option('--full-refresh', 'rebuild incremental models from raw')
    .option('--threads <n>', 'models run at once (default: number of cores)', (v) => Number(v))
    .option('--wait', 'queue behind a running build instead of exiting')
    .action(async (selectors: string[], options: SelectFlags & OutputFlags & { fullRefresh?: boolean; threads?: number; wait?: boolean }) => {
      const [{ withSession }, { refreshServingGrants, servingAccess }, { writeStatisticsAfterBuild }, { SEGMENT_CUBE_FILE, SEGMENT_MODEL, writeSegmentCube }] = await Promise.all([
        import('../session.ts'), import('../../database/serving-role.ts'), import('../../project/statistics-after-build.ts'), import('../../segments/segment-cube.ts'),
      ]);
      await withSession(async ({ knex, warehouse, config }) => {
        const project = await loadProject(config);
        const summary = await runModels(knex, warehouse.url, project.models, { ...options, select: [...selectors, ...(options.select ?? [])], onEvent: printEvent });
        if (!options.json) printSummary(summary);
        // Final experiment and change statistics are computed in TypeScript from the sufficient statistics just built.
        for (const w of await writeStatisticsAfterBuild(knex, project, summary)) (options.json ? progress : say)(`${green('✓')} ${w.table}: ${w.rows} rows for ${w.of}`);
        // A schema this build created is readable by the API role from now on.
        await refreshServingGrants(warehouse.url, servingAccess(config));
        if (!(await qualityChecksPass(knex, config, summary, options))) process.exitCode = 1;
        if (!summary.ok) process.exitCode = 1;
        // The generated cube describes segments.user_segments: a project without that model
        // (fixture models under another SEGLAYER_MODELS_DIR, say) leaves it alone.
        else if (project.models.some((m) => m.name === SEGMENT_MODEL) && writeSegmentCube(config.projectRoot, project.segments)) (options.json ? progress : say)(`${green('✓')} updated ${SEGMENT_CUBE_FILE} from segments/ (a running API picks it up)`);
      });
    });

  selection(program.command('test').description('run the selected models\' tests against their published relations, then the data-quality checks'))
    .option('--fail-fast', 'stop starting models after the first failure')
    .option('--json', 'print the run (models, tests, data-quality checks) as JSON on stdout')
    .action(async (selectors: string[], options: SelectFlags & OutputFlags) => {
      const [{ withSession }, { refreshServingGrants, servingAccess }] = await Promise.all([import('../session.ts'), import('../../database/serving-role.ts')]);
      await withSession(async ({ knex, warehouse, config }) => {
        const { models } = await loadProject(config);
        const summary = await runModels(knex, warehouse.url, models, { ...options, select: [...selectors, ...(options.select ?? [])], testsOnly: true, wait: true, onEvent: printEvent });
        if (!options.json) printSummary(summary);
        // A schema this build created is readable by the API role from now on.
        await refreshServingGrants(warehouse.url, servingAccess(config));
        if (!(await qualityChecksPass(knex, config, summary, options))) process.exitCode = 1;
        if (!summary.ok) process.exitCode = 1;
      });
    });

  selection(program.command('ls').description('list the models a selection would run, in order (no database needed)'))
    .option('--json', 'print the models as JSON on stdout')
    .action(async (selectors: string[], options: SelectFlags & OutputFlags) => {
      const { models } = await loadProject(loadConfig());
      const graph = buildGraph(models);
      const names = graph.select([...selectors, ...(options.select ?? [])], options.exclude);
      if (options.json) {
        say(JSON.stringify(names.map((n) => {
          const m = graph.byName.get(n)!;
          return { model: n, materialized: m.materialized, layer: m.layer, owner: m.owner, file: m.file, upstream: [...graph.upstream.get(n)!] };
        }), null, 2));
        return;
      }
      say(table([['model', 'materialized', 'layer', 'upstream'], ...names.map((n) => {
        const m = graph.byName.get(n)!;
        return [n, m.materialized, m.layer, [...graph.upstream.get(n)!].join(', ') || '-'];
      })]));
    });

  program.command('compile <model>').description('print the SQL of a model (no database needed)')
    .action(async (name: string) => {
      const { models } = await loadProject(loadConfig());
      const model = models.find((m) => m.name === name || m.name.split('.')[1] === name);
      if (!model) throw new UserError(`no model named "${name}"${didYouMean(name, models.map((m) => m.name)) || ` (see seglayer ls)`}`);
      say(compileModel(model, new Set(models.map((m) => m.name))).sql);
    });
}
