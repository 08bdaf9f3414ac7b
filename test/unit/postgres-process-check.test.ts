/**
 * `stop` waits while the server's pid is a running postgres process. The check reads the
 * process state, so a zombie (exited, not yet collected by its parent) is stopped and a
 * process in the middle of exiting is not; a pid reused by another command is not postgres.
 * Uses a copy of `sleep` named `postgres`, which the kernel reports under that command name.
 * The race CI met (an exiting server whose command line is already empty, still closing its
 * files) lasts microseconds and cannot be produced on demand; the state check is what covers it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isPostgresProcess } from '../../src/database/embedded-postgres.ts';

const dir = mkdtempSync(join(tmpdir(), 'seglayer-fake-postgres-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function run(command: string): ChildProcess {
  const child = spawn(command, ['600'], { stdio: 'ignore' });
  children.push(child);
  return child;
}

const state = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.charAt(stat.lastIndexOf(')') + 2);
};

describe('isPostgresProcess', () => {
  it('is true for a running postgres, false once it is a zombie, false for another command', async () => {
    const fake = join(dir, 'postgres');
    copyFileSync('/bin/sleep', fake);
    const postgres = run(fake);
    await new Promise((resolve) => postgres.once('spawn', resolve));
    expect(isPostgresProcess(postgres.pid!)).toBe(true);

    // Kill it and read it as a zombie: Node collects exited children from its event loop,
    // and this loop does not yield, so the kernel keeps the zombie until the next await.
    postgres.kill('SIGKILL');
    const deadline = Date.now() + 5_000;
    while (state(postgres.pid!) !== 'Z' && Date.now() < deadline) {
      /* busy-wait without yielding: the event loop must not reap the child yet */
    }
    expect(state(postgres.pid!)).toBe('Z');
    expect(isPostgresProcess(postgres.pid!)).toBe(false);

    const other = run('/bin/sleep');
    await new Promise((resolve) => other.once('spawn', resolve));
    expect(isPostgresProcess(other.pid!)).toBe(false);
  });

  it('is false for a pid that does not exist', () => {
    expect(isPostgresProcess(2 ** 22 + 12345)).toBe(false);
  });
});
