/** dbt-like verbs over the models in models/: build, test, ls, compile. */
import type { Command } from 'commander';
import { compileModel } from '../../models/model-compiler.ts';
import { refreshServingGrants, servingAccess } from '../../database/serving-role.ts';
import { RESULTS_TABLE, STATISTICS_MODEL, writeExperimentResults } from '../../experiments/experiment-results-writer.ts';
import { buildGraph, runModels, type RunEvent, type RunSummary } from '../../models/model-runner.ts';
import { loadConfig } from '../../config.ts';
import { SEGMENT_CUBE_FILE, SEGMENT_MODEL, writeSegmentCube } from '../../segments/segment-cube.ts';
import { loadProject } from '../../project/project-loader.ts';
import { withSession } from '../session.ts';
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

function selection(command: Command): Command {
  return command
    .argument('[selectors...]', 'model names, +name (with upstream), name+ (with downstream), tag:x, layer:x')
    .option('-s, --select <selector>', 'same as the positional selectors (repeatable)', collect)
    .option('--exclude <selector>', 'leave these out (repeatable)', collect);
}

export function registerModelCommands(program: Command): void {
  selection(program.command('build').description('build the selected models (all by default), testing each before it is published'))
    .option('--full-refresh', 'rebuild incremental models from raw')
    .option('--threads <n>', 'models run at once (default: number of cores)', (v) => Number(v))
    .option('--wait', 'queue behind a running build instead of exiting')
    .action(async (selectors: string[], options: SelectFlags & { fullRefresh?: boolean; threads?: number; wait?: boolean }) => {
      await withSession(async ({ knex, warehouse, config }) => {
        const project = await loadProject(config);
        const summary = await runModels(knex, warehouse.url, project.models, { ...options, select: [...selectors, ...(options.select ?? [])], onEvent: printEvent });
        printSummary(summary);
        // Final experiment statistics are computed in TypeScript from the sufficient statistics just built.
        if (summary.results.some((r) => r.model === STATISTICS_MODEL && r.status === 'success')) {
          const results = await writeExperimentResults(knex, project.experiments);
          say(`${green('✓')} ${RESULTS_TABLE}: ${results.length} rows for ${project.experiments.length} experiment(s)`);
        }
        // A schema this build created is readable by the API role from now on.
        await refreshServingGrants(warehouse.url, servingAccess(config));
        if (!summary.ok) process.exitCode = 1;
        // The generated cube describes segments.user_segments: a project without that model
        // (fixture models under another SEGLAYER_MODELS_DIR, say) leaves it alone.
        else if (project.models.some((m) => m.name === SEGMENT_MODEL) && writeSegmentCube(config.projectRoot, project.segments)) say(`${green('✓')} updated ${SEGMENT_CUBE_FILE} from segments/ (a running API picks it up)`);
      });
    });

  selection(program.command('test').description('run the selected models\' tests against their published relations'))
    .action(async (selectors: string[], options: SelectFlags) => {
      await withSession(async ({ knex, warehouse, config }) => {
        const { models } = await loadProject(config);
        const summary = await runModels(knex, warehouse.url, models, { ...options, select: [...selectors, ...(options.select ?? [])], testsOnly: true, wait: true, onEvent: printEvent });
        printSummary(summary);
        // A schema this build created is readable by the API role from now on.
        await refreshServingGrants(warehouse.url, servingAccess(config));
        if (!summary.ok) process.exitCode = 1;
      });
    });

  selection(program.command('ls').description('list the models a selection would run, in order (no database needed)'))
    .action(async (selectors: string[], options: SelectFlags) => {
      const { models } = await loadProject(loadConfig());
      const graph = buildGraph(models);
      const names = graph.select([...selectors, ...(options.select ?? [])], options.exclude);
      say(table([['model', 'materialized', 'layer', 'upstream'], ...names.map((n) => {
        const m = graph.byName.get(n)!;
        return [n, m.materialized, m.layer, [...graph.upstream.get(n)!].join(', ') || '-'];
      })]));
    });

  program.command('compile <model>').description('print the SQL of a model (no database needed)')
    .action(async (name: string) => {
      const { models } = await loadProject(loadConfig());
      const model = models.find((m) => m.name === name || m.name.split('.')[1] === name);
      if (!model) throw new Error(`no model named "${name}"`);
      say(compileModel(model, new Set(models.map((m) => m.name))).sql);
    });
}
