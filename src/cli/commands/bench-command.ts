import type { Command } from 'commander';

const PARTS = ['loader', 'build', 'segments', 'marts', 'experiments', 'api', 'cli'] as const;

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('benchmarks against baselines measured in the same run: the loader vs psql \\copy, a model build vs the same SQL in psql, features + segments and the marts vs the core build, the semantic API vs its SQL run directly')
    .option('--users <n>', 'demo users (about 50 events each)', (v) => Number(v), 100_000)
    .option('--repeat <n>', 'loader runs of each contender', (v) => Number(v), 2)
    .option('--only <part>', PARTS.join(' | '))
    .action(async (options: { users: number; repeat: number; only?: string }) => {
      if (options.only !== undefined && !(PARTS as readonly string[]).includes(options.only)) {
        program.error(`error: --only must be one of ${PARTS.join(', ')} (got "${options.only}")`);
      }
      const runs = (part: (typeof PARTS)[number]) => options.only === undefined || options.only === part;
      if (runs('loader')) {
        const { runLoaderBench } = await import('../../bench/loader-bench.ts');
        await runLoaderBench(options);
      }
      if (runs('build')) {
        const { runBuildBench } = await import('../../bench/build-bench.ts');
        await runBuildBench(options);
      }
      if (runs('segments')) {
        const { runSegmentsBench } = await import('../../bench/segments-bench.ts');
        await runSegmentsBench(options);
      }
      if (runs('marts')) {
        const { runMartsBench } = await import('../../bench/marts-bench.ts');
        await runMartsBench(options);
      }
      if (runs('experiments')) {
        const { runExperimentsBench } = await import('../../bench/experiments-bench.ts');
        await runExperimentsBench(options);
      }
      if (runs('cli')) {
        const { runCliBench } = await import('../../bench/cli-bench.ts');
        await runCliBench({ repeat: Math.max(5, options.repeat) });
      }
      if (runs('api')) {
        const { runApiBench } = await import('../../bench/api-bench.ts');
        await runApiBench(options);
      }
    });
}
