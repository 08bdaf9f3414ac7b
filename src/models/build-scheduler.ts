/**
 * Decides which model runs when, without knowing what running one means (the
 * runner passes the I/O in as `run` and `skip`): a model starts once all its
 * selected upstream models succeeded, at most `threads` run at once, and a
 * model whose upstream failed or was skipped is skipped, naming that upstream.
 * Upstream models outside the selection are taken as already built.
 *
 * Of the models ready to start, the one heading the longest remaining chain goes
 * first when the caller knows how long models take (`seconds`: the critical path,
 * as a list scheduler does), so a long chain does not wait behind short leaves and
 * the run does not end on one thread; ties, and every choice without `seconds`, go
 * in the given order.
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
  /** Expected seconds of a model (its last build, say); undefined when unknown. */
  seconds?: (name: string) => number | undefined;
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
  const pending = byCriticalPath(order, upstream, options.seconds);
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

/**
 * The order with the models heading the longest chain of expected seconds first (a
 * model's own seconds plus its longest selected downstream chain); unknown seconds
 * count as the median of the known ones, and with none known the order stands.
 * Stable: equal chains keep the given order.
 */
function byCriticalPath(order: readonly string[], upstream: Map<string, string[]>, seconds: ScheduleOptions['seconds']): string[] {
  if (!seconds) return [...order];
  const expected = new Map(order.map((name) => [name, seconds(name)] as const).filter((e): e is [string, number] => e[1] !== undefined && Number.isFinite(e[1]) && e[1] >= 0));
  if (!expected.size) return [...order]; // a first build: nothing to go by
  const known = [...expected.values()].sort((x, y) => x - y);
  const fallback = known[Math.floor(known.length / 2)]!;
  const downstream = new Map(order.map((name) => [name, [] as string[]]));
  for (const name of order) for (const u of upstream.get(name)!) downstream.get(u)!.push(name);
  const chain = new Map<string, number>();
  for (const name of [...order].reverse()) {
    const rest = Math.max(0, ...downstream.get(name)!.map((d) => chain.get(d)!));
    chain.set(name, (expected.get(name) ?? fallback) + rest);
  }
  const position = new Map(order.map((name, i) => [name, i]));
  return [...order].sort((x, y) => chain.get(y)! - chain.get(x)! || position.get(x)! - position.get(y)!);
}
