/**
 * Worked examples from published sources. Where a number is quoted from a
 * source, the comment says so; everything else is computed by hand from the
 * cited formula, with the arithmetic shown.
 */
import { describe, expect, it } from 'vitest';
import {
  benjaminiHochberg,
  compare,
  compareCuped,
  cupedAdjustedSummary,
  cupedTheta,
  holm,
  meanInterval,
  ratioInterval,
  sampleRatioMismatch,
  summarizeBinomial,
  summarizeMean,
  wilsonInterval,
} from '../../../src/stats/index.ts';
import { standardNormalCdf } from '../../../src/stats/distributions.ts';

const moments = (values: number[]) => ({
  n: values.length,
  sum: values.reduce((a, b) => a + b, 0),
  sum_squares: values.reduce((a, b) => a + b * b, 0),
});

describe('Wilson score interval', () => {
  // Newcombe R. G. (1998), "Two-sided confidence intervals for the single
  // proportion: comparison of seven methods", Statistics in Medicine 17:857–872,
  // Table I, method 3 (score interval without continuity correction).
  it.each([
    [81, 263, 0.2553, 0.3662],
    [15, 148, 0.0624, 0.1605],
    [0, 20, 0.0, 0.1611],
    [1, 29, 0.0061, 0.1718],
  ])('%i/%i → %f–%f (Newcombe 1998, Table I)', (successes, n, lower, upper) => {
    const interval = wilsonInterval({ n, successes });
    expect(interval.ci_lower).toBeCloseTo(lower, 4);
    expect(interval.ci_upper).toBeCloseTo(upper, 4);
    expect(interval.estimate).toBe(successes / n);
  });

  it('81/263 by hand from the formula', () => {
    // p̂ = 0.307985, z = 1.959964, z² = 3.841459, z²/n = 0.014606
    // centre = (0.307985 + 0.007303) / 1.014606 = 0.310752
    // half = 1.959964 / 1.014606 · √(0.307985·0.692015/263 + 3.841459/(4·263²))
    //      = 1.931748 · √(0.00081038 + 0.00001388) = 1.931748 · 0.0287099 = 0.055460
    // → 0.255292 … 0.366212
    const interval = wilsonInterval({ n: 263, successes: 81 });
    expect(interval.ci_lower).toBeCloseTo(0.255292, 5);
    expect(interval.ci_upper).toBeCloseTo(0.366212, 5);
  });
});

describe('Student t interval for one mean', () => {
  // R's `sleep` data set (Cushny & Peebles 1905, as given by Student 1908):
  // extra hours of sleep, group 1.
  const group1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];

  it('sleep group 1, by hand', () => {
    // n = 10, Σx = 7.5, Σx² = 34.43 → x̄ = 0.75,
    // s² = (34.43 − 7.5²/10) / 9 = 28.805 / 9 = 3.200556, se = √(3.200556/10) = 0.565735
    // t(0.975; 9) = 2.262157 → half-width 1.279780 → (−0.529780, 2.029780)
    // (This agrees with R's t.test(sleep$extra[sleep$group == 1]) as commonly reproduced, −0.5297804 2.0297804;
    // R was not run here, so the test pins the hand arithmetic above.)
    const interval = meanInterval(moments(group1));
    expect(interval.estimate).toBeCloseTo(0.75, 12);
    expect(interval.se).toBeCloseTo(0.565735, 6);
    expect(interval.ci_lower).toBeCloseTo(-0.52978, 5);
    expect(interval.ci_upper).toBeCloseTo(2.02978, 5);
  });
});

