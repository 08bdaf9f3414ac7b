/**
 * src/stats/sql-intervals.ts renders the module's formulas as PostgreSQL
 * expressions; this evaluates each on the database for many inputs and
 * compares it with the TypeScript function it restates (wilsonInterval,
 * meanInterval, compare(relative)), so the two cannot drift apart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/demo/seeded-random.ts';
import { compare, meanInterval, summarizeMean, wilsonInterval } from '../../src/stats/index.ts';
import { studentTQuantile } from '../../src/stats/distributions.ts';
import { meanBoundsSql, relativeLiftSql, sampleVarianceSql, T_TABLE_MAX_DF, tQuantileSql, wilsonBoundsSql } from '../../src/stats/sql-intervals.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
});
afterAll(() => db.drop());

/** t(0.975; df) evaluated by PostgreSQL. */
const tInSql = async (df: number) => (await db.knex.raw(`select ${tQuantileSql('df')} as t from (select ?::float8 as df) s`, [df])).rows[0].t as number | null;

describe('SQL renderings of the interval formulas', () => {
  it('t quantiles: exact at integer df ≤ 30, Cornish–Fisher within 1e-6 above', async () => {
    for (const df of [1, 2, 5, 17, 30]) expect(await tInSql(df)).toBeCloseTo(studentTQuantile(0.975, df), 12);
    expect(await tInSql(7.8)).toBeCloseTo(studentTQuantile(0.975, 7), 12); // rounded down: conservative
    for (const df of [T_TABLE_MAX_DF + 0.5, 45.3, 120, 999, 1e6]) expect(Math.abs((await tInSql(df))! - studentTQuantile(0.975, df))).toBeLessThan(1e-6);
    expect(await tInSql(0)).toBeNull();
  });

  it('Wilson bounds equal wilsonInterval for every x of several n', async () => {
    const w = wilsonBoundsSql('n', 'x');
    for (const n of [1, 2, 7, 40, 1000]) {
      const xs = [...new Set([0, 1, Math.floor(n / 3), n - 1, n].filter((x) => x >= 0))];
      for (const x of xs) {
        const row = (await db.knex.raw(`select ${w.lower} as lower, ${w.upper} as upper from (select ?::int as n, ?::int as x) s`, [n, x])).rows[0];
        const ts = wilsonInterval({ n, successes: x });
        expect(row.lower, `${x}/${n}`).toBeCloseTo(ts.ci_lower, 12);
        expect(row.upper, `${x}/${n}`).toBeCloseTo(ts.ci_upper, 12);
      }
    }
  });

  it('mean bounds and relative lift equal meanInterval and compare() when df > 30', async () => {
    const rng = new SeededRandom(14);
    const bounds = meanBoundsSql('n', 'mean', 'variance');
    const lift = relativeLiftSql({ n: 'cn', mean: 'cm', variance: 'cv' }, { n: 'tn', mean: 'tm', variance: 'tv' });
    for (let run = 0; run < 20; run++) {
      const group = (n: number) => {
        let sum = 0;
        let sumSquares = 0;
        for (let i = 0; i < n; i++) {
          const x = 10 + 5 * rng.next() + (rng.next() < 0.1 ? 50 : 0);
          sum += x;
          sumSquares += x * x;
        }
        return { n, sum, sum_squares: sumSquares };
      };
      const control = group(40 + Math.floor(rng.next() * 500));
      const treatment = group(40 + Math.floor(rng.next() * 500));
      const c = summarizeMean(control);
      const t = summarizeMean(treatment);
      const row = (await db.knex.raw(
        `select ${sampleVarianceSql('n', 'sum', 'sum_squares')} as variance, ${bounds.lower} as lower, ${bounds.upper} as upper,
                ${lift.effect} as lift, ${lift.lower} as lift_lower, ${lift.upper} as lift_upper
         from (select ?::bigint as n, ?::float8 as sum, ?::float8 as sum_squares, ?::float8 as mean, ?::float8 as variance,
                      ?::bigint as tn, ?::float8 as tm, ?::float8 as tv, ?::bigint as cn, ?::float8 as cm, ?::float8 as cv) s`,
        [treatment.n, treatment.sum, treatment.sum_squares, t.mean, t.variance, treatment.n, t.mean, t.variance, control.n, c.mean, c.variance],
      )).rows[0];
      expect(row.variance).toBeCloseTo(t.variance, 6);
      expect(row.lower).toBeCloseTo(meanInterval(treatment).ci_lower, 6);
      expect(row.upper).toBeCloseTo(meanInterval(treatment).ci_upper, 6);
      const ts = compare(c, t, { scale: 'relative' });
      expect(row.lift).toBeCloseTo(ts.effect, 12);
      expect(row.lift_lower).toBeCloseTo(ts.ci_lower, 6);
      expect(row.lift_upper).toBeCloseTo(ts.ci_upper, 6);
    }
  });

  /**
   * Coverage of the SQL renderings where they differ from the TypeScript functions
   * (the t table rounded down at fractional Welch df ≤ 30, the Cornish–Fisher quantile
   * above): 2000 seeded datasets each, reduced to sufficient statistics in TypeScript,
   * bounded by PostgreSQL in one set-based query; the 95% interval must cover the truth
   * in 93–97% of them (±4 simulation standard errors, as test/unit/stats).
   */
  it('the SQL intervals cover the truth 93–97% of the time (small-df table, rounded Welch df, Cornish–Fisher)', async () => {
    const RUNS = 2000;
    const rng = new SeededRandom(1414);
    const normal = (mean: number, sd: number) => mean + sd * Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
    const group = (n: number, draw: () => number) => {
      let sum = 0;
      let sumSquares = 0;
      for (let i = 0; i < n; i++) {
        const x = draw();
        sum += x;
        sumSquares += x * x;
      }
      return summarizeMean({ n, sum, sum_squares: sumSquares });
    };
    // Lift 10 → 12 (truth 0.2) with n 15 vs 20: Welch df ≈ 28, fractional, from the table.
    const lifts = Array.from({ length: RUNS }, () => [group(15, () => normal(10, 1)), group(20, () => normal(12, 2))] as const);
    // Means of exponential data (truth 5): n = 8 (exact table), n = 120 (Cornish–Fisher).
    const small = Array.from({ length: RUNS }, () => group(8, () => normal(5, 2)));
    const large = Array.from({ length: RUNS }, () => group(120, () => -5 * Math.log(1 - rng.next())));
    const lift = relativeLiftSql({ n: 'cn', mean: 'cm', variance: 'cv' }, { n: 'tn', mean: 'tm', variance: 'tv' });
    const bounds = meanBoundsSql('n', 'mean', 'variance');
    const cover = async (sql: string, columns: Record<string, number[]>, truth: number) => {
      const names = Object.keys(columns);
      const [row] = (await db.knex.raw(
        `select avg(case when lower <= ? and ? <= upper then 1.0 else 0 end)::float8 as share
         from (select ${sql} from unnest(${names.map(() => '?::float8[]').join(', ')}) as s(${names.join(', ')})) b`,
        [truth, truth, ...names.map((n) => columns[n]!)],
      )).rows;
      return row.share as number;
    };
    const shares = {
      lift: await cover(`${lift.lower} as lower, ${lift.upper} as upper`, {
        cn: lifts.map(([c]) => c.n), cm: lifts.map(([c]) => c.mean), cv: lifts.map(([c]) => c.variance),
        tn: lifts.map(([, t]) => t.n), tm: lifts.map(([, t]) => t.mean), tv: lifts.map(([, t]) => t.variance),
      }, 0.2),
      small: await cover(`${bounds.lower} as lower, ${bounds.upper} as upper`, { n: small.map((g) => g.n), mean: small.map((g) => g.mean), variance: small.map((g) => g.variance) }, 5),
      large: await cover(`${bounds.lower} as lower, ${bounds.upper} as upper`, { n: large.map((g) => g.n), mean: large.map((g) => g.mean), variance: large.map((g) => g.variance) }, 5),
    };
    console.log(`SQL 95% interval coverage over ${RUNS} datasets each: ${JSON.stringify(shares)}`);
    for (const [kind, share] of Object.entries(shares)) {
      expect(share, kind).toBeGreaterThanOrEqual(0.93);
      expect(share, kind).toBeLessThanOrEqual(0.97);
    }
  });
});

