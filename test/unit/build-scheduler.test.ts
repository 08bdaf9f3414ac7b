/**
 * The scheduler with fake async models: no database, only timing and order.
 */
import { describe, expect, it } from 'vitest';
import { runSchedule, type ScheduleOptions } from '../../src/models/build-scheduler.ts';

/** A DAG as `name: [upstream...]`, in the order given (upstream first). */
type Dag = Record<string, string[]>;

function harness(dag: Dag, { threads = 2, fail = [] as string[], delays = {} as Record<string, number> } = {}) {
  const log: string[] = [];
  const skipped: [string, string][] = [];
  let active = 0;
  let maxActive = 0;
  const options: ScheduleOptions = {
    order: Object.keys(dag),
    upstream: (name) => dag[name]!,
    threads,
    run: async (name) => {
      active++;
      maxActive = Math.max(maxActive, active);
      log.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, delays[name] ?? 5));
      for (const u of dag[name]!) if (!log.includes(`end ${u}`) && u in dag) throw new Error(`${name} ran before ${u} ended`);
      log.push(`end ${name}`);
      active--;
      return !fail.includes(name);
    },
    skip: (name, upstream) => void skipped.push([name, upstream]),
  };
  return { options, log, skipped, maxActive: () => maxActive };
}

const diamond: Dag = { a: [], b: ['a'], c: ['a'], d: ['b', 'c'] };

describe('the build scheduler', () => {
  it('runs every model after its upstream', async () => {
    const h = harness(diamond, { threads: 4 });
    const status = await runSchedule(h.options);
    expect(Object.fromEntries(status)).toEqual({ a: 'success', b: 'success', c: 'success', d: 'success' });
    expect(h.log.indexOf('start d')).toBeGreaterThan(Math.max(h.log.indexOf('end b'), h.log.indexOf('end c')));
  });

  it.each([1, 2, 3])('never runs more than %i at once', async (threads) => {
    const dag: Dag = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`m${i}`, []]));
    const h = harness(dag, { threads });
    await runSchedule(h.options);
    expect(h.maxActive()).toBe(threads);
  });

  it('skips exactly the downstream of a failure, naming the upstream that did not build', async () => {
    const dag: Dag = { a: [], b: ['a'], c: ['b'], other: [], after_other: ['other'], mixed: ['b', 'other'] };
    const h = harness(dag, { fail: ['a'] });
    const status = await runSchedule(h.options);
    expect(Object.fromEntries(status)).toEqual({ a: 'error', b: 'skipped', c: 'skipped', other: 'success', after_other: 'success', mixed: 'skipped' });
    expect(h.skipped).toEqual([['b', 'a'], ['c', 'b'], ['mixed', 'b']]);
    expect(h.log).not.toContain('start b');
  });

  it('independent branches keep running while a failed one is skipped', async () => {
    const dag: Dag = { bad: [], good: [], good_child: ['good'], bad_child: ['bad'] };
    const h = harness(dag, { threads: 2, fail: ['bad'], delays: { bad: 1, good: 30 } });
    const status = await runSchedule(h.options);
    expect(status.get('bad_child')).toBe('skipped');
    expect(status.get('good_child')).toBe('success');
  });

  it('starts ties in the given order, the same every time', async () => {
    const dag: Dag = { z: [], y: [], x: [], w: ['z'] };
    const starts = async () => {
      const h = harness(dag, { threads: 1 });
      await runSchedule(h.options);
      return h.log.filter((l) => l.startsWith('start'));
    };
    expect(await starts()).toEqual(['start z', 'start y', 'start x', 'start w']);
    expect(await starts()).toEqual(await starts());
  });

  it('with expected seconds, starts the model heading the longest chain first', async () => {
    // Given order: the leaves first. The chain head → tail is 1 + 5 s, each leaf 1 s.
    const dag: Dag = { leaf1: [], leaf2: [], head: [], tail: ['head'] };
    const seconds: Record<string, number> = { leaf1: 1, leaf2: 1, head: 1, tail: 5 };
    const h = harness(dag, { threads: 1 });
    await runSchedule({ ...h.options, seconds: (name) => seconds[name] });
    expect(h.log.filter((l) => l.startsWith('start'))).toEqual(['start head', 'start tail', 'start leaf1', 'start leaf2']);
    // Without seconds the given order stands.
    const plain = harness(dag, { threads: 1 });
    await runSchedule(plain.options);
    expect(plain.log.filter((l) => l.startsWith('start'))).toEqual(['start leaf1', 'start leaf2', 'start head', 'start tail']);
  });

  it('counts a model without a known time as the median of the known ones', async () => {
    // new_model (unknown: the median of 0.1, 1.5 and 2 s) heads a 3.5 s chain, longer than slow_leaf (1.5 s); quick goes last.
    const dag: Dag = { quick: [], slow_leaf: [], new_model: [], after_new: ['new_model'] };
    const seconds: Record<string, number | undefined> = { quick: 0.1, slow_leaf: 1.5, after_new: 2, new_model: undefined };
    const h = harness(dag, { threads: 1 });
    await runSchedule({ ...h.options, seconds: (name) => seconds[name] });
    expect(h.log.filter((l) => l.startsWith('start'))).toEqual(['start new_model', 'start after_new', 'start slow_leaf', 'start quick']);
  });

  it('numbers models as they start or are skipped', async () => {
    const indexes: [string, number][] = [];
    await runSchedule({
      order: ['a', 'b', 'c'],
      upstream: (n) => (n === 'b' ? ['a'] : []),
      threads: 1,
      run: async (name, index) => (indexes.push([name, index]), name !== 'a'),
      skip: (name, _, index) => void indexes.push([name, index]),
    });
    expect(indexes).toEqual([['a', 1], ['b', 2], ['c', 3]]);
  });

  it('upstream models outside the selection count as built', async () => {
    const status = await runSchedule({ order: ['b'], upstream: () => ['a'], threads: 1, run: async () => true, skip: () => {} });
    expect(status.get('b')).toBe('success');
  });

  it('a run that throws stops new starts, lets running ones finish, then throws', async () => {
    const dag: Dag = { boom: [], slow: [], later: [] };
    const h = harness(dag, { threads: 2, delays: { slow: 20 } });
    const run = h.options.run;
    const attempt = runSchedule({ ...h.options, run: async (name, i) => (name === 'boom' ? Promise.reject(new Error('lock lost')) : run(name, i)) });
    await expect(attempt).rejects.toThrow('lock lost');
    expect(h.log).toEqual(['start slow', 'end slow']);
  });

  it('refuses fewer than one thread', async () => {
    await expect(runSchedule({ ...harness(diamond).options, threads: 0 })).rejects.toThrow('threads must be at least 1');
  });
});