describe("Welch's two-sample t test", () => {
  // The example of R's ?t.test: t.test(extra ~ group, data = sleep). R prints
  //   t = -1.8608, df = 17.776, p-value = 0.07939
  //   95 percent confidence interval: -3.3654832  0.2054832
  //   mean in group 1 0.75, mean in group 2 2.33
  // (R could not be run here; these are R's printed output for this example.
  // The hand arithmetic below reproduces them from Welch's formulas.)
  //   group 1: s² = 3.200556; group 2: Σx = 23.3, Σx² = 90.37, s² = (90.37 − 54.289)/9 = 4.009000
  //   se = √(3.200556/10 + 4.009/10) = √0.7209556 = 0.849091, t = −1.58 / 0.849091 = −1.860813
  //   ν = 0.7209556² / (0.3200556²/9 + 0.4009²/9) = 0.519777 / 0.029240 = 17.7765
  const group1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
  const group2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];

  it('reproduces R: group 1 as treatment, group 2 as control', () => {
    const result = compare(summarizeMean(moments(group2)), summarizeMean(moments(group1)));
    expect(result.effect).toBeCloseTo(-1.58, 12);
    expect(result.effect / result.se).toBeCloseTo(-1.8608, 4);
    expect(result.df).toBeCloseTo(17.776, 3);
    expect(result.p_value).toBeCloseTo(0.07939, 5);
    expect(result.ci_lower).toBeCloseTo(-3.3654832, 6);
    expect(result.ci_upper).toBeCloseTo(0.2054832, 6);
    expect(result.treatment_mean).toBeCloseTo(0.75, 12);
    expect(result.control_mean).toBeCloseTo(2.33, 12);
  });

  it('one-sided p-values are the matching halves of the two-sided one', () => {
    const control = summarizeMean(moments(group2));
    const treatment = summarizeMean(moments(group1));
    const less = compare(control, treatment, { alternative: 'less' });
    const greater = compare(control, treatment, { alternative: 'greater' });
    // R: t.test(extra ~ group, data = sleep, alternative = "less") → p = 0.07939 / 2
    expect(less.p_value).toBeCloseTo(0.0396971, 6);
    expect(greater.p_value).toBeCloseTo(1 - 0.0396971, 6);
    expect(less.ci_lower).toBe(-Infinity);
    expect(greater.ci_upper).toBe(Infinity);
  });
});

describe('relative lift (delta method, GrowthBook "Statistical Details")', () => {
  it('10% vs 12% conversion on 1000 users each, by hand', () => {
    // p_C = 0.10, s²_C = 0.09; p_T = 0.12, s²_T = 0.1056
    // Δ_r = 0.02 / 0.10 = 0.2
    // Var = s²_T/(p_C² n_T) + s²_C p_T²/(p_C⁴ n_C) = 0.1056/10 + 0.09·0.0144/0.1 = 0.01056 + 0.01296 = 0.02352
    // se = 0.153362
    const result = compare(summarizeBinomial({ n: 1000, successes: 100 }), summarizeBinomial({ n: 1000, successes: 120 }), { scale: 'relative' });
    expect(result.effect).toBeCloseTo(0.2, 12);
    expect(result.se).toBeCloseTo(Math.sqrt(0.02352), 12);
  });
});

describe('delta method for a ratio metric (Deng, Knoblich & Lu 2018, §3)', () => {
  it('clicks per session over four users, by hand', () => {
    // sessions D = [1, 2, 3, 4], clicks M = [1, 1, 2, 4]
    // ΣM = 8, ΣM² = 22, ΣD = 10, ΣD² = 30, ΣMD = 25, n = 4 → R = 0.8, D̄ = 2.5
    // s²_M = (22 − 16)/3 = 2, s²_D = (30 − 25)/3 = 5/3, s_MD = (25 − 20)/3 = 5/3
    // per-unit variance = (2 − 2·0.8·5/3 + 0.64·5/3) / 2.5² = 0.4 / 6.25 = 0.064
    // Cross-check by linearisation: M − R·D = [0.2, −0.6, −0.4, 0.8], sample variance 1.2/3 = 0.4 ✓
    // Var(R) = 0.064 / 4 = 0.016, se = 0.126491, z = 1.959964 → 0.8 ± 0.247918
    const interval = ratioInterval({ n: 4, m: { sum: 8, sum_squares: 22 }, d: { sum: 10, sum_squares: 30 }, m_d_sum_of_products: 25 });
    expect(interval.estimate).toBeCloseTo(0.8, 12);
    expect(interval.se).toBeCloseTo(Math.sqrt(0.016), 12);
    expect(interval.ci_lower).toBeCloseTo(0.552082, 6);
    expect(interval.ci_upper).toBeCloseTo(1.047918, 6);
  });
});

