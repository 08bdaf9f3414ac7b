import { describe, expect, it } from 'vitest';
import { copyLine, copyText } from '../../src/load/copy-writer.ts';

describe('COPY text encoding', () => {
  it('escapes the characters COPY treats specially and writes NULL as \\N', () => {
    expect(copyText('a\\b\tc\nd\re')).toBe('a\\\\b\\tc\\nd\\re');
    expect(copyText(null)).toBe('\\N');
    expect(copyLine(['x', null, 'y'], '\t7\t1\n')).toBe('x\t\\N\ty\t7\t1\n');
  });
});
