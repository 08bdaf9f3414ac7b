/**
 * One build writes at a time: a PostgreSQL advisory lock held on a dedicated
 * connection for the whole run. It is released when the connection ends, so a
 * killed build never leaves it behind.
 */
import pg from 'pg';

const LOCK_KEY = 'seglayer build';

export class BuildLockedError extends Error {
  override name = 'BuildLockedError';
}

export interface BuildLock {
  release(): Promise<void>;
}

export async function acquireBuildLock(url: string, options: { wait?: boolean } = {}): Promise<BuildLock> {
  const client = new pg.Client({ connectionString: url, application_name: 'seglayer build lock' });
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
      await client.end();
      const who = holder.rows[0] ? ` (backend pid ${holder.rows[0].pid}, connected ${holder.rows[0].since.toISOString()})` : '';
      throw new BuildLockedError(`another build is running on this warehouse${who}; rerun with --wait to queue behind it`);
    }
  }
  return { release: () => client.end() };
}
