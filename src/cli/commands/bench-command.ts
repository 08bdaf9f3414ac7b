import type { Command } from 'commander';
import type { TargetResult } from '../../bench/bench-target.ts';

const PARTS = ['loader', 'build', 'segments', 'marts', 'experiments', 'api', 'cli', 'compile'] as const;
type Part = (typeof PARTS)[number];

interface BenchOptions {
  users: number;
  repeat: number;
  only?: string;
  seconds: number;
  profile?: string;
  threads?: number;
}

/** Each part runs its benchmark and returns its figures against their targets (none for parts without one). */
const RUN: Record<Part, (options: BenchOptions) => Promise<TargetResult[]>> = {
  loader: async (o) => (await import('../../bench/loader-bench.ts')).runLoaderBench(o),
  build: async (o) => (await import('../../bench/build-bench.ts')).runBuildBench(o),
  segments: async (o) => (await import('../../bench/segments-bench.ts')).runSegmentsBench(o),
  marts: async (o) => (await import('../../bench/marts-bench.ts')).runMartsBench(o),
  experiments: async (o) => (await import('../../bench/experiments-bench.ts')).runExperimentsBench(o),
  cli: async (o) => (await import('../../bench/cli-bench.ts')).runCliBench({ repeat: Math.max(5, o.repeat) }),
  compile: async (o) => (await import('../../bench/compile-bench.ts')).runCompileBench({ repeat: Math.max(3, o.repeat) }),
  api: async (o) => (await import('../../bench/api-bench.ts')).runApiBench(o),
};

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('benchmarks against baselines measured in the same run: the loader vs psql \\copy, a model build vs the same SQL in psql, features + segments and the marts vs the core build, the semantic API vs its SQL run directly, `seglayer ls` on a generated 500-model project. Exits 0 when every target is met, 3 when one is not, 1 on error')
    .option('--users <n>', 'demo users (about 50 events each)', (v) => Number(v), 100_000)
    .option('--repeat <n>', 'loader runs of each contender', (v) => Number(v), 2)
    .option('--seconds <n>', 'API: timed seconds per run', (v) => Number(v), 10)
    .option('--only <part>', PARTS.join(' | '))
    .option('--threads <n>', 'build: models run at once, in every build of the run (default: number of cores, as `seglayer build`)', (v) => Number(v))
    .option('--profile <dir>', 'API: CPU profiles of the API process for the pre-aggregated query at 10 clients, written to <dir> (no targets judged)')
    .action(async (options: BenchOptions) => {
      if (options.only !== undefined && !(PARTS as readonly string[]).includes(options.only)) {
        program.error(`error: --only must be one of ${PARTS.join(', ')} (got "${options.only}")`);
      }
      if (!Number.isInteger(options.users) || options.users < 1) program.error(`error: --users must be a whole number >= 1 (got "${options.users}")`);
      if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 1)) program.error(`error: --threads must be a whole number >= 1 (got "${options.threads}")`);
      const { exitCodeOf, targetsTable } = await import('../../bench/bench-target.ts');
      const { benchStamp, describeStamp } = await import('../../bench/bench-stamp.ts');
      const { bold, say } = await import('../../terminal/terminal-output.ts');
      benchStamp(); // now, before the parts run: the commit their code is loaded from
      const results: TargetResult[] = [];
      for (const part of PARTS) {
        if (options.only === undefined || options.only === part) results.push(...(await RUN[part](options)));
      }
      if (results.length) {
        say(bold(`\ntargets ${describeStamp(benchStamp())}`));
        say(targetsTable(results));
      }
      // Every part closes what it opened (Cube's intervals included, see cube-adapter.ts),
      // so the process ends by itself once stdout drains, with the targets' status.
      process.exitCode = exitCodeOf(results);
    });
}
