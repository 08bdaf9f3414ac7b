import type { Command } from 'commander';

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('benchmarks against baselines measured in the same run: the loader vs psql \\copy, a model build vs the same SQL in psql')
    .option('--users <n>', 'demo users (about 50 events each)', (v) => Number(v), 100_000)
    .option('--repeat <n>', 'loader runs of each contender', (v) => Number(v), 2)
    .option('--only <part>', 'loader | build')
    .action(async (options: { users: number; repeat: number; only?: string }) => {
      if (options.only !== 'build') {
        const { runLoaderBench } = await import('../../bench/loader-bench.ts');
        await runLoaderBench(options);
      }
      if (options.only !== 'loader') {
        const { runBuildBench } = await import('../../bench/build-bench.ts');
        await runBuildBench(options);
      }
    });
}
