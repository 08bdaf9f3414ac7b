/**
 * The `seglayer` command line. Commands are thin: they parse arguments and call
 * into the engine; every known failure prints one clear line and exits 1.
 *
 * Command groups load lazily: `seglayer token` imports the token command's module
 * and what it uses, nothing else (Cube loads only inside `serve` and `start`). Help,
 * or a name no group claims, loads every group, so a group registered here with a
 * wrong list of names still works, only slower. Adding a group is one line below.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { UserError } from '../errors/user-error.js';
import { red } from '../terminal/terminal-output.ts';

type Register = (program: Command) => void;

/** Top-level command names -> the module that registers them (a group may add subcommands to another's, after it). */
const COMMAND_GROUPS: [names: string[], load: () => Promise<Register>][] = [
  [['start'], async () => (await import('./commands/start-command.ts')).registerStartCommand],
  [['migrate'], async () => (await import('./commands/migrate-command.ts')).registerMigrateCommand],
  [['load'], async () => (await import('./commands/load-command.ts')).registerLoadCommand],
  [['demo'], async () => (await import('./commands/demo-command.ts')).registerDemoCommand],
  [['build', 'test', 'ls', 'compile'], async () => (await import('./commands/model-commands.ts')).registerModelCommands],
  [['segments'], async () => (await import('./commands/segment-commands.ts')).registerSegmentCommands],
  [['segments'], async () => (await import('./commands/segment-export-commands.ts')).registerSegmentExportCommands],
  [['events'], async () => (await import('./commands/event-commands.ts')).registerEventCommands],
  [['serve', 'token'], async () => (await import('./commands/serve-command.ts')).registerServeCommands],
  [['db'], async () => (await import('./commands/db-command.ts')).registerDbCommands],
  [['bench'], async () => (await import('./commands/bench-command.ts')).registerBenchCommand],
  [['batches', 'quarantine'], async () => (await import('./commands/batch-commands.ts')).registerBatchCommands],
  [['stats'], async () => (await import('./commands/stats-command.ts')).registerStatsCommands],
  [['experiments'], async () => (await import('./commands/experiment-commands.ts')).registerExperimentCommands],
  [['changes'], async () => (await import('./commands/change-commands.ts')).registerChangeCommands],
  [['bi'], async () => (await import('./commands/bi-commands.ts')).registerBiCommands],
  [['report', 'docs'], async () => (await import('./commands/report-commands.ts')).registerReportCommands],
  [['debug'], async () => (await import('./commands/debug-command.ts')).registerDebugCommand],
];

/** The package's version, for `--version`. */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** The command named on the line (the first word that is not an option), if any. */
function commandName(argv: string[]): string | undefined {
  return argv.slice(2).find((arg) => !arg.startsWith('-'));
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command('seglayer')
    .description('User segmentation on a PostgreSQL warehouse')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride();
  const name = commandName(argv);
  const versionOnly = name === undefined && argv.slice(2).some((arg) => arg === '-V' || arg === '--version');
  const owners = COMMAND_GROUPS.filter(([names]) => name !== undefined && names.includes(name));
  const groups = versionOnly ? [] : owners.length ? owners : COMMAND_GROUPS;
  for (const [, load] of groups) (await load())(program);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode);
    // A UserError's message is the whole story (every issue with its place): no stack trace.
    // A connection lost after the first check still reads as one line, not pg's stack.
    const message = error instanceof UserError ? error.message : ((await lostConnection(error)) ?? (error as Error).stack ?? String(error));
    process.stderr.write(`${red('error:')} ${message}\n`);
    process.exit(1);
  }
}

async function lostConnection(error: unknown): Promise<string | undefined> {
  try {
    const [{ loadConfig }, { describeConnectionError }] = await Promise.all([import('../config.ts'), import('../database/connection-check.ts')]);
    const url = loadConfig().DATABASE_URL;
    return url ? describeConnectionError(error, url) : undefined;
  } catch {
    return undefined;
  }
}
