/**
 * Decides which model runs when, without knowing what running one means (the
 * runner passes the I/O in as `run` and `skip`): a model starts once all its
 * selected upstream models succeeded, at most `threads` run at once, ties go
 * in the given order, and a model whose upstream failed or was skipped is
 * skipped, naming that upstream. Upstream models outside the selection are
 * taken as already built.
 */

export interface ScheduleOptions {
  /** The selected models, upstream before downstream; ties start in this order. */
  order: readonly string[];
  /** Direct upstream models of a model (may include unselected ones). */
  upstream: (name: string) => Iterable<string>;
  /** How many models may run at once (at least 1). */
  threads: number;
  /** Runs one model; resolves to whether it succeeded. A rejection stops the schedule. */
  run: (name: string, index: number) => Promise<boolean>;
  /** Records a model not run because `upstream` did not build. */
  skip: (name: string, upstream: string, index: number) => Promise<void> | void;
}

export type ScheduledStatus = 'success' | 'error' | 'skipped';

/**
 * Runs the schedule to the end and returns each model's status. `index` counts
 * models as they start or are skipped (1-based). If `run` or `skip` rejects,
 * nothing more starts; the models already running finish, then the first error
 * is thrown.
 */
export async function runSchedule(options: ScheduleOptions): Promise<Map<string, ScheduledStatus>> {
  const { order, threads } = options;
  if (!(threads >= 1)) throw new Error(`threads must be at least 1, not ${threads}`);
  const selected = new Set(order);
  const upstream = new Map(order.map((name) => [name, [...new Set(options.upstream(name))].filter((u) => selected.has(u))]));
  const status = new Map<string, ScheduledStatus>();
  const pending = [...order];
  const running = new Map<string, Promise<void>>();
  let index = 0;
  let failure: { error: unknown } | undefined;

  while (!failure && (pending.length || running.size)) {
    let started = false;
    for (const name of [...pending]) {
      if (failure) break;
      const ups = upstream.get(name)!;
      const notBuilt = ups.find((u) => status.has(u) && status.get(u) !== 'success');
      if (notBuilt) {
        pending.splice(pending.indexOf(name), 1);
        status.set(name, 'skipped');
        try {
          await options.skip(name, notBuilt, ++index);
        } catch (error) {
          failure = { error };
        }
        started = true;
        continue;
      }
      if (running.size < threads && ups.every((u) => status.get(u) === 'success')) {
        pending.splice(pending.indexOf(name), 1);
        const task = options
          .run(name, ++index)
          .then(
            (ok) => void status.set(name, ok ? 'success' : 'error'),
            (error: unknown) => {
              status.set(name, 'error');
              failure ??= { error };
            },
          )
          .finally(() => running.delete(name));
        running.set(name, task);
        started = true;
      }
    }
    if (failure) break;
    if (running.size && !started) await Promise.race(running.values());
    else if (!running.size && !started && pending.length) throw new Error(`cannot schedule ${pending.join(', ')}`);
  }
  await Promise.all(running.values());
  if (failure) throw failure.error;
  return status;
}
