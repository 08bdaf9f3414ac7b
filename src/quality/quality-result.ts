/** One data-quality finding, as recorded in ops.test_results and printed by build and test. */
export interface QualityResult {
  check: 'freshness' | 'volume';
  /** The raw table checked, e.g. raw.events. */
  source: string;
  /** What in it: the time column (freshness) or the event name (volume). */
  subject: string;
  /** fail is an error (non-zero exit); warn is printed and recorded only. */
  status: 'pass' | 'warn' | 'fail';
  /** Anomalous days (volume) or 1 for a stale source. */
  failures: number;
  message: string;
}
