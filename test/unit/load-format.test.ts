import { describe, expect, it } from 'vitest';
import { LoadFormatError, resolveLoadFormat } from '../../src/load/load-format.ts';

describe('resolveLoadFormat', () => {
  it('takes current names silently', () => {
    const warnings: string[] = [];
    expect(['csv', 'ndjson', 'tracking-calls'].map((f) => resolveLoadFormat(f, '--format', (m) => warnings.push(m)))).toEqual(['csv', 'ndjson', 'tracking-calls']);
    expect(warnings).toEqual([]);
  });

  it('takes the old name "segment" as tracking-calls and warns that it is deprecated', () => {
    const warnings: string[] = [];
    expect(resolveLoadFormat('segment', '--format', (m) => warnings.push(m))).toBe('tracking-calls');
    expect(warnings).toEqual(['--format: format "segment" is deprecated, use "tracking-calls" (a Segment/RudderStack export of tracking calls)']);
  });

  it('refuses anything else, naming the accepted formats', () => {
    expect(() => resolveLoadFormat('parquet', '--format', () => {})).toThrow(new LoadFormatError('--format: unknown format "parquet"; expected csv | ndjson | tracking-calls'));
  });
});