describe('CUPED (Deng, Xu, Kohavi & Walker 2013)', () => {
  const cuped = (x: number[], y: number[]) => ({
    n: x.length,
    pre: { sum: x.reduce((a, b) => a + b, 0), sum_squares: x.reduce((a, b) => a + b * b, 0) },
    post: { sum: y.reduce((a, b) => a + b, 0), sum_squares: y.reduce((a, b) => a + b * b, 0) },
    post_pre_sum_of_products: x.reduce((a, xi, i) => a + xi * y[i]!, 0),
  });

  it('§3.1: with θ = Cov(Y, X)/Var(X), Var(Y − θX) = Var(Y)(1 − ρ²)', () => {
    const x = [3, 7, 1, 9, 4, 6, 2, 8];
    const y = [5, 9, 2, 12, 6, 6, 4, 10];
    const stats = cuped(x, y);
    const theta = cupedTheta([stats]);
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const cov = (a: number[], b: number[]) => a.reduce((s, ai, i) => s + (ai - mean(a)) * (b[i]! - mean(b)), 0) / (a.length - 1);
    const rho2 = cov(x, y) ** 2 / (cov(x, x) * cov(y, y));
    expect(theta).toBeCloseTo(cov(x, y) / cov(x, x), 12);
    expect(cupedAdjustedSummary(stats, theta).variance).toBeCloseTo(cov(y, y) * (1 - rho2), 10);
  });

  it('two variants with pooled θ, by hand', () => {
    // control X = [1,2,3,4], Y = [2,3,5,6]; treatment X = [2,3,4,5], Y = [4,4,7,8]
    // pooled n = 8, ΣX = 24, ΣX² = 84, ΣY = 39, ΣXY = 135
    // Var(X) = (84 − 72)/7 = 12/7, Cov = (135 − 117)/7 = 18/7 → θ = 1.5
    // adjusted means: 4 − 1.5·2.5 = 0.25 and 5.75 − 1.5·3.5 = 0.5 → Δ = 0.25 (unadjusted 1.75)
    // control: s²_Y = 10/3, s²_X = 5/3, s_XY = 7/3 → V_adj = 10/3 + 2.25·5/3 − 3·7/3 = 1/12
    // treatment: s²_Y = 4.25, s²_X = 5/3, s_XY = 2.5 → V_adj = 4.25 + 3.75 − 7.5 = 0.5
    // Var(Δ) = 0.5/4 + (1/12)/4 = 0.1458333; unadjusted 4.25/4 + (10/3)/4 = 1.8958333
    // variance reduction = 1 − 0.1458333/1.8958333 = 12/13
    const result = compareCuped(cuped([1, 2, 3, 4], [2, 3, 5, 6]), cuped([2, 3, 4, 5], [4, 4, 7, 8]));
    expect(result.theta).toBeCloseTo(1.5, 12);
    expect(result.effect).toBeCloseTo(0.25, 12);
    expect(result.se).toBeCloseTo(Math.sqrt(0.1458333333), 9);
    expect(result.variance_reduction).toBeCloseTo(12 / 13, 10);
    expect(result.control_mean).toBe(4);
    expect(result.treatment_mean).toBe(5.75);
  });
});

