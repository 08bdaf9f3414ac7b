import { describe, expect, it } from 'vitest';
import {
  benjaminiHochberg,
  compare,
  compareCuped,
  cupedTheta,
  holm,
  meanInterval,
  ratioInterval,
  sampleRatioMismatch,
  sampleVariance,
  segmentLift,
  StatisticsError,
  summarizeBinomial,
  summarizeMean,
  wilsonInterval,
  welchTest,
} from '../../../src/stats/index.ts';

const code = (f: () => unknown) => {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(StatisticsError);
    return (error as StatisticsError).code;
  }
  throw new Error('expected a StatisticsError');
};

describe('p-values and bounds', () => {
  const control = summarizeMean({ n: 50, sum: 500, sum_squares: 5400 });
  const treatment = summarizeMean({ n: 60, sum: 660, sum_squares: 7800 });

  it('swapping the groups flips the effect and keeps the two-sided p-value', () => {
    const ab = compare(control, treatment);
    const ba = compare(treatment, control);
    expect(ba.effect).toBeCloseTo(-ab.effect, 12);
    expect(ba.p_value).toBeCloseTo(ab.p_value, 12);
    expect(ba.ci_lower).toBeCloseTo(-ab.ci_upper, 12);
  });

  it('the test is symmetric in t: p(−t) = p(t) two-sided, and greater + less = 1', () => {
    expect(welchTest(-1.3, 1, 20, 'two-sided', 0.05).p_value).toBeCloseTo(welchTest(1.3, 1, 20, 'two-sided', 0.05).p_value, 14);
    const greater = welchTest(0.7, 0.4, 35, 'greater', 0.05).p_value;
    const less = welchTest(0.7, 0.4, 35, 'less', 0.05).p_value;
    expect(greater + less).toBeCloseTo(1, 14);
    expect(welchTest(0.7, 0.4, 35, 'two-sided', 0.05).p_value).toBeCloseTo(2 * Math.min(greater, less), 14);
  });

  it('one-sided bounds are infinite on the open side', () => {
    const greater = compare(control, treatment, { alternative: 'greater' });
    const less = compare(control, treatment, { alternative: 'less' });
    expect(greater.ci_upper).toBe(Infinity);
    expect(less.ci_lower).toBe(-Infinity);
    // the finite one-sided bound sits inside the two-sided one (t(0.95) < t(0.975))
    const two = compare(control, treatment);
    expect(greater.ci_lower).toBeGreaterThan(two.ci_lower);
    expect(less.ci_upper).toBeLessThan(two.ci_upper);
  });

  it('a zero effect has p = 1 two-sided and 0.5 one-sided', () => {
    expect(welchTest(0, 1, 10, 'two-sided', 0.05).p_value).toBe(1);
    expect(welchTest(0, 1, 10, 'greater', 0.05).p_value).toBeCloseTo(0.5, 14);
  });

  it('tiny p-values keep their precision', () => {
    expect(welchTest(12, 1, Infinity, 'two-sided', 0.05).p_value).toBeGreaterThan(0);
    expect(welchTest(12, 1, Infinity, 'two-sided', 0.05).p_value).toBeLessThan(1e-30);
  });
});

describe('Wilson at the edges', () => {
  it('0 successes: lower bound exactly 0; n successes: upper bound exactly 1', () => {
    expect(wilsonInterval({ n: 40, successes: 0 }).ci_lower).toBe(0);
    expect(wilsonInterval({ n: 40, successes: 0 }).ci_upper).toBeGreaterThan(0);
    expect(wilsonInterval({ n: 40, successes: 40 }).ci_upper).toBe(1);
    expect(wilsonInterval({ n: 1, successes: 1 }).ci_lower).toBeGreaterThan(0);
  });

  it('is symmetric: x/n mirrors (n − x)/n', () => {
    const a = wilsonInterval({ n: 37, successes: 5 });
    const b = wilsonInterval({ n: 37, successes: 32 });
    expect(a.ci_lower).toBeCloseTo(1 - b.ci_upper, 14);
    expect(a.ci_upper).toBeCloseTo(1 - b.ci_lower, 14);
  });

  it('refuses impossible counts', () => {
    expect(code(() => wilsonInterval({ n: 10, successes: 11 }))).toBe('invalid_input');
    expect(code(() => wilsonInterval({ n: 0, successes: 0 }))).toBe('too_few_units');
    expect(code(() => wilsonInterval({ n: 10.5, successes: 1 }))).toBe('invalid_input');
  });
});

