/**
 * The stamp beside every bench figure (src/bench/bench-stamp.ts) names the commit the run started
 * at: taken once, it does not follow commits or edits made while a long run goes on.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { benchStamp } from '../../src/bench/bench-stamp.ts';

const repo = mkdtempSync(join(tmpdir(), 'seglayer-bench-stamp-'));
const gitIn = (cwd: string) => (...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd, encoding: 'utf8' }).trim();
const git = gitIn(repo);
afterAll(() => rmSync(repo, { recursive: true, force: true }));

it('names the commit at the first call, not a commit or an edit made during the run', () => {
  git('init', '-q');
  writeFileSync(join(repo, 'model.sql'), 'select 1');
  git('add', '.');
  git('commit', '-qm', 'first');
  const first = git('rev-parse', '--short', 'HEAD');

  const atStart = benchStamp(repo);
  expect(atStart.commit).toBe(first);
  expect(atStart.date).toMatch(/^\d{4}-\d\d-\d\d$/);

  // Meanwhile: an edit, then a commit.
  writeFileSync(join(repo, 'model.sql'), 'select 2');
  expect(benchStamp(repo)).toEqual(atStart);
  git('commit', '-qam', 'second');
  expect(git('rev-parse', '--short', 'HEAD')).not.toBe(first);
  expect(benchStamp(repo)).toEqual(atStart);
});

it('marks a working tree that differs from its commit', () => {
  const dirty = mkdtempSync(join(tmpdir(), 'seglayer-bench-stamp-dirty-'));
  try {
    const run = gitIn(dirty);
    run('init', '-q');
    writeFileSync(join(dirty, 'model.sql'), 'select 1');
    run('add', '.');
    run('commit', '-qm', 'first');
    writeFileSync(join(dirty, 'model.sql'), 'select 2');
    expect(benchStamp(dirty).commit).toBe(`${run('rev-parse', '--short', 'HEAD')}+changes`);
  } finally {
    rmSync(dirty, { recursive: true, force: true });
  }
});
