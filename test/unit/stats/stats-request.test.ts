/**
 * The JSON requests behind `seglayer stats compare | srm | adjust`, checked
 * against numbers published by others. Each case names its source.
 */
import { describe, expect, it } from 'vitest';
import { adjustRequest, compareRequest, srmRequest, statisticsJson } from '../../../src/stats/stats-request.ts';

// GrowthBook gbstats, packages/stats/tests/frequentist/test_tests.py (TestTwoSidedTTest,
// TestOneSidedGreaterTTest, TestOneSidedLesserTTest): the sufficient statistics of a mean metric.
const GB_CONTROL = { sum: 1396.87, sum_squares: 52377.9767, n: 3407 };
const GB_TREATMENT = { sum: 2422.7, sum_squares: 134698.29, n: 3461 };
const GB_CONTROL_3000 = { ...GB_CONTROL, n: 3000 };

/** GrowthBook rounds its expected values to 5 decimals; so does the comparison here. */
const close5 = (actual: number, expected: number) => expect(actual).toBeCloseTo(expected, 5);

describe('compare: GrowthBook frequentist fixtures', () => {
  it('mean metric, absolute, two-sided: 0.29, CI (0.04538, 0.53462), p 0.02016, se 0.12478', () => {
    const r = compareRequest({ metric_type: 'mean', control: GB_CONTROL, treatment: GB_TREATMENT, difference: 'absolute' });
    close5(r.effect, 0.29);
    close5(r.ci_lower, 0.04538);
    close5(r.ci_upper, 0.53462);
    close5(r.p_value, 0.02016);
    close5(r.se, 0.12478);
    close5(r.control_mean, 0.41);
    close5(r.treatment_mean, 0.7);
  });

  it('mean metric, relative (GrowthBook default), two-sided: 0.70732, CI (−0.03526, 1.44989), p 0.06191', () => {
    const r = compareRequest({ metric_type: 'mean', control: GB_CONTROL, treatment: GB_TREATMENT });
    expect(r.difference).toBe('relative');
    close5(r.effect, 0.70732);
    close5(r.ci_lower, -0.03526);
    close5(r.ci_upper, 1.44989);
    close5(r.p_value, 0.06191);
    close5(r.se, 0.37879);
  });

  it('binomial 14/28 vs 16/30, relative: 0.06667, CI (−0.47767, 0.61101), p 0.80707', () => {
    const r = compareRequest({ metric_type: 'binomial', control: { n: 28, successes: 14 }, treatment: { n: 30, successes: 16 }, difference: 'relative' });
    close5(r.effect, 0.06667);
    close5(r.ci_lower, -0.47767);
    close5(r.ci_upper, 0.61101);
    close5(r.p_value, 0.80707);
    close5(r.se, 0.2717);
  });

  it('one-sided "greater", relative: CI (−0.04514, inf), p 0.06558', () => {
    const r = compareRequest({ metric_type: 'mean', control: GB_CONTROL_3000, treatment: GB_TREATMENT, sides: 'greater', difference: 'relative' });
    close5(r.effect, 0.5033610858562358);
    close5(r.ci_lower, -0.045136675850396046);
    expect(r.ci_upper).toBe(Infinity);
    close5(r.p_value, 0.06558262868467746);
  });

  it('one-sided "greater" and "lesser", absolute: CIs (0.02079, inf) and (−inf, 0.44796), p 0.03554 and 0.96446', () => {
    const greater = compareRequest({ metric_type: 'mean', control: GB_CONTROL_3000, treatment: GB_TREATMENT, sides: 'greater', difference: 'absolute' });
    close5(greater.effect, 0.23437666666666668);
    close5(greater.se, 0.12983081254184736);
    close5(greater.ci_lower, 0.020791480063255735);
    close5(greater.p_value, 0.03554272489873023);
    const lesser = compareRequest({ metric_type: 'mean', control: GB_CONTROL_3000, treatment: GB_TREATMENT, sides: 'lesser', difference: 'absolute' });
    expect(lesser.ci_lower).toBe(-Infinity);
    close5(lesser.ci_upper, 0.44796185327007765);
    close5(lesser.p_value, 0.9644572751012698);
  });

  it('one-sided "lesser", relative: CI (−inf, 1.05186), p 0.93442', () => {
    const r = compareRequest({ metric_type: 'mean', control: GB_CONTROL_3000, treatment: GB_TREATMENT, sides: 'lesser' });
    expect(r.ci_lower).toBe(-Infinity);
    close5(r.ci_upper, 1.0518588475628676);
    close5(r.p_value, 0.9344173713153225);
  });
});

