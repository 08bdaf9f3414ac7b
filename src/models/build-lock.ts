/**
 * One build writes at a time: a PostgreSQL advisory lock held on a dedicated
 * connection for the whole run. It is released when the connection ends, so a
 * killed build never leaves it behind.
 *
 * Should that connection be lost mid-build (server restart, network), the lock
 * is gone too and another build may start: `lost` is set and the runner stops
 * publishing with a BuildLockLostError instead of crashing on the socket error.
 */
import pg from 'pg';
import { UserError } from '../errors/user-error.js';

const LOCK_KEY = 'seglayer build';

export class BuildLockedError extends UserError {}

export class BuildLockLostError extends UserError {}

export interface BuildLock {
  /** Backend pid of the connection holding the lock. */
  backendPid: number;
  /** Set when the lock's connection failed: the lock is no longer held. */
  readonly lost: BuildLockLostError | undefined;
  /** Throws `lost` if the lock is no longer held. */
  assertHeld(): void;
  release(): Promise<void>;
}

export async function acquireBuildLock(url: string, options: { wait?: boolean } = {}): Promise<BuildLock> {
  const client = new pg.Client({ connectionString: url, application_name: 'seglayer build lock', keepAlive: true });
  let lost: BuildLockLostError | undefined;
  let released = false;
  const onLost = (error?: Error) => {
    if (released || lost) return;
    lost = new BuildLockLostError(
      `the build lock's connection to PostgreSQL was lost${error ? ` (${error.message})` : ''}; the build stopped, models not yet published keep their previous version`,
    );
  };
  client.on('error', onLost);
  client.on('end', () => onLost());
  await client.connect();
  if (options.wait) {
    await client.query('select pg_advisory_lock(hashtext($1))', [LOCK_KEY]);
  } else {
    const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock(hashtext($1)) as locked', [LOCK_KEY]);
    if (!rows[0]!.locked) {
      const holder = await client.query<{ pid: number; since: Date }>(
        `select a.pid, a.backend_start as since from pg_locks l join pg_stat_activity a using (pid)
         where l.locktype = 'advisory' and l.objid = hashtext($1)::oid and l.granted limit 1`,
        [LOCK_KEY],
      );
      released = true;
      await client.end();
      const who = holder.rows[0] ? ` (backend pid ${holder.rows[0].pid}, connected ${holder.rows[0].since.toISOString()})` : '';
      throw new BuildLockedError(`another build is running on this warehouse${who}; rerun with --wait to queue behind it`);
    }
  }
  const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
  return {
    backendPid: rows[0]!.pid,
    get lost() {
      return lost;
    },
    assertHeld() {
      if (lost) throw lost;
    },
    release: async () => {
      released = true;
      await client.end().catch(() => {});
    },
  };
}
