/**
 * Where the real public data sets live (../shared/data, see its README for provenance and
 * licence). A clone beside the shared directory finds them at ../shared/data; a clone made
 * elsewhere (`git clone . $(mktemp -d)`) finds them beside the repository it was cloned
 * from; SEGLAYER_SHARED_DATA names the directory outright.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { PROJECT_ROOT } from './test-database.ts';

function candidates(): string[] {
  const found: string[] = [];
  if (process.env.SEGLAYER_SHARED_DATA) found.push(resolve(process.env.SEGLAYER_SHARED_DATA));
  found.push(resolve(PROJECT_ROOT, '../shared/data'));
  try {
    const origin = execFileSync('git', ['config', '--get', 'remote.origin.url'], { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim();
    const local = origin.startsWith('file://') ? origin.slice('file://'.length) : origin;
    if (local && isAbsolute(local)) found.push(resolve(local, '../shared/data'));
  } catch {
    // not a git checkout, or no origin: the other places only
  }
  return found;
}

/** The first of those directories that exists, else the first looked at. */
const DIRECTORIES = candidates();
export const SHARED_DATA = DIRECTORIES.find((dir) => existsSync(dir)) ?? DIRECTORIES[0]!;

/** A file of the shared data sets (it may be missing: see sharedDataMissing). */
export function sharedDataFile(relative: string): string {
  return join(SHARED_DATA, relative);
}

export function sharedDataMissing(file: string): string {
  return `${file} (shared data set) is missing; looked in ${DIRECTORIES.join(', ')} — set SEGLAYER_SHARED_DATA to the directory that holds online_retail/`;
}
