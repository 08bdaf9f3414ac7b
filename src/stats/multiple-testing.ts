/**
 * Adjusted p-values across a family of tests (the segments × metrics of one
 * experiment, as GrowthBook corrects across "all metrics, variations and
 * dimension values" of a result view; "Multiple Testing Corrections").
 * Adjusted p-values come back in input order and equal R's p.adjust for the
 * same method; reject where adjusted p ≤ α. They do not adjust intervals
 * (neither does GrowthBook).
 */
import { StatisticsError } from './statistics-error.ts';

function validate(pValues: readonly number[]): void {
  pValues.forEach((p, i) => {
    if (!(typeof p === 'number' && p >= 0 && p <= 1)) throw new StatisticsError('invalid_input', `p_values[${i}]`, `a p-value must lie in [0, 1], got ${String(p)}`);
  });
}

/** Input indices ordered by p-value, ties kept in input order (a stable sort). */
function orderBy(pValues: readonly number[], direction: 1 | -1): number[] {
  return pValues.map((_, i) => i).sort((a, b) => direction * (pValues[a]! - pValues[b]!) || a - b);
}

/**
 * Benjamini–Hochberg step-up adjusted p-values, controlling the false discovery
 * rate for independent or positively dependent tests (Benjamini & Hochberg
 * 1995, "Controlling the False Discovery Rate"; R's p.adjust(method = "BH")):
 *
 *   with p₍₁₎ ≤ … ≤ p₍ₘ₎:  p̃₍ᵢ₎ = min_{j ≥ i} min(1, m·p₍ⱼ₎ / j)
 */
export function benjaminiHochberg(pValues: readonly number[]): number[] {
  validate(pValues);
  const m = pValues.length;
  const adjusted = new Array<number>(m);
  let running = 1;
  orderBy(pValues, -1).forEach((index, k) => {
    const rank = m - k; // k-th largest has rank m − k among the ascending order
    running = Math.min(running, (m * pValues[index]!) / rank);
    adjusted[index] = running;
  });
  return adjusted;
}

/**
 * Holm step-down adjusted p-values, controlling the family-wise error rate
 * under any dependence (Holm 1979, "A simple sequentially rejective multiple
 * test procedure"; R's p.adjust(method = "holm")):
 *
 *   with p₍₁₎ ≤ … ≤ p₍ₘ₎:  p̃₍ᵢ₎ = max_{j ≤ i} min(1, (m − j + 1)·p₍ⱼ₎)
 */
export function holm(pValues: readonly number[]): number[] {
  validate(pValues);
  const m = pValues.length;
  const adjusted = new Array<number>(m);
  let running = 0;
  orderBy(pValues, 1).forEach((index, k) => {
    running = Math.max(running, Math.min(1, (m - k) * pValues[index]!));
    adjusted[index] = running;
  });
  return adjusted;
}
