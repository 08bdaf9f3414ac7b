/**
 * How quickly a server answers /livez while something else runs against it: the probe
 * asks every 10 ms and reports each latency. Used by the abuse and rate-limit tests, which
 * must not be able to stall the server for everyone else.
 */
import { expect } from 'vitest';

export async function livezDuring(serverUrl: string, work: () => Promise<unknown>): Promise<number[]> {
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
  try {
    await work();
  } finally {
    done = true;
    await probe;
  }
  return latencies;
}

/** Prints the probe's figures and asserts that 95% of answers came within 100 ms. */
export function expectResponsive(latencies: number[], label: string): void {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;
  console.log(`${label}: /livez probes ${sorted.length}, median ${at(0.5).toFixed(1)} ms, p95 ${at(0.95).toFixed(1)} ms, max ${(sorted.at(-1) ?? 0).toFixed(1)} ms`);
  expect(sorted.length, `${label}: the probe ran while the work did`).toBeGreaterThan(3);
  expect(at(0.95), `${label}: /livez p95`).toBeLessThan(100);
}
