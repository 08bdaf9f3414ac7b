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

const taken = new Map<string, BenchStamp>();

/**
 * Taken once per process and project, at the first call (`seglayer bench` takes it before any
 * part runs): the commit the run's code was loaded from. A 500k-user run lasts over an hour; taken
 * at its end, the stamp named a commit made meanwhile, and "+changes" for docs being edited.
 */
export function benchStamp(projectRoot = process.cwd()): BenchStamp {
  const earlier = taken.get(projectRoot);
  if (earlier) return earlier;
  const git = (...args: string[]) => execFileSync('git', args, { cwd: projectRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  let commit = 'unknown commit';
  try {
    commit = git('rev-parse', '--short', 'HEAD') + (git('status', '--porcelain', '--untracked-files=no') ? '+changes' : '');
  } catch {
    // not a git checkout: the date alone is still worth printing
  }
  const stamp = { date: new Date().toISOString().slice(0, 10), commit };
  taken.set(projectRoot, stamp);
  return stamp;
}

/** `(measured 2026-11-30 at 1a2b3c4)` for a heading. */
export function describeStamp(stamp: BenchStamp): string {
  return `(measured ${stamp.date} at ${stamp.commit})`;
}
