/**
 * Do the 95% intervals cover the truth 95% of the time? For each interval
 * kind: simulate datasets from a known truth with a seeded generator, reduce
 * each to sufficient statistics as SQL would, and count how often the interval
 * holds the truth. With R = 2000 runs the standard error of a 95% coverage is
 * √(0.95·0.05/2000) = 0.49 points, so 93–97% is about ±4 standard errors:
 * a failure means a wrong formula, not bad luck (and the seed is fixed).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../src/demo/seeded-random.ts';
import {
  benjaminiHochberg,
  compare,
  compareCuped,
  type CupedStatistics,
  holm,
  type MeanStatistics,
  meanInterval,
  type RatioStatistics,
  ratioInterval,
  summarizeBinomial,
  summarizeMean,
  summarizeRatio,
  wilsonInterval,
} from '../../../src/stats/index.ts';

const RUNS = 2000;
const report: string[] = [];
afterAll(() => console.log(`95% interval coverage over ${RUNS} simulated datasets each:\n${report.join('\n')}`));

/** Share of runs whose [lower, upper] holds `truth`, recorded for the report. */
function coverage(label: string, seed: number, truth: number, interval: (rng: SeededRandom) => { ci_lower: number; ci_upper: number }): number {
  const rng = new SeededRandom(seed);
  let covered = 0;
  for (let run = 0; run < RUNS; run++) {
    const { ci_lower, ci_upper } = interval(rng);
    if (ci_lower <= truth && truth <= ci_upper) covered++;
  }
  const share = covered / RUNS;
  report.push(`  ${label.padEnd(56)} ${(100 * share).toFixed(1)}%`);
  return share;
}

function binomial(rng: SeededRandom, n: number, p: number): { n: number; successes: number } {
  let successes = 0;
  for (let i = 0; i < n; i++) if (rng.next() < p) successes++;
  return { n, successes };
}

function meanStatistics(rng: SeededRandom, n: number, draw: (rng: SeededRandom) => number): MeanStatistics {
  let sum = 0;
  let sumSquares = 0;
  for (let i = 0; i < n; i++) {
    const x = draw(rng);
    sum += x;
    sumSquares += x * x;
  }
  return { n, sum, sum_squares: sumSquares };
}

/** Users with 1 + Poisson(3) sessions, each converting with the user's own rate ~ U(0.1, 0.5) + shift: E[M]/E[D] = 0.3 + shift. */
function ratioStatistics(rng: SeededRandom, n: number, shift = 0): RatioStatistics {
  const s = { n, m: { sum: 0, sum_squares: 0 }, d: { sum: 0, sum_squares: 0 }, m_d_sum_of_products: 0 };
  for (let i = 0; i < n; i++) {
    const d = 1 + rng.poisson(3);
    const rate = rng.uniform(0.1, 0.5) + shift;
    let m = 0;
    for (let k = 0; k < d; k++) if (rng.next() < rate) m++;
    s.m.sum += m;
    s.m.sum_squares += m * m;
    s.d.sum += d;
    s.d.sum_squares += d * d;
    s.m_d_sum_of_products += m * d;
  }
  return s;
}

/** Pre-period X ~ N(10, 3²); post Y = 2 + 0.8·X + N(0, 2²) + effect: E[Y] = 10 + effect, ρ² ≈ 0.59. */
function cupedStatistics(rng: SeededRandom, n: number, effect: number): CupedStatistics {
  const s = { n, pre: { sum: 0, sum_squares: 0 }, post: { sum: 0, sum_squares: 0 }, post_pre_sum_of_products: 0 };
  for (let i = 0; i < n; i++) {
    const x = rng.normal(10, 3);
    const y = 2 + 0.8 * x + rng.normal(0, 2) + effect;
    s.pre.sum += x;
    s.pre.sum_squares += x * x;
    s.post.sum += y;
    s.post.sum_squares += y * y;
    s.post_pre_sum_of_products += x * y;
  }
  return s;
}

const within = (share: number) => {
  expect(share).toBeGreaterThanOrEqual(0.93);
  expect(share).toBeLessThanOrEqual(0.97);
};

