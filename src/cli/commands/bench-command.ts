import type { Command } from 'commander';

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('measure the loader against psql \\copy on demo events (see src/bench)')
    .option('--users <n>', 'demo users (about 50 events each)', (v) => Number(v), 100_000)
    .option('--repeat <n>', 'runs of each contender', (v) => Number(v), 2)
    .action(async (options: { users: number; repeat: number }) => {
      const { runLoaderBench } = await import('../../bench/loader-bench.ts');
      await runLoaderBench(options);
    });
}
