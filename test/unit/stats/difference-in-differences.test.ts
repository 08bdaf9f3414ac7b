/**
 * Difference-in-differences (src/stats/difference-in-differences.ts): a worked
 * example on the published means of Card & Krueger, coverage of its 95% interval
 * over 1,000 simulated panels (continuous, and binomial as changes/*.yml measure
 * "did it happen in the window"), the parallel-trends placebo check, and the
 * weekly-slope check marts.change_effects uses: coverage and false-alarm rate.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../src/demo/seeded-random.ts';
import { changeStatistics, differenceInDifferences, type MeanStatistics, type PanelStatistics, parallelTrendsBySlope, parallelTrendsCheck } from '../../../src/stats/index.ts';

function panel(pre: number[], post: number[]): PanelStatistics {
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return {
    n: pre.length,
    pre: { sum: sum(pre), sum_squares: sum(pre.map((x) => x * x)) },
    post: { sum: sum(post), sum_squares: sum(post.map((x) => x * x)) },
    post_pre_sum_of_products: sum(pre.map((x, i) => x * post[i]!)),
  };
}

describe('difference-in-differences, worked example', () => {
  it('Card & Krueger (1994), Table 3: NJ 20.44 → 21.03, PA 23.33 → 21.17 FTE per store gives DiD ≈ 2.75', () => {
    // Card D. & Krueger A. B. (1994), "Minimum Wages and Employment: A Case Study of the
    // Fast-Food Industry in New Jersey and Pennsylvania", AER 84(4), Table 3: mean FTE
    // employment before/after, NJ 20.44 → 21.03, PA 23.33 → 21.17; the paper reports
    // DiD 2.76 from unrounded means, 2.75 from these. Three stores per state are built
    // here with exactly those means and per-store changes spread ±0.5 around them:
    //   NJ d = 1.09, 0.59, 0.09 (mean 0.59); PA d = −2.66, −2.16, −1.66 (mean −2.16)
    //   s²_d = 0.25 in both, se = √(0.25/3 + 0.25/3) = 0.408248, Welch df = 4,
    //   t(0.975; 4) = 2.776445 → 2.75 ± 1.133478 = (1.616522, 3.883478)
    const nj = panel([19.44, 20.44, 21.44], [20.53, 21.03, 21.53]);
    const pa = panel([22.33, 23.33, 24.33], [19.67, 21.17, 22.67]);
    const result = differenceInDifferences(nj, pa);
    expect(result.exposed_pre.estimate).toBeCloseTo(20.44, 10);
    expect(result.exposed_post.estimate).toBeCloseTo(21.03, 10);
    expect(result.comparison_pre.estimate).toBeCloseTo(23.33, 10);
    expect(result.comparison_post.estimate).toBeCloseTo(21.17, 10);
    expect(result.did.effect).toBeCloseTo(2.75, 10);
    expect(result.did.se).toBeCloseTo(0.408248, 6);
    expect(result.did.df).toBeCloseTo(4, 8);
    expect(result.did.ci_lower).toBeCloseTo(1.616522, 5);
    expect(result.did.ci_upper).toBeCloseTo(3.883478, 5);
  });

  it('the sums of d = post − pre come from the panel sums without raw rows', () => {
    const p = panel([1, 2, 4], [3, 3, 7]); // d = 2, 1, 3
    expect(changeStatistics(p)).toEqual({ n: 3, sum: 6, sum_squares: 14 });
  });
});

/** Users with their own level a ~ N(10, 3²): pre = a + ε, post = a + trend + effect + ε (ε ~ N(0, 1)). */
function simulatedPanel(rng: SeededRandom, n: number, trend: number, effect: number): PanelStatistics {
  const pre: number[] = [];
  const post: number[] = [];
  for (let i = 0; i < n; i++) {
    const level = rng.normal(10, 3);
    pre.push(level + rng.normal(0, 1));
    post.push(level + trend + effect + rng.normal(0, 1));
  }
  return panel(pre, post);
}