describe('95% intervals cover the truth in 93–97% of simulated datasets', () => {
  it('Wilson: a proportion of 0.3 from 200 users', () => {
    within(coverage('proportion (Wilson), p = 0.3, n = 200', 101, 0.3, (rng) => wilsonInterval(binomial(rng, 200, 0.3))));
  });

  it('Wilson: a rare proportion of 0.02 from 300 users', () => {
    within(coverage('proportion (Wilson), p = 0.02, n = 300', 102, 0.02, (rng) => wilsonInterval(binomial(rng, 300, 0.02))));
  });

  it('t interval: a skewed (exponential) mean of 5 from 150 users', () => {
    within(coverage('mean (t), exponential mean 5, n = 150', 103, 5, (rng) => meanInterval(meanStatistics(rng, 150, (r) => r.exponential(5)))));
  });

  it('delta method: sessions converting per user, ratio 0.3 over 200 users', () => {
    within(coverage('ratio (delta method), R = 0.3, n = 200 users', 104, 0.3, (rng) => ratioInterval(ratioStatistics(rng, 200))));
  });

  it('difference of proportions 0.25 − 0.20 on 400 users each', () => {
    within(
      coverage('difference of proportions, 0.25 − 0.20, n = 400', 105, 0.05, (rng) =>
        compare(summarizeBinomial(binomial(rng, 400, 0.2)), summarizeBinomial(binomial(rng, 400, 0.25))),
      ),
    );
  });

  it("difference of means with unequal variances and sizes (Welch's case)", () => {
    within(
      coverage('difference of means (Welch), N(0,1)·25 vs N(0.5,3²)·60', 106, 0.5, (rng) =>
        compare(summarizeMean(meanStatistics(rng, 25, (r) => r.normal(0, 1))), summarizeMean(meanStatistics(rng, 60, (r) => r.normal(0.5, 3)))),
      ),
    );
  });

  it('relative lift of exponential means 10 → 11 on 300 users each', () => {
    within(
      coverage('relative lift (delta method), 10 → 11, n = 300', 107, 0.1, (rng) =>
        compare(summarizeMean(meanStatistics(rng, 300, (r) => r.exponential(10))), summarizeMean(meanStatistics(rng, 300, (r) => r.exponential(11))), { scale: 'relative' }),
      ),
    );
  });

  it('relative lift of a proportion 0.10 → 0.12 on 2000 users each', () => {
    within(
      coverage('relative lift of a proportion, 0.10 → 0.12, n = 2000', 108, 0.2, (rng) =>
        compare(summarizeBinomial(binomial(rng, 2000, 0.1)), summarizeBinomial(binomial(rng, 2000, 0.12)), { scale: 'relative' }),
      ),
    );
  });

  it('difference of ratio metrics 0.30 → 0.35 per session on 300 users each (delta method)', () => {
    within(
      coverage('difference of ratios (delta method), 0.30 → 0.35, n = 300', 111, 0.05, (rng) =>
        compare(summarizeRatio(ratioStatistics(rng, 300)), summarizeRatio(ratioStatistics(rng, 300, 0.05))),
      ),
    );
  });

  it('relative lift of ratio metrics 0.30 → 0.35 per session on 300 users each', () => {
    within(
      coverage('relative lift of ratios, 0.30 → 0.35, n = 300', 112, 0.05 / 0.3, (rng) =>
        compare(summarizeRatio(ratioStatistics(rng, 300)), summarizeRatio(ratioStatistics(rng, 300, 0.05)), { scale: 'relative' }),
      ),
    );
  });

  it('CUPED-adjusted absolute difference (effect 0.5, 200 users each)', () => {
    let reduction = 0;
    within(
      coverage('CUPED difference, effect 0.5, n = 200', 109, 0.5, (rng) => {
        const result = compareCuped(cupedStatistics(rng, 200, 0), cupedStatistics(rng, 200, 0.5));
        reduction += result.variance_reduction / RUNS;
        return result;
      }),
    );
    report.push(`  ${'  (mean CUPED variance reduction'.padEnd(56)} ${(100 * reduction).toFixed(1)}%; ρ² = 0.59)`);
    expect(reduction).toBeGreaterThan(0.5);
  });

  it('CUPED-adjusted relative lift (10 → 10.5, 200 users each)', () => {
    within(
      coverage('CUPED relative lift, 10 → 10.5, n = 200', 110, 0.05, (rng) =>
        compareCuped(cupedStatistics(rng, 200, 0), cupedStatistics(rng, 200, 0.5), { scale: 'relative' }),
      ),
    );
  });
});

describe('multiple testing across 20 null segments', () => {
  it('BH keeps the false-positive rate ≤ α; Holm keeps the family-wise error ≤ α', () => {
    // All 20 nulls true: any rejection is a false discovery, so FDR = FWER = P(any rejection).
    // BH guarantees FDR ≤ α·m₀/m = 0.05 for independent tests; Holm FWER ≤ 0.05.
    // Tolerance: 3 standard errors of a 5% rate over 2000 families, √(0.05·0.95/2000) = 0.49 points.
    const rng = new SeededRandom(201);
    const families = 2000;
    const alpha = 0.05;
    let bhFamilies = 0;
    let holmFamilies = 0;
    let rawFamilies = 0;
    let bhRejections = 0;
    for (let f = 0; f < families; f++) {
      const pValues: number[] = [];
      for (let segment = 0; segment < 20; segment++) {
        const control = summarizeMean(meanStatistics(rng, 30, (r) => r.normal(0, 1)));
        const treatment = summarizeMean(meanStatistics(rng, 30, (r) => r.normal(0, 1)));
        pValues.push(compare(control, treatment).p_value);
      }
      const adjusted = benjaminiHochberg(pValues);
      bhRejections += adjusted.filter((p) => p <= alpha).length;
      if (adjusted.some((p) => p <= alpha)) bhFamilies++;
      if (holm(pValues).some((p) => p <= alpha)) holmFamilies++;
      if (pValues.some((p) => p <= alpha)) rawFamilies++;
    }
    const tolerance = 3 * Math.sqrt((alpha * (1 - alpha)) / families);
    report.push(
      `  families with ≥ 1 false positive (20 nulls, ${families} families): unadjusted ${((100 * rawFamilies) / families).toFixed(1)}%, ` +
        `BH ${((100 * bhFamilies) / families).toFixed(1)}%, Holm ${((100 * holmFamilies) / families).toFixed(1)}%; ` +
        `null segments BH flags: ${((100 * bhRejections) / (20 * families)).toFixed(2)}%`,
    );
    // Per segment, the share of null segments BH calls significant is far below α (no tolerance needed).
    expect(bhRejections / (20 * families)).toBeLessThanOrEqual(alpha);
    expect(bhFamilies / families).toBeLessThanOrEqual(alpha + tolerance);
    expect(holmFamilies / families).toBeLessThanOrEqual(alpha + tolerance);
    expect(rawFamilies / families).toBeGreaterThan(0.5); // 1 − 0.95²⁰ = 64%: the correction is doing work
  });
});