describe('compare: ratio and CUPED shapes', () => {
  // Independent computation from raw per-user values with the delta method of
  // Deng, Knoblich & Lu (2018), "Applying the Delta Method in Metric Analytics", §3:
  // Var(M̄/D̄) ≈ (s²_M − 2R s_MD + R² s²_D) / (n D̄²).
  const control = { m: [2, 0, 1, 3, 1, 0, 2, 1], d: [4, 2, 3, 5, 2, 1, 4, 3] };
  const treatment = { m: [3, 1, 2, 4, 2, 1, 3, 2, 2], d: [4, 3, 3, 5, 3, 2, 4, 3, 4] };
  const stats = (g: { m: number[]; d: number[] }) => ({
    n: g.m.length,
    m: { sum: sum(g.m), sum_squares: sum(g.m.map((x) => x * x)) },
    d: { sum: sum(g.d), sum_squares: sum(g.d.map((x) => x * x)) },
    m_d_sum_of_products: sum(g.m.map((x, i) => x * g.d[i]!)),
  });
  function deltaVariance(g: { m: number[]; d: number[] }): { ratio: number; variance: number } {
    const n = g.m.length;
    const mBar = sum(g.m) / n;
    const dBar = sum(g.d) / n;
    const ratio = mBar / dBar;
    const sMM = sum(g.m.map((x) => (x - mBar) ** 2)) / (n - 1);
    const sDD = sum(g.d.map((x) => (x - dBar) ** 2)) / (n - 1);
    const sMD = sum(g.m.map((x, i) => (x - mBar) * (g.d[i]! - dBar))) / (n - 1);
    return { ratio, variance: (sMM - 2 * ratio * sMD + ratio * ratio * sDD) / (n * dBar * dBar) };
  }

  it('ratio metric, absolute: R_T − R_C with se √(Var_T + Var_C)', () => {
    const c = deltaVariance(control);
    const t = deltaVariance(treatment);
    const r = compareRequest({ metric_type: 'ratio', control: stats(control), treatment: stats(treatment), difference: 'absolute' });
    expect(r.control_mean).toBeCloseTo(c.ratio, 12);
    expect(r.effect).toBeCloseTo(t.ratio - c.ratio, 12);
    expect(r.se).toBeCloseTo(Math.sqrt(c.variance + t.variance), 12);
  });

  it('CUPED shape: pooled θ by hand, the adjusted effect, and the variance reduction it reports', () => {
    // Post values 1, 2, 3, 4 (control) and 2, 3, 4, 5 (treatment); the same pre values 2, 3, 1, 4 in both:
    // Σxy = 2 + 6 + 3 + 16 = 27 (control), 4 + 9 + 4 + 20 = 37 (treatment).
    const plain = { n: 4, sum: 10, sum_squares: 30 };
    const pre = { sum: 10, sum_squares: 30 };
    const r = compareRequest({
      metric_type: 'mean',
      control: { n: 4, post: { sum: 10, sum_squares: 30 }, pre, post_pre_sum_of_products: 27 },
      treatment: { n: 4, post: { sum: 14, sum_squares: 54 }, pre, post_pre_sum_of_products: 37 },
      difference: 'absolute',
    });
    expect(r.cuped).toBeDefined();
    // θ pooled over 8 users: Σx = 20, Σx² = 60, Σy = 24, Σxy = 64 → s_xy = (64 − 60)/7, s²_x = (60 − 50)/7 → θ = 0.4
    expect(r.cuped!.theta).toBeCloseTo(0.4, 12);
    expect(r.effect).toBeCloseTo(1, 12); // same pre means, so adjusted difference = 3.5 − 2.5
    const unadjusted = compareRequest({ metric_type: 'mean', control: plain, treatment: { n: 4, sum: 14, sum_squares: 54 }, difference: 'absolute' });
    expect(r.se).toBeLessThan(unadjusted.se);
    expect(r.cuped!.variance_reduction).toBeCloseTo(1 - (r.se / unadjusted.se) ** 2, 12);
  });
});

