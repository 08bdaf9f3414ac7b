/** Prints data-quality results: one line per warning or failure, one summary line otherwise. */
import type { QualityResult } from '../quality/quality-result.ts';
import { bold, dim, green, red, say, yellow } from '../terminal/terminal-output.ts';

export function printQuality(results: QualityResult[]): void {
  const flagged = results.filter((r) => r.status !== 'pass');
  say(bold('\ndata quality') + dim(' (freshness, volume; ops.test_results)'));
  if (flagged.length === 0) say(`  ${green('✓')} ${results.length} checks pass`);
  for (const r of flagged) say(`  ${r.status === 'fail' ? red('error') : yellow('warn')} ${r.check} ${r.source} ${r.subject}: ${r.message}`);
}