describe('degenerate sufficient statistics', () => {
  it('n < 2 has no sample variance', () => {
    expect(code(() => meanInterval({ n: 1, sum: 3, sum_squares: 9 }))).toBe('too_few_units');
    expect(code(() => summarizeBinomial({ n: 1, successes: 1 }))).toBe('too_few_units');
  });

  it('rounding below zero is clamped to 0; a real inconsistency is an error', () => {
    // 0.1 three times: Σx² − (Σx)²/n is −1.4e-17 in floating point, not 0
    const sum = 0.1 + 0.1 + 0.1;
    const sumSquares = 0.1 * 0.1 * 3;
    expect(sumSquares - (sum * sum) / 3).toBeLessThan(0);
    expect(sampleVariance(3, sum, sumSquares)).toBe(0);
    expect(code(() => sampleVariance(3, 3, 1))).toBe('inconsistent_statistics');
  });

  it('non-finite input is refused', () => {
    expect(code(() => meanInterval({ n: 5, sum: Number.NaN, sum_squares: 1 }))).toBe('invalid_input');
  });

  it('a ratio with a zero denominator sum is refused', () => {
    expect(code(() => ratioInterval({ n: 3, m: { sum: 2, sum_squares: 2 }, d: { sum: 0, sum_squares: 0 }, m_d_sum_of_products: 0 }))).toBe('zero_denominator');
  });

  it('relative effects need a non-zero control mean', () => {
    const zero = summarizeBinomial({ n: 100, successes: 0 });
    const some = summarizeBinomial({ n: 100, successes: 3 });
    expect(code(() => compare(zero, some, { scale: 'relative' }))).toBe('zero_denominator');
    expect(compare(zero, some).effect).toBeCloseTo(0.03, 14); // the absolute effect is still defined
  });

  it('no variation in either group: no test', () => {
    const none = summarizeBinomial({ n: 100, successes: 0 });
    expect(code(() => compare(none, none))).toBe('zero_variance');
  });

  it('a constant covariate gives θ = 0 and CUPED equals the plain comparison', () => {
    const flat = (n: number, y: number[]) => ({
      n,
      pre: { sum: 5 * n, sum_squares: 25 * n },
      post: { sum: y.reduce((a, b) => a + b, 0), sum_squares: y.reduce((a, b) => a + b * b, 0) },
      post_pre_sum_of_products: 5 * y.reduce((a, b) => a + b, 0),
    });
    const c = flat(4, [1, 2, 3, 4]);
    const t = flat(4, [2, 4, 4, 6]);
    expect(cupedTheta([c, t])).toBe(0);
    const plain = compare(summarizeMean({ n: 4, ...c.post }), summarizeMean({ n: 4, ...t.post }));
    const adjusted = compareCuped(c, t);
    expect(adjusted.effect).toBeCloseTo(plain.effect, 12);
    expect(adjusted.se).toBeCloseTo(plain.se, 12);
    expect(adjusted.variance_reduction).toBeCloseTo(0, 12);
  });
});

describe('SRM and multiple testing input', () => {
  it('an exact split has χ² = 0 and p = 1', () => {
    const result = sampleRatioMismatch([300, 100], [3, 1]);
    expect(result.chi_square).toBe(0);
    expect(result.p_value).toBe(1);
  });

  it('refuses mismatched or non-positive weights', () => {
    expect(code(() => sampleRatioMismatch([1, 2], [1]))).toBe('invalid_input');
    expect(code(() => sampleRatioMismatch([1, 2], [1, 0]))).toBe('invalid_input');
    expect(code(() => sampleRatioMismatch([0, 0], [1, 1]))).toBe('too_few_units');
  });

  it('adjusted p-values never fall below the raw ones, never exceed 1, and keep the order', () => {
    const p = [0.9, 0.2, 0.04, 0.6, 0.001, 0.3];
    for (const adjusted of [benjaminiHochberg(p), holm(p)]) {
      adjusted.forEach((value, i) => {
        expect(value).toBeGreaterThanOrEqual(p[i]!);
        expect(value).toBeLessThanOrEqual(1);
      });
      const byRaw = p.map((_, i) => i).sort((a, b) => p[a]! - p[b]!);
      for (let k = 1; k < byRaw.length; k++) expect(adjusted[byRaw[k]!]!).toBeGreaterThanOrEqual(adjusted[byRaw[k - 1]!]!);
    }
    expect(benjaminiHochberg([])).toEqual([]);
    expect(holm([0.3])).toEqual([0.3]);
  });

  it('refuses p-values outside [0, 1]', () => {
    expect(code(() => holm([0.1, 1.2]))).toBe('invalid_input');
    expect(code(() => benjaminiHochberg([Number.NaN]))).toBe('invalid_input');
  });
});

describe('segment lift against all other users', () => {
  it('is the two-sided comparison with the rest of the users as control, on both scales', () => {
    const segment = summarizeBinomial({ n: 800, successes: 120 });
    const others = summarizeBinomial({ n: 9200, successes: 920 });
    const lift = segmentLift(segment, others);
    expect(lift.difference).toEqual(compare(others, segment));
    expect(lift.relative_lift).toEqual(compare(others, segment, { scale: 'relative' }));
    expect(lift.difference.effect).toBeCloseTo(0.15 - 0.1, 14);
    expect(lift.relative_lift.effect).toBeCloseTo(0.5, 14);
    expect(lift.relative_lift.ci_lower).toBeGreaterThan(0);
  });
});
