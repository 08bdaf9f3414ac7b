import { describe, expect, it } from 'vitest';
import { areaOf, startCpuProfile, summarizeCpuProfile, type CpuProfile } from '../../src/bench/cpu-profile.ts';

const frame = (functionName: string, url = '') => ({ functionName, url, lineNumber: 9, columnNumber: 0 });

describe('CPU profile summary', () => {
  // root -> a (our gateway) -> b (Cube's compiler); plus idle and GC at the root.
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 4, 5] },
      { id: 2, callFrame: frame('handle', 'file:///repo/src/serve/gateway.ts'), children: [3] },
      { id: 3, callFrame: frame('buildSql', 'file:///repo/node_modules/@cubejs-backend/schema-compiler/dist/src/adapter/BaseQuery.js') },
      { id: 4, callFrame: frame('(idle)') },
      { id: 5, callFrame: frame('(garbage collector)') },
    ],
    startTime: 0,
    endTime: 1000,
    // Sample i stands for timeDeltas[i + 1] microseconds.
    samples: [3, 3, 2, 4, 5, 3],
    timeDeltas: [0, 100, 200, 300, 400, 500, 0],
  };

  it('gives each sample the time until the next one, to the frame on top of the stack', () => {
    const summary = summarizeCpuProfile(profile, { root: '/repo' });
    // buildSql: samples 0, 1, 5 -> 100 + 200 + 0 us; handle: sample 2 -> 300; idle 400; GC 500.
    expect(summary.totalMs).toBeCloseTo(1.5);
    expect(summary.busyMs).toBeCloseTo(1.1);
    expect(Object.fromEntries(summary.frames.map((f) => [f.name, f.ms]))).toEqual({
      '(garbage collector)': 0.5,
      '(idle)': 0.4,
      'handle src/serve/gateway.ts:10': 0.3,
      'buildSql @cubejs-backend/schema-compiler/dist/src/adapter/BaseQuery.js:10': expect.closeTo(0.3),
    });
    expect(summary.areas.map((a) => a.name)).toEqual(['(garbage collector)', '(idle)', expect.any(String), expect.any(String)]);
    expect(summary.areas.find((a) => a.name === 'src/serve')?.share).toBeCloseTo(0.2);
  });

  it('names areas by package, node internals or project folder', () => {
    expect(areaOf(frame('x', 'file:///a/node_modules/@cubejs-backend/api-gateway/dist/src/gateway.js'))).toBe('@cubejs-backend/api-gateway');
    expect(areaOf(frame('x', 'file:///a/node_modules/env-var/lib/variable.js'))).toBe('env-var');
    expect(areaOf(frame('x', 'node:internal/modules/cjs/loader'))).toBe('node internals');
    expect(areaOf(frame('x', 'file:///work/repo/src/governance/access-policy.js'))).toBe('src/governance');
    expect(areaOf(frame('writev'))).toBe('(native)');
  });

  it('profiles this process', async () => {
    const profiler = await startCpuProfile();
    let spin = 0;
    const until = performance.now() + 30;
    while (performance.now() < until) spin++;
    const summary = summarizeCpuProfile(await profiler.stop());
    expect(spin).toBeGreaterThan(0);
    expect(summary.totalMs).toBeGreaterThan(0);
  });
});
