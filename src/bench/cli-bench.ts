/**
 * CLI start-up: how long `seglayer --help`, `--version` and `token` take from process
 * start to exit, as wall time and the process's own CPU time (user + system, read at
 * exit by a preloaded hook, so a busy machine inflates wall time but much less CPU). The
 * baselines are plain `node` and node with tsx registered: what no command can beat.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchStamp, describeStamp } from './bench-stamp.ts';
import { bold, dim, say, table } from '../terminal/terminal-output.ts';
import type { TargetResult } from './bench-target.ts';

const CPU_HOOK = `data:text/javascript,process.on('exit',()=>{const u=process.cpuUsage();process.stderr.write('SEGLAYER_CPU '+(u.user+u.system)+'\\n')})`;

interface Timing {
  wallMs: number;
  cpuMs: number;
}

function timeOnce(args: string[], env: NodeJS.ProcessEnv): Timing {
  const started = process.hrtime.bigint();
  const run = spawnSync(process.execPath, ['--import', CPU_HOOK, ...args], { env, encoding: 'utf8' });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (run.status !== 0) throw new Error(`${args.join(' ')} exited ${run.status}: ${run.stderr}`);
  const cpu = /SEGLAYER_CPU (\d+)/.exec(run.stderr);
  return { wallMs, cpuMs: cpu ? Number(cpu[1]) / 1000 : Number.NaN };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export async function runCliBench(options: { repeat: number }): Promise<TargetResult[]> {
  const root = process.cwd();
  const cli = join(root, 'scripts/seglayer.mjs');
  const env = { ...process.env, SEGLAYER_HOME: mkdtempSync(join(tmpdir(), 'seglayer-cli-bench-')) };
  const cases: [string, string[]][] = [
    ['node (baseline)', ['-e', '0']],
    ['node + tsx (baseline)', ['--import', 'tsx', '-e', '0']],
    ['seglayer --version', [cli, '--version']],
    ['seglayer --help', [cli, '--help']],
    ['seglayer token', [cli, 'token', '--claims', '{"role":"admin"}']],
  ];
  const repeat = Math.max(3, options.repeat);
  say(dim(`CLI start-up, ${repeat} runs each (median) ...`));
  const rows = cases.map(([name, args]) => {
    timeOnce(args, env); // warm the tsx cache and the file system
    const runs = Array.from({ length: repeat }, () => timeOnce(args, env));
    return [name, median(runs.map((r) => r.wallMs)).toFixed(0), median(runs.map((r) => r.cpuMs)).toFixed(0)];
  });
  say(dim(describeStamp(benchStamp())));
  say(bold('\nCLI start-up'));
  say(table([['command', 'wall ms', 'cpu ms'], ...rows]));
  say(dim('2 cores, noisy machine: compare against the baselines rather than across runs.'));
  return []; // no target in the issue: the figures are context
}