describe('srm: R ?chisq.test examples', () => {
  it('x = c(A = 20, B = 15, C = 25), equal probabilities: X-squared = 2.5, df = 2, p-value = 0.2865', () => {
    const r = srmRequest({ users: [20, 15, 25], weights: [1, 1, 1] });
    expect(r.chi_square).toBeCloseTo(2.5, 12);
    expect(r.df).toBe(2);
    expect(r.p_value).toBeCloseTo(0.2865, 4);
    expect(r.is_mismatch).toBe(false);
  });

  it('x = c(89,37,30,28,2), p = c(40,20,20,15,5) rescaled: X-squared = 9.9901, df = 4, p-value = 0.04059', () => {
    const r = srmRequest({ users: [89, 37, 30, 28, 2], weights: [40, 20, 20, 15, 5] });
    expect(r.chi_square).toBeCloseTo(9.9901, 4);
    expect(r.p_value).toBeCloseTo(0.04059, 5);
    expect(r.expected).toEqual([74.4, 37.2, 37.2, 27.9, 9.3].map((e) => expect.closeTo(e, 9)));
    expect(r.is_mismatch).toBe(false); // GrowthBook's threshold is 0.001
    expect(srmRequest({ users: [89, 37, 30, 28, 2], weights: [40, 20, 20, 15, 5], threshold: 0.05 }).is_mismatch).toBe(true);
  });
});

describe('adjust', () => {
  it('Benjamini & Hochberg (1995) 15 p-values: 4 discoveries at 0.05 with BH, 3 with Holm, in input order', () => {
    const p = [1.0, 0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.324, 0.4262, 0.5719, 0.6528, 0.759];
    const bh = adjustRequest({ p_values: p, method: 'bh' }).adjusted_p_values;
    const h = adjustRequest({ p_values: p, method: 'holm' }).adjusted_p_values;
    expect(bh.filter((v) => v <= 0.05)).toHaveLength(4);
    expect(h.filter((v) => v <= 0.05)).toHaveLength(3);
    expect(bh[4]).toBeCloseTo((0.0095 * 15) / 4, 12); // input position 4 holds the 4th smallest
    expect(bh[0]).toBe(1);
  });
});

describe('request validation and JSON', () => {
  it('names every field at fault', () => {
    expect(() => compareRequest({ metric_type: 'mean', control: { n: 1.5, sum: 1, sum_squares: 2 }, treatment: { n: 3, sum: 1 } })).toThrow(/control\.n/);
    expect(() => compareRequest({ metric_type: 'mean', control: { n: 3, sum: 1, sum_squares: 2 }, treatment: { n: 3, sum: 1 } })).toThrow(/treatment\.sum_squares/);
    expect(() => compareRequest({ metric_type: 'median', control: {}, treatment: {} })).toThrow(/metric_type/);
    expect(() => compareRequest({ metric_type: 'mean', control: { n: 3, sum: 1, sum_squares: 2 }, treatment: { n: 3, sum: 1, sum_squares: 2 }, sides: 'left' })).toThrow(/sides/);
    expect(() => srmRequest({ users: [10, 20], weights: [1] })).toThrow(/weights/);
    expect(() => adjustRequest({ p_values: [0.1, 1.2], method: 'bh' })).toThrow(/p_values\.1/);
    expect(() => adjustRequest({ p_values: [0.1], method: 'bonferroni' })).toThrow(/method/);
  });

  it('writes infinite bounds as "inf" and "-inf"', () => {
    expect(JSON.parse(statisticsJson({ a: Infinity, b: -Infinity, c: 1 }))).toEqual({ a: 'inf', b: '-inf', c: 1 });
  });
});

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
