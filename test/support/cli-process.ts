/** Runs the real CLI (`node scripts/seglayer.mjs ...`) as a child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from './test-database.ts';

export interface CliRun {
  child: ChildProcess;
  /** Resolves when the process exits, with its code (null if killed by a signal) and output. */
  done: Promise<{ code: number | null; output: string }>;
}

export function spawnCli(args: string[], env: Record<string, string>): CliRun {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'scripts/seglayer.mjs'), ...args], {
    env: { ...process.env, DATABASE_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  return { child, done: new Promise((resolve) => child.on('exit', (code) => resolve({ code, output }))) };
}

/** Counts for the reliability suite: reduced by default, full with SEGLAYER_RELIABILITY_FULL=1. */
export const reliabilityFull = process.env.SEGLAYER_RELIABILITY_FULL === '1';
