/**
 * Whether a server keeps answering /livez while something else runs against it: the probe
 * asks every 10 ms while the work runs. Used by the abuse and rate-limit tests, which
 * must not be able to stall the server for everyone else.
 *
 * No wall-clock threshold (machines here are shared and noisy; speed belongs to the bench):
 * a server stalled by the work would hold the probe for most of the work, so the checks are
 * relative to the work's own duration — several answers while it ran, none held for half of it.
 */
import { expect } from 'vitest';

export interface LivezProbe { latencies: number[]; workMs: number }

export async function livezDuring(serverUrl: string, work: () => Promise<unknown>): Promise<LivezProbe> {
  const latencies: number[] = [];
  let done = false;
  const probe = (async () => {
    while (!done) {
      const started = performance.now();
      const response = await fetch(`${serverUrl}/livez`);
      await response.arrayBuffer();
      expect(response.status).toBe(200);
      latencies.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  const started = performance.now();
  try {
    await work();
  } finally {
    done = true;
    await probe;
  }
  return { latencies, workMs: performance.now() - started };
}

/** Prints the probe's figures and asserts the server kept answering while the work ran. */
export function expectResponsive({ latencies, workMs }: LivezProbe, label: string): void {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;
  const longest = sorted.at(-1) ?? 0;
  console.log(`${label}: work ${workMs.toFixed(0)} ms, /livez probes ${sorted.length}, median ${at(0.5).toFixed(1)} ms, p95 ${at(0.95).toFixed(1)} ms, max ${longest.toFixed(1)} ms`);
  expect(sorted.length, `${label}: answers to /livez while the work ran`).toBeGreaterThanOrEqual(5);
  expect(longest, `${label}: the longest /livez wait against the work's ${workMs.toFixed(0)} ms`).toBeLessThan(workMs / 2);
}
