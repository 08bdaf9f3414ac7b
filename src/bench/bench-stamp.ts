/**
 * When and at which commit a benchmark ran, printed beside its figures and stored with
 * them: a figure quoted in the README must say both.
 */
import { execFileSync } from 'node:child_process';

export interface BenchStamp {
  /** UTC date of the run, YYYY-MM-DD. */
  date: string;
  /** Short commit hash, with `+changes` when the working tree differs from it. */
  commit: string;
}

export function benchStamp(projectRoot = process.cwd()): BenchStamp {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: projectRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  let commit = 'unknown commit';
  try {
    commit = git('rev-parse', '--short', 'HEAD') + (git('status', '--porcelain', '--untracked-files=no') ? '+changes' : '');
  } catch {
    // not a git checkout: the date alone is still worth printing
  }
  return { date: new Date().toISOString().slice(0, 10), commit };
}

/** `(measured 2026-11-30 at 1a2b3c4)` for a heading. */
export function describeStamp(stamp: BenchStamp): string {
  return `(measured ${stamp.date} at ${stamp.commit})`;
}
