/**
 * The `seglayer` command line. Commands are thin: they parse arguments and call
 * into the engine; every known failure prints one clear line and exits 1.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config.ts';
import { LoadError } from '../load/batch-loader.ts';
import { LoadFormatError } from '../load/load-format.ts';
import { MappingError } from '../load/column-mapping.ts';
import { UnknownTableError } from '../load/table-contracts.ts';
import { registerDbCommands } from './commands/db-command.ts';
import { registerDemoCommand } from './commands/demo-command.ts';
import { registerLoadCommand } from './commands/load-command.ts';
import { registerMigrateCommand } from './commands/migrate-command.ts';
import { registerStartCommand } from './commands/start-command.ts';
import { registerBenchCommand } from './commands/bench-command.ts';
import { registerModelCommands } from './commands/model-commands.ts';
import { registerSegmentCommands, SegmentCommandError } from './commands/segment-commands.ts';
import { SegmentDefinitionError } from '../segments/segment-files.ts';
import { registerServeCommands, TokenCommandError } from './commands/serve-command.ts';
import { CubeModelError } from '../serve/api-server.ts';
import { AccessPolicyError } from '../governance/access-policy.js';
import { ServingRoleError } from '../database/serving-role.ts';
import { ModelDefinitionError } from '../models/model-discovery.ts';
import { ModelGraphError } from '../models/model-graph.ts';
import { ModelCompileError } from '../models/model-compiler.ts';
import { BuildLockedError, BuildLockLostError } from '../models/build-lock.ts';
import { WarehouseLostError } from '../database/warehouse-connection.ts';
import { red } from '../terminal/terminal-output.ts';

/** Errors whose message is the whole story: no stack trace needed. */
const EXPECTED = [ConfigError, LoadError, MappingError, UnknownTableError, ModelDefinitionError, ModelGraphError, ModelCompileError, BuildLockedError, BuildLockLostError, WarehouseLostError, TokenCommandError, AccessPolicyError, CubeModelError, SegmentCommandError, SegmentDefinitionError, ServingRoleError, LoadFormatError];

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
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode);
    const expected = EXPECTED.some((type) => error instanceof type);
    process.stderr.write(`${red('error:')} ${expected ? (error as Error).message : ((error as Error).stack ?? String(error))}\n`);
    process.exit(1);
  }
}
