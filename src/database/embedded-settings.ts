/**
 * Server settings of the embedded PostgreSQL, sized to the machine: PostgreSQL's own
 * defaults (128 MB of shared buffers, 1 GB of WAL between checkpoints) are made for a
 * server sharing a small host, and the embedded one is the whole warehouse of a laptop
 * or a CI runner. A server reached through DATABASE_URL keeps whatever its owner set;
 * the README's section on the embedded PostgreSQL gives the same advice for it.
 *
 * Why each one, for a build (measured with `npm run bench -- --only build`):
 * - shared_buffers, a quarter of memory (at most 8 GB): an incremental build updates
 *   the indexes of tables of tens of millions of rows at scattered keys (core.fct_events'
 *   message_id, the user_key indexes of the marts); with 128 MB every one of those pages
 *   was read back from the OS cache and written out again by the backend itself.
 * - effective_cache_size, half of memory: what the planner may assume is cached when it
 *   weighs an index scan against a sequential one (the default assumes 4 GB).
 * - max_wal_size 4 GB: a full build writes tens of GB of WAL; at 1 GB a checkpoint came
 *   every few seconds, and every page changed after one is logged whole again.
 * - maintenance_work_mem, 1/32 of memory (at most 1 GB): the indexes a table build
 *   creates on the new table sort in memory.
 */
import { totalmem } from 'node:os';

const MB = 1024 * 1024;

/**
 * The memory this process may use: the machine's, or a container's limit when one is set (a cgroup
 * limit, which Node reports as a huge number when there is none).
 */
export function availableMemory(): number {
  const limit = process.constrainedMemory?.() ?? 0;
  return limit > 0 && limit < totalmem() ? limit : totalmem();
}

/** `name=value` pairs for `postgres -c`, for a machine with `memoryBytes` of memory. */
export function embeddedServerSettings(memoryBytes: number = availableMemory()): string[] {
  const megabytes = (bytes: number) => `${Math.max(1, Math.floor(bytes / MB))}MB`;
  const clamp = (value: number, low: number, high: number) => Math.min(high, Math.max(low, value));
  return [
    `shared_buffers=${megabytes(clamp(memoryBytes / 4, 128 * MB, 8192 * MB))}`,
    `effective_cache_size=${megabytes(clamp(memoryBytes / 2, 512 * MB, 64 * 1024 * MB))}`,
    `maintenance_work_mem=${megabytes(clamp(memoryBytes / 32, 64 * MB, 1024 * MB))}`,
    'max_wal_size=4GB',
  ];
}
