/**
 * `seglayer stats compare | srm | adjust` as a user runs it: the real CLI
 * process, JSON on stdin, JSON on stdout. The numbers are GrowthBook's and R's
 * published ones (sources beside each case); the module's own tests cover the
 * rest (test/unit/stats/stats-request.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

function stats(command: string, input: string): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [join(ROOT, 'scripts/seglayer.mjs'), 'stats', command], { input, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('seglayer stats', () => {
  it('compare: GrowthBook OneSidedTreatmentGreaterTTest fixture, infinite bound as "inf"', () => {
    // gbstats packages/stats/tests/frequentist/test_tests.py, TestOneSidedGreaterTTest.test_one_sided_ttest:
    // expected 0.50336, ci (−0.04514, inf), p 0.06558.
    const request = {
      metric_type: 'mean',
      control: { n: 3000, sum: 1396.87, sum_squares: 52377.9767 },
      treatment: { n: 3461, sum: 2422.7, sum_squares: 134698.29 },
      alpha: 0.05,
      sides: 'greater',
      difference: 'relative',
    };
    const run = stats('compare', JSON.stringify(request));
    expect(run.status).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(out.ci_upper).toBe('inf');
    expect(out.effect).toBeCloseTo(0.50336, 5);
    expect(out.ci_lower).toBeCloseTo(-0.04514, 5);
    expect(out.p_value).toBeCloseTo(0.06558, 5);
    for (const key of ['effect', 'se', 'ci_lower', 'ci_upper', 'p_value', 'control_mean', 'treatment_mean']) expect(out).toHaveProperty(key);
  });

  it('srm: R ?chisq.test, x = c(89,37,30,28,2), p = c(40,20,20,15,5): X-squared = 9.9901, p = 0.04059', () => {
    const run = stats('srm', JSON.stringify({ users: [89, 37, 30, 28, 2], weights: [40, 20, 20, 15, 5] }));
    expect(run.status).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(out.chi_square).toBeCloseTo(9.9901, 4);
    expect(out.p_value).toBeCloseTo(0.04059, 5);
  });

  it('adjust: Holm on p = 0.01 … 0.05 shuffled (R p.adjust definition), in input order', () => {
    const run = stats('adjust', JSON.stringify({ p_values: [0.05, 0.01, 0.03, 0.02, 0.04], method: 'holm' }));
    expect(run.status).toBe(0);
    // Holm by hand: ascending 0.01·5, 0.02·4, 0.03·3, 0.04·2, 0.05·1 → 0.05, 0.08, 0.09, 0.09 (running max), 0.09
    expect(JSON.parse(run.stdout).adjusted_p_values.map((v: number) => +v.toFixed(12))).toEqual([0.09, 0.05, 0.09, 0.08, 0.09]);
  });

  it('bad input: exit 1, one line per problem naming the field, no stack trace', () => {
    const run = stats('compare', JSON.stringify({ metric_type: 'binomial', control: { n: 10, successes: 3 }, treatment: { n: 10 } }));
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/treatment\.successes/);
    expect(run.stderr).not.toMatch(/\bat .*\.ts:\d+/);
    const notJson = stats('srm', '{users:');
    expect(notJson.status).toBe(1);
    expect(notJson.stderr).toMatch(/not JSON/);
  });
});
