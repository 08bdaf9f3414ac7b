/**
 * A benchmark target and whether a run met it. Every bench part returns its figures as
 * these, so `npm run bench` can print each ratio beside its target and exit with a status
 * that says whether all targets were met (see BENCH_EXIT).
 */
import { bold, red, table } from '../terminal/terminal-output.ts';

export interface TargetResult {
  /** What is measured, e.g. "loader throughput vs psql \\copy". */
  figure: string;
  /** The measured value, in `unit`. */
  measured: number;
  /** The baseline measured in the same run, in `unit`; undefined for an absolute target. */
  baseline?: number;
  /** measured / baseline (or measured itself for an absolute target), compared with `target`. */
  ratio: number;
  /** The bound on `ratio`. */
  target: { op: '<=' | '<' | '>=' | '>'; value: number };
  /** Unit of measured and baseline, e.g. "rows/s", "s", "ms". */
  unit: string;
  met: boolean;
}

/** Process exit codes of `seglayer bench`. */
export const BENCH_EXIT = {
  /** Every part ran and every target was met. */
  met: 0,
  /** A part failed (an error, not a slow figure). */
  error: 1,
  /** Every part ran, and at least one target was not met. */
  notMet: 3,
} as const;

const compare = { '<=': (a: number, b: number) => a <= b, '<': (a: number, b: number) => a < b, '>=': (a: number, b: number) => a >= b, '>': (a: number, b: number) => a > b };

/** A target compared on measured / baseline. */
export function ratioTarget(figure: string, measured: number, baseline: number, unit: string, op: TargetResult['target']['op'], value: number): TargetResult {
  const ratio = measured / baseline;
  return { figure, measured, baseline, ratio, target: { op, value }, unit, met: Number.isFinite(ratio) && compare[op](ratio, value) };
}

/** A target compared on the measured value itself (a latency, a memory size). */
export function absoluteTarget(figure: string, measured: number, unit: string, op: TargetResult['target']['op'], value: number): TargetResult {
  return { figure, measured, ratio: measured, target: { op, value }, unit, met: Number.isFinite(measured) && compare[op](measured, value) };
}

const number = (n: number | undefined) => (n === undefined ? '-' : !Number.isFinite(n) ? 'n/a' : Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(Math.abs(n) < 10 ? 2 : 1));

/** The table `npm run bench` ends with: each figure, its ratio beside its target, met or not. */
export function targetsTable(results: TargetResult[]): string {
  return table([
    ['figure', 'measured', 'baseline', 'ratio / value', 'target', ''],
    ...results.map((r) => [
      r.figure,
      `${number(r.measured)} ${r.unit}`,
      r.baseline === undefined ? '-' : `${number(r.baseline)} ${r.unit}`,
      r.baseline === undefined ? `${number(r.ratio)} ${r.unit}` : `${number(r.ratio)}x`,
      `${r.target.op} ${r.target.value}${r.baseline === undefined ? ` ${r.unit}` : 'x'}`,
      r.met ? bold('met') : red(bold('not met')),
    ]),
  ]);
}

/** The exit code for a run whose parts all finished with these results. */
export function exitCodeOf(results: TargetResult[]): number {
  return results.every((r) => r.met) ? BENCH_EXIT.met : BENCH_EXIT.notMet;
}
