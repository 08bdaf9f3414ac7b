/**
 * The `seglayer` command line. Commands are thin: they parse arguments and call
 * into the engine; every known failure prints one clear line and exits 1.
 */
import { Command, CommanderError } from 'commander';
import { UserError } from '../errors/user-error.js';
import { registerDbCommands } from './commands/db-command.ts';
import { registerDemoCommand } from './commands/demo-command.ts';
import { registerLoadCommand } from './commands/load-command.ts';
import { registerMigrateCommand } from './commands/migrate-command.ts';
import { registerStartCommand } from './commands/start-command.ts';
import { registerBenchCommand } from './commands/bench-command.ts';
import { registerBiCommands } from './commands/bi-commands.ts';
import { registerReportCommands } from './commands/report-commands.ts';
import { registerModelCommands } from './commands/model-commands.ts';
import { registerSegmentCommands } from './commands/segment-commands.ts';
import { registerServeCommands } from './commands/serve-command.ts';
import { red } from '../terminal/terminal-output.ts';

export async function main(argv: string[]): Promise<void> {
  const program = new Command('seglayer')
    .description('User segmentation on a PostgreSQL warehouse')
    .showHelpAfterError()
    .exitOverride();
  registerStartCommand(program);
  registerMigrateCommand(program);
  registerLoadCommand(program);
  registerDemoCommand(program);
  registerModelCommands(program);
  registerSegmentCommands(program);
  registerServeCommands(program);
  registerDbCommands(program);
  registerBenchCommand(program);
  registerBiCommands(program);
  registerReportCommands(program);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode);
    // A UserError's message is the whole story (every issue with its place): no stack trace.
    process.stderr.write(`${red('error:')} ${error instanceof UserError ? error.message : ((error as Error).stack ?? String(error))}\n`);
    process.exit(1);
  }
}
