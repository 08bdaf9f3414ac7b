import type { Command } from 'commander';
import { migrateLatest, migrateRollback } from '../../database/migrator.ts';
import { withSession } from '../session.ts';
import { say } from '../../terminal/terminal-output.ts';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply the Knex migrations (raw landing tables, ops bookkeeping); safe to repeat')
    .option('--rollback', 'undo the last batch of migrations')
    .option('--all', 'with --rollback: undo every migration (drops raw data!)')
    .action(async (options: { rollback?: boolean; all?: boolean }) => {
      await withSession(
        async ({ knex, config, warehouse }) => {
          const { names } = options.rollback
            ? await migrateRollback(knex, config.projectRoot, options.all)
            : await migrateLatest(knex, config.projectRoot);
          const verb = options.rollback ? 'rolled back' : 'applied';
          say(names.length ? names.map((n) => `${verb} ${n}`).join('\n') : 'already up to date');
          say(`warehouse: ${warehouse.location}`);
        },
        { migrate: false },
      );
    });
}
