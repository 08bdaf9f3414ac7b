import { describe, expect, it } from 'vitest';
import { parseQuarantineLimit, quarantineRefusal } from '../../src/load/quarantine-limit.ts';

describe('quarantine limit', () => {
  it('reads a share or a number of rows', () => {
    expect(parseQuarantineLimit('5%')).toEqual({ share: 0.05 });
    expect(parseQuarantineLimit('0.5%')).toEqual({ share: 0.005 });
    expect(parseQuarantineLimit('200')).toEqual({ rows: 200 });
    expect(() => parseQuarantineLimit('five')).toThrow('--max-quarantined "five": expected a share such as 5% or a number of rows such as 200');
    expect(() => parseQuarantineLimit('150%')).toThrow(/expected a share/);
  });
  it('refuses above the limit, not at it', () => {
    expect(quarantineRefusal({ share: 0.05 }, 5, 100)).toBeUndefined();
    expect(quarantineRefusal({ share: 0.05 }, 6, 100)).toBe('6 of 100 rows (6%) were quarantined, more than --max-quarantined 5% allows');
    expect(quarantineRefusal({ rows: 2 }, 3, 1000)).toBe('3 of 1000 rows (0.3%) were quarantined, more than --max-quarantined 2 rows allows');
  });
  it('refuses a load where every row was quarantined, whatever the limit', () => {
    expect(quarantineRefusal({ share: 1 }, 4, 4)).toBe('every row (4) was quarantined');
    expect(quarantineRefusal({ share: 1 }, 0, 0)).toBeUndefined();
  });
});
