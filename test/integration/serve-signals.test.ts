/**
 * Ctrl-C on `seglayer serve` over the embedded warehouse: the API closes before the embedded
 * server stops. Both listen for the signal; when the server's fast shutdown came first it ended
 * Cube's idle pool connections while the API was still closing, and Cube's driver printed
 * "Unexpected error on idle client" and a stack for each (seen on `npm start`). Real processes:
 * demo data, a build and the API, each a `seglayer` command on a fresh SEGLAYER_HOME.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { stopEmbeddedPostgres } from '../../src/database/embedded-postgres.ts';
import { PROJECT_ROOT } from '../support/test-database.ts';

const home = mkdtempSync(join(tmpdir(), 'seglayer-serve-signals-'));
const env = { ...process.env, SEGLAYER_HOME: home, DATABASE_URL: '', PORT: '' };
const seglayer = (...args: string[]) => execFileSync(process.execPath, [join(PROJECT_ROOT, 'scripts/seglayer.mjs'), ...args], { env, cwd: PROJECT_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

afterAll(async () => {
  await stopEmbeddedPostgres(join(home, 'pg')).catch(() => {});
  rmSync(home, { recursive: true, force: true });
});

it('Ctrl-C closes the API, then stops the embedded server: no pool error, exit 130', async () => {
  seglayer('demo', '--users', '40');
  seglayer('build');
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'scripts/seglayer.mjs'), 'serve', '--port', '0'], { env, cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (out += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (/^export TOKEN=/m.test(out)) (clearInterval(poll), resolve());
    }, 100);
    void exited.then((code) => (clearInterval(poll), reject(new Error(`serve exited (${code}) before serving:\n${out}`))));
  });
  const apiUrl = /semantic API: \S*?(http:\/\/\S+\/cubejs-api\/v1)/.exec(out.replace(/\x1b\[[0-9;]*m/g, ''))![1]!;
  const token = /^export TOKEN=(\S+)$/m.exec(out)![1]!;
  // A query, so Cube's pool holds idle connections to the warehouse when the signal comes.
  const answer = await fetch(`${apiUrl}/load?query=${encodeURIComponent(JSON.stringify({ measures: ['user_value.count'] }))}`, { headers: { authorization: `Bearer ${token}` } });
  expect(answer.status).toBe(200);
  expect(((await answer.json()) as { data: unknown[] }).data).toHaveLength(1);

  child.kill('SIGINT');
  expect(await exited).toBe(130);
  expect(out).not.toMatch(/Unexpected error on idle client|terminating connection due to administrator command/);
  expect(existsSync(join(home, 'pg', 'postmaster.pid'))).toBe(false);
}, 300_000);