describe('difference-in-differences by simulation', () => {
  it('the 95% interval covers a known effect of 0.5 in 93–97% of 1,000 simulated panels', () => {
    const rng = new SeededRandom(301);
    let covered = 0;
    for (let run = 0; run < 1000; run++) {
      // A common trend of +1 for everyone, the release adds 0.5 for the exposed group only.
      const { did } = differenceInDifferences(simulatedPanel(rng, 150, 1, 0.5), simulatedPanel(rng, 250, 1, 0));
      if (did.ci_lower <= 0.5 && 0.5 <= did.ci_upper) covered++;
    }
    expect(covered / 1000).toBeGreaterThanOrEqual(0.93);
    expect(covered / 1000).toBeLessThanOrEqual(0.97);
  });

  it('the parallel-trends check passes on parallel pre-periods and flags a diverging one', () => {
    const rng = new SeededRandom(302);
    // Pre-period 1 → pre-period 2: both groups +1 (parallel) …
    expect(parallelTrendsCheck(simulatedPanel(rng, 400, 1, 0), simulatedPanel(rng, 400, 1, 0)).holds).toBe(true);
    // … or the exposed group already rising 0.8 faster before the release.
    const diverging = parallelTrendsCheck(simulatedPanel(rng, 400, 1, 0.8), simulatedPanel(rng, 400, 1, 0));
    expect(diverging.holds).toBe(false);
    expect(diverging.placebo.effect).toBeGreaterThan(0.5);
  });

  it('across 1,000 parallel-trend panels the check raises a false alarm in about α of them', () => {
    const rng = new SeededRandom(303);
    let alarms = 0;
    for (let run = 0; run < 1000; run++) if (!parallelTrendsCheck(simulatedPanel(rng, 100, 1, 0), simulatedPanel(rng, 100, 1, 0)).holds) alarms++;
    expect(alarms / 1000).toBeGreaterThanOrEqual(0.03);
    expect(alarms / 1000).toBeLessThanOrEqual(0.07);
  });
});

/** One user's did-it-happen before and after: a propensity q in [0.1, 0.5], the trend and effect added after. */
function binomialPanel(rng: SeededRandom, n: number, trend: number, effect: number): PanelStatistics {
  const pre: number[] = [];
  const post: number[] = [];
  for (let i = 0; i < n; i++) {
    const q = rng.uniform(0.1, 0.5);
    pre.push(rng.chance(q) ? 1 : 0);
    post.push(rng.chance(q + trend + effect) ? 1 : 0);
  }
  return panel(pre, post);
}

/** n, Σb, Σb² of per-user least-squares slopes of weekly did-it-happen over `weeks` weeks, P(week k) = q + slope·k. */
function weeklySlopes(rng: SeededRandom, n: number, weeks: number, slope: number): MeanStatistics {
  const mean = (weeks - 1) / 2;
  const sxx = (weeks * (weeks * weeks - 1)) / 12;
  let sum = 0;
  let sumSquares = 0;
  for (let i = 0; i < n; i++) {
    const q = rng.uniform(0.1, 0.4);
    let b = 0;
    for (let k = 0; k < weeks; k++) b += ((k - mean) * (rng.chance(q + slope * k) ? 1 : 0)) / sxx;
    sum += b;
    sumSquares += b * b;
  }
  return { n, sum, sum_squares: sumSquares };
}

describe('difference-in-differences on binomial panels and weekly slopes, by simulation', () => {
  it('the 95% interval covers a known effect of +10 points in 93–97% of 1,000 binomial panels', () => {
    const rng = new SeededRandom(311);
    let covered = 0;
    for (let run = 0; run < 1000; run++) {
      // Everyone drifts −5 points; the release adds +10 points for the exposed group only.
      const { did } = differenceInDifferences(binomialPanel(rng, 300, -0.05, 0.1), binomialPanel(rng, 400, -0.05, 0));
      if (did.ci_lower <= 0.1 && 0.1 <= did.ci_upper) covered++;
    }
    expect(covered / 1000).toBeGreaterThanOrEqual(0.93);
    expect(covered / 1000).toBeLessThanOrEqual(0.97);
  });

  it('the slope difference\'s 95% interval covers a known pre-trend gap of 3 points a week in 93–97% of 1,000 datasets', () => {
    const rng = new SeededRandom(312);
    let covered = 0;
    for (let run = 0; run < 1000; run++) {
      const { slope_difference } = parallelTrendsBySlope(weeklySlopes(rng, 300, 4, 0.05), weeklySlopes(rng, 300, 4, 0.02));
      if (slope_difference.ci_lower <= 0.03 && 0.03 <= slope_difference.ci_upper) covered++;
    }
    expect(covered / 1000).toBeGreaterThanOrEqual(0.93);
    expect(covered / 1000).toBeLessThanOrEqual(0.97);
  });

  it('with parallel weekly trends the slope check raises a false alarm in about α of 1,000 datasets, and flags a real gap', () => {
    const rng = new SeededRandom(313);
    let alarms = 0;
    for (let run = 0; run < 1000; run++) if (!parallelTrendsBySlope(weeklySlopes(rng, 200, 4, 0.02), weeklySlopes(rng, 200, 4, 0.02)).holds) alarms++;
    expect(alarms / 1000).toBeGreaterThanOrEqual(0.03);
    expect(alarms / 1000).toBeLessThanOrEqual(0.07);
    expect(parallelTrendsBySlope(weeklySlopes(rng, 2000, 4, 0.08), weeklySlopes(rng, 2000, 4, 0)).holds).toBe(false);
  });
});
