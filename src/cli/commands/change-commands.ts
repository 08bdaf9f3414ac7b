/** `seglayer changes ls | analyze | report <name>`: changes that were not randomised (changes/*.yml), read as difference-in-differences. */
import type { Command } from 'commander';
import type { Knex } from 'knex';
import type { ChangeDefinition } from '../../changes/change-definition.ts';
import { analyzeChangeEffects, CHANGE_STATISTICS_MODEL, EFFECTS_TABLE, writeChangeEffects } from '../../changes/change-effects-writer.ts';
import { formatChangeReport } from '../../changes/change-report.ts';
import { EVERYONE_ELSE } from '../../changes/change-definition.ts';
import { loadConfig } from '../../config.ts';
import { UserError } from '../../errors/user-error.js';
import { loadProject } from '../../project/project-loader.ts';
import { green, say, table } from '../../terminal/terminal-output.ts';
import { withSession } from '../session.ts';

export class ChangeCommandError extends UserError {}

function find(changes: ChangeDefinition[], name: string): ChangeDefinition {
  const found = changes.find((c) => c.name === name);
  if (!found) throw new ChangeCommandError(`no change "${name}"; known: ${changes.map((c) => c.name).join(', ') || '(none in changes/)'}`);
  return found;
}

async function requireStatistics(knex: Knex): Promise<void> {
  const { rows } = await knex.raw(`select to_regclass(?) is not null as ok`, [CHANGE_STATISTICS_MODEL]);
  if (!rows[0].ok) throw new ChangeCommandError(`${CHANGE_STATISTICS_MODEL} is not built yet: run \`npm run seglayer -- build +${CHANGE_STATISTICS_MODEL}\``);
}

const segmentName = (g: ChangeDefinition['exposed']) => (g.definition === g.segment ? g.segment : `${g.definition}/${g.segment}`);

export function registerChangeCommands(program: Command): void {
  const changes = program.command('changes').description('changes that were not randomised (changes/*.yml): difference-in-differences with a parallel-trends check');

  changes.command('ls').description('list the change definitions').action(async () => {
    const { changes: definitions } = await loadProject(loadConfig());
    say(table([['name', 'owner', 'released', 'exposed', 'comparison', 'before / after', 'metrics', 'file'], ...definitions.map((c) => [
      c.name, c.owner, c.released_at.endsWith('T00:00:00.000Z') ? c.released_at.slice(0, 10) : c.released_at,
      segmentName(c.exposed), c.comparison === EVERYONE_ELSE ? 'everyone else' : segmentName(c.comparison), `${c.pre_days} d / ${c.post_days} d`,
      c.metrics.map((m) => `${m.name} (${m.type})`).join(', '), c.file,
    ])]));
  });

  changes.command('analyze').description(`compute ${EFFECTS_TABLE} from ${CHANGE_STATISTICS_MODEL} (build runs this too)`).action(async () => {
    await withSession(async ({ knex, config }) => {
      const { changes: definitions } = await loadProject(config);
      await requireStatistics(knex);
      const effects = await writeChangeEffects(knex, definitions);
      say(`${green('✓')} ${EFFECTS_TABLE}: ${effects.length} rows for ${definitions.length} change(s)`);
    });
  });

  changes.command('report <name>').description('before and after per group, the DiD with its 95% CI and p, parallel trends').action(async (name: string) => {
    await withSession(async ({ knex, config }) => {
      const change = find((await loadProject(config)).changes, name);
      await requireStatistics(knex);
      say(formatChangeReport(change, await analyzeChangeEffects(knex, change)));
    });
  });
}
