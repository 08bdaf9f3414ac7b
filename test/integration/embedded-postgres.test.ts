/**
 * The embedded default: a real server in a data directory, reused by a second
 * process, restarted after a crash left a stale pid file, and stopped cleanly by
 * Ctrl-C and SIGTERM of the command that started it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, stopEmbeddedPostgres } from '../../src/database/embedded-postgres.ts';
import { PROJECT_ROOT } from '../support/test-database.ts';

const homes: string[] = [];
function home(mode = 0o755): string {
  const dir = mkdtempSync(join(tmpdir(), 'seglayer-home-'));
  chmodSync(dir, mode);
  homes.push(dir);
  return dir;
}
afterAll(async () => {
  for (const dir of homes) {
    await stopEmbeddedPostgres(join(dir, 'pg')).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Whether `pid` still runs. A zombie does not: it has exited, and only waits for its parent
 * (this process, when it started the server) to collect its status, which a loaded machine
 * does a moment after `stop()` has seen the server go (CI saw one once).
 */
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return existsSync('/proc/self') ? false : true; // gone between the two checks; no /proc (macOS): trust the signal
  }
};
const postmasterPid = (dataDir: string) => Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
async function selectOne(url: string): Promise<number> {
  const client = new pg.Client(url);
  await client.connect();
  const { rows } = await client.query('select 1 as one');
  await client.end();
  return rows[0].one;
}

/** Runs `seglayer db serve` until it prints its URL. */
function serve(seglayerHome: string, flags: string[] = ['--show-password']): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'scripts/seglayer.mjs'), 'db', 'serve', ...flags], {
    env: { ...process.env, SEGLAYER_HOME: seglayerHome, DATABASE_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      const url = /^url: (\S+)$/m.exec(out)?.[1];
      if (url) resolve({ child, url, output: () => out });
    });
    child.stderr!.on('data', (chunk) => (out += chunk));
    child.on('exit', (code) => reject(new Error(`db serve exited (${code}) before serving:\n${out}`)));
  });
}

describe('embedded PostgreSQL', () => {
  it('starts, is reused by a second caller, and stops when its owner stops it', async () => {
    const dataDir = join(home(), 'pg');
    const first = await startEmbeddedPostgres({ dataDir });
    expect(first.owned).toBe(true);
    expect(await selectOne(first.url)).toBe(1);
    const second = await startEmbeddedPostgres({ dataDir });
    expect(second).toMatchObject({ owned: false, port: first.port, url: first.url });
    const pid = postmasterPid(first.dataDir);
    await second.stop(); // not the owner: must not stop the server
    expect(await selectOne(first.url)).toBe(1);
    await first.stop();
    expect(alive(pid)).toBe(false);
  });

  it('starts after a crash left a stale postmaster.pid', async () => {
    const dataDir = join(home(), 'pg');
    const first = await startEmbeddedPostgres({ dataDir });
    const pid = postmasterPid(first.dataDir);
    process.kill(pid, 'SIGKILL');
    while (alive(pid)) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(join(first.dataDir, 'postmaster.pid'))).toBe(true);
    const again = await startEmbeddedPostgres({ dataDir });
    expect(again.owned).toBe(true);
    expect(await selectOne(again.url)).toBe(1);
    await again.stop();
  });

  it.each(['SIGINT', 'SIGTERM'] as const)('`seglayer db serve` stops its server on %s', async (signal) => {
    const seglayerHome = home();
    const { child, url, output } = await serve(seglayerHome);
    expect(await selectOne(url)).toBe(1);
    const dataDir = join(seglayerHome, 'pg');
    const pid = postmasterPid(dataDir);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill(signal);
    // With what it printed: CI once saw exit 1 here, and the code alone did not say why.
    const code = await exited;
    expect(code, `exit ${code}; it printed:\n${output()}`).toBe(signal === 'SIGINT' ? 130 : 143);
    expect(alive(pid)).toBe(false);
    expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);
  });

  it('`seglayer db serve` prints the password only when asked', async () => {
    const seglayerHome = home();
    const { child, url } = await serve(seglayerHome, []);
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGINT');
    await exited;
    const { password } = JSON.parse(readFileSync(join(seglayerHome, 'pg.credentials.json'), 'utf8')) as { password: string };
    expect(password.length).toBeGreaterThan(10);
    expect(url).toContain(':***@');
    expect(url).not.toContain(password);
  });

  it('reuses a server orphaned by a killed process, and `db stop` stops it', async () => {
    const seglayerHome = home();
    const { child, url } = await serve(seglayerHome);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    const dataDir = join(seglayerHome, 'pg');
    const again = await startEmbeddedPostgres({ dataDir });
    expect(again.owned).toBe(false);
    expect(String(again.port)).toBe(new URL(url).port);
    expect(await stopEmbeddedPostgres(dataDir)).toBe(true);
    expect(await stopEmbeddedPostgres(dataDir)).toBe(false);
  });

  it.runIf(process.getuid?.() === 0)('as root, opens a mode-700 parent just enough (o+x) for the postgres user', async () => {
    const locked = home(0o700);
    const notices: string[] = [];
    const server = await startEmbeddedPostgres({ dataDir: join(locked, 'pg'), onNotice: (line) => notices.push(line) });
    expect(server.dataDir).toBe(join(locked, 'pg'));
    expect(statSync(locked).mode & 0o777).toBe(0o701);
    expect(notices).toContain(`running as root: gave the postgres user traverse-only access (o+x) to ${locked}`);
    expect(await selectOne(server.url)).toBe(1);
    await server.stop();
  });
});
