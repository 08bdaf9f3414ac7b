/**
 * seglayer's statistics: pure functions on sufficient statistics, shared by the
 * segment value marts and experiment analysis. Formulas and sources:
 * docs/statistics.md.
 */
export { StatisticsError, type StatisticsErrorCode } from './statistics-error.ts';
export {
  type BinomialStatistics,
  type CupedStatistics,
  type MeanStatistics,
  type Moments,
  type RatioStatistics,
  type UnitSummary,
  sampleCovariance,
  sampleVariance,
  summarizeBinomial,
  summarizeMean,
  summarizeRatio,
} from './sufficient-statistics.ts';
export { DEFAULT_ALPHA, type Interval, type IntervalMethod } from './interval.ts';
export { wilsonInterval } from './proportion-interval.ts';
export { meanInterval } from './mean-interval.ts';
export { ratioInterval } from './ratio-interval.ts';
export { type Alternative, type TestResult, welchDegreesOfFreedom, welchTest } from './welch-test.ts';
export { absoluteEffect, type Comparison, type CompareOptions, compare, type EffectScale, relativeEffect } from './effect-comparison.ts';
export { type SegmentLift, segmentLift } from './segment-lift.ts';
export { type CupedComparison, compareCuped, cupedAdjustedSummary, cupedTheta } from './cuped.ts';
export { DEFAULT_SRM_THRESHOLD, type SampleRatioMismatch, sampleRatioMismatch } from './sample-ratio-mismatch.ts';
export { benjaminiHochberg, holm } from './multiple-testing.ts';
export {
  changeStatistics, type DifferenceInDifferences, differenceInDifferences, type PanelStatistics, type ParallelTrendsCheck, parallelTrendsCheck,
  parallelTrendsBySlope, type PreTrendSlopes,
} from './difference-in-differences.ts';