describe('sample ratio mismatch (chi-square goodness of fit)', () => {
  it('5000 vs 5200 users at an expected 50/50', () => {
    // E = 5100 each; χ² = 2 · 100² / 5100 = 3.921569, df = 1
    // For df = 1, χ² = Z², so p = 2·Φ(−√3.921569) = 2·Φ(−1.980295) ≈ 2 · 0.02384 = 0.04767
    const result = sampleRatioMismatch([5000, 5200], [0.5, 0.5]);
    expect(result.expected).toEqual([5100, 5100]);
    expect(result.chi_square).toBeCloseTo(20000 / 5100, 12);
    expect(result.df).toBe(1);
    expect(result.p_value).toBeCloseTo(2 * standardNormalCdf(-Math.sqrt(20000 / 5100)), 10);
    expect(result.p_value).toBeCloseTo(0.04767, 5);
    expect(result.is_mismatch).toBe(false); // above GrowthBook's default threshold of 0.001
  });

  it('three arms 50/25/25: p has the closed form e^(−χ²/2) at df = 2', () => {
    // E = [5000, 2500, 2500]; χ² = 0 + 100²/2500 + 100²/2500 = 8; P(χ²₂ > 8) = e^−4 = 0.0183156
    const result = sampleRatioMismatch([5000, 2600, 2400], [2, 1, 1]);
    expect(result.chi_square).toBeCloseTo(8, 12);
    expect(result.p_value).toBeCloseTo(Math.exp(-4), 10);
  });

  it('flags a clear mismatch below 0.001', () => {
    expect(sampleRatioMismatch([5000, 5400], [1, 1]).is_mismatch).toBe(true); // χ² = 15.38, p ≈ 8.8e-5
  });
});

describe('multiple testing (R p.adjust definitions)', () => {
  it('p = 0.01 … 0.05, computed by hand from the definitions', () => {
    // BH, m = 5: m·p₍ᵢ₎/i = 0.05 for every i → all 0.05
    // Holm: (m − i + 1)·p₍ᵢ₎ = 0.05, 0.08, 0.09, 0.08, 0.05 → running max 0.05, 0.08, 0.09, 0.09, 0.09
    const p = [0.01, 0.02, 0.03, 0.04, 0.05];
    benjaminiHochberg(p).forEach((value) => expect(value).toBeCloseTo(0.05, 15));
    expect(holm(p).map((v) => +v.toFixed(12))).toEqual([0.05, 0.08, 0.09, 0.09, 0.09]);
  });

  it('unsorted input with ties comes back in input order, by hand', () => {
    // p = [0.04, 0.001, 0.03, 0.5, 0.01, 0.03], m = 6; ascending 0.001, 0.01, 0.03, 0.03, 0.04, 0.5
    // BH m·p/i: 0.006, 0.03, 0.06, 0.045, 0.048, 0.5 → running min from the top: 0.006, 0.03, 0.045, 0.045, 0.048, 0.5
    // Holm (m−i+1)·p: 0.006, 0.05, 0.12, 0.09, 0.08, 0.5 → running max: 0.006, 0.05, 0.12, 0.12, 0.12, 0.5
    const p = [0.04, 0.001, 0.03, 0.5, 0.01, 0.03];
    expect(benjaminiHochberg(p).map((v) => +v.toFixed(12))).toEqual([0.048, 0.006, 0.045, 0.5, 0.03, 0.045]);
    expect(holm(p).map((v) => +v.toFixed(12))).toEqual([0.12, 0.006, 0.12, 0.5, 0.05, 0.12]);
  });

  it('the 15 p-values of Benjamini & Hochberg (1995): 4 discoveries at q = 0.05, Holm 3', () => {
    // The paper's worked example rejects the four smallest p-values with its FDR procedure at q = 0.05.
    // The Holm count (3) and all adjusted values are computed here by hand from the definitions: BH p̃₍₄₎ = 0.0095·15/4 = 0.035625,
    // p̃₍₅₎ = 0.0201·15/5 = 0.0603; Holm p̃₍₃₎ = 13·0.0019 = 0.0247, p̃₍₄₎ = 12·0.0095 = 0.114.
    const p = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.324, 0.4262, 0.5719, 0.6528, 0.759, 1.0];
    const bh = benjaminiHochberg(p);
    const h = holm(p);
    expect(bh.filter((v) => v <= 0.05)).toHaveLength(4);
    expect(bh[3]).toBeCloseTo(0.035625, 12);
    expect(bh[4]).toBeCloseTo(0.0603, 12);
    expect(bh[5]).toBeCloseTo((0.0298 * 15) / 7, 12); // 0.0695 is undercut by the next rank's 0.063857
    expect(h.filter((v) => v <= 0.05)).toHaveLength(3);
    expect(h[2]).toBeCloseTo(0.0247, 12);
    expect(h[3]).toBeCloseTo(0.114, 12);
  });
});
