/** `seglayer experiments ls | analyze | report <name>`: experiments as code, analysed per segment. */
import type { Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { UserError } from '../../errors/user-error.js';
import type { ExperimentDefinition } from '../../experiments/experiment-definition.ts';
import { formatExperimentReport } from '../../experiments/experiment-report.ts';
import { analyze, STATISTICS_MODEL, writeExperimentResults, RESULTS_TABLE } from '../../experiments/experiment-results-writer.ts';
import { loadProject } from '../../project/project-loader.ts';
import { green, say, table } from '../../terminal/terminal-output.ts';
import { withSession } from '../session.ts';

export class ExperimentCommandError extends UserError {}

function find(experiments: ExperimentDefinition[], name: string): ExperimentDefinition {
  const found = experiments.find((e) => e.name === name);
  if (!found) throw new ExperimentCommandError(`no experiment "${name}"; known: ${experiments.map((e) => e.name).join(', ') || '(none in experiments/)'}`);
  return found;
}

async function requireStatistics(knex: import('knex').Knex): Promise<void> {
  const { rows } = await knex.raw(`select to_regclass(?) is not null as ok`, [STATISTICS_MODEL]);
  if (!rows[0].ok) throw new ExperimentCommandError(`${STATISTICS_MODEL} is not built yet: run \`npm run seglayer -- build +${STATISTICS_MODEL}\``);
}

export function registerExperimentCommands(program: Command): void {
  const experiments = program.command('experiments').description('experiments defined as code in experiments/*.yml');

  experiments.command('ls').description('list the experiment definitions').action(async () => {
    const { experiments: definitions } = await loadProject(loadConfig());
    say(table([['name', 'owner', 'variants', 'window', 'metrics', 'segments', 'file'], ...definitions.map((e) => [
      e.name, e.owner, e.variants.map((v) => (v.name === e.control ? `${v.name} (control)` : v.name)).join(', '), `${e.window_days} d`,
      e.metrics.map((m) => `${m.name} (${m.type}${m.cuped ? ', CUPED' : ''})`).join(', '), e.segments.join(', ') || '-', e.file,
    ])]));
  });

  experiments.command('analyze').description(`compute ${RESULTS_TABLE} from ${STATISTICS_MODEL} (build runs this too)`).action(async () => {
    await withSession(async ({ knex, config }) => {
      const { experiments: definitions } = await loadProject(config);
      await requireStatistics(knex);
      const results = await writeExperimentResults(knex, definitions);
      say(`${green('✓')} ${RESULTS_TABLE}: ${results.length} rows for ${definitions.length} experiment(s)`);
    });
  });

  experiments.command('report <name>').description('effects per segment with 95% CIs, p and adjusted p, SRM, CUPED').action(async (name: string) => {
    await withSession(async ({ knex, config }) => {
      const experiment = find((await loadProject(config)).experiments, name);
      await requireStatistics(knex);
      say(formatExperimentReport(experiment, await analyze(knex, experiment)));
    });
  });
}
