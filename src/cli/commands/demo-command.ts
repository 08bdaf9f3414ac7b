import { join } from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../../config.ts';
import { writeDemoFiles } from '../../demo/demo-generator.ts';
import { loadFile } from '../../load/batch-loader.ts';
import { withSession } from '../session.ts';
import { bold, count, dim, progress, say, seconds } from '../../terminal/terminal-output.ts';
import { printLoadReport } from './load-command.ts';

export interface DemoRun {
  users: number;
  seed: number;
  directory: string;
  truthPath: string;
  rowsLoaded: number;
  rowsQuarantined: number;
}

/** Write the demo files and load each through the same loader as real data. */
export async function runDemo(databaseUrl: string, config: Config, users: number, seed: number, malformedRate?: number): Promise<DemoRun> {
  const directory = join(config.homeDir, 'demo', `users-${users}-seed-${seed}`);
  const started = Date.now();
  say(`${bold('generating')} demo data for ${count(users)} users (seed ${seed}) in ${directory}`);
  const step = Math.max(1000, Math.ceil(users / 10 / 1000) * 1000);
  const manifest = await writeDemoFiles({
    users,
    seed,
    outDir: directory,
    malformedRate,
    onProgress: (done) => {
      if (done % step === 0 && done < users) progress(dim(`  ${count(done)} / ${count(users)} users generated`));
    },
  });
  say(dim(`  generated in ${seconds((Date.now() - started) / 1000)}`));
  let rowsLoaded = 0;
  let rowsQuarantined = 0;
  for (const file of manifest.files) {
    const report = await loadFile(databaseUrl, file.path, {
      into: file.into,
      source: `demo:${file.path.split('/').pop()}`,
      progressEvery: config.SEGLAYER_PROGRESS_EVERY,
      onProgress: (p) => progress(dim(`  ${count(p.rows)} rows read, ${Math.round((100 * p.bytesRead) / p.sizeBytes)}% of file`)),
    });
    printLoadReport(report);
    rowsLoaded += report.rowsLoaded;
    rowsQuarantined += report.rowsQuarantined;
  }
  say(`planted truths for tests and checks: ${manifest.truthPath}`);
  return { users, seed, directory, truthPath: manifest.truthPath, rowsLoaded, rowsQuarantined };
}

const positiveInt = (flag: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} expects a positive whole number, got "${value}"`);
  return n;
};

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('generate deterministic demo product data (with planted truths) and load it into the raw tables')
    .option('--users <n>', 'number of users', positiveInt('--users'), 5000)
    .option('--seed <s>', 'random seed: the same seed gives the same data', positiveInt('--seed'), 42)
    .option('--malformed-rate <r>', 'share of malformed event rows to plant (0 for clean data)', Number.parseFloat)
    .action(async (options: { users: number; seed: number; malformedRate?: number }) => {
      await withSession(async ({ warehouse, config }) => {
        await runDemo(warehouse.url, config, options.users, options.seed, options.malformedRate);
      });
    });
}
