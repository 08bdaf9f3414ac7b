import { describe, expect, it } from 'vitest';
import { parserFor, ValueError } from '../../src/load/value-parsers.ts';

const ts = parserFor({ name: 'occurred_at', type: 'timestamptz', required: true });
const date = parserFor({ name: 'period_start', type: 'date' });
const int = parserFor({ name: 'birth_year', type: 'integer' });
const num = parserFor({ name: 'amount', type: 'numeric' });
const json = parserFor({ name: 'properties', type: 'jsonb', object: true });
const text = parserFor({ name: 'event', type: 'text' });

const reason = (f: () => unknown) => {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(ValueError);
    return (error as Error).message;
  }
  throw new Error('expected a ValueError');
};

describe('timestamps', () => {
  it.each(['2024-05-01T12:00:00Z', '2024-05-01 12:00:00', '2024-02-29T23:59:59.123456+02:00', '2011-12-09 12:50', '2024-05-01'])(
    'accepts %s unchanged',
    (value) => expect(ts(value)).toBe(value),
  );
  it.each([
    ['2023-02-29T00:00:00Z', 'not a calendar date'],
    ['2024-13-01T00:00:00Z', 'not a calendar date'],
    ['2024-05-01T24:00:00Z', 'not a valid time of day'],
    ['yesterday', 'not a timestamp'],
    ['1714567890', 'not a timestamp'],
  ])('rejects %s', (value, why) => expect(reason(() => ts(value))).toContain(why));
  it('treats empty as missing, and missing as an error when required', () => {
    expect(reason(() => ts(''))).toBe('is required but missing');
    expect(reason(() => ts(null))).toBe('is required but missing');
  });
});

describe('other scalars', () => {
  it('dates', () => {
    expect(date('2024-02-29')).toBe('2024-02-29');
    expect(reason(() => date('2024-02-30'))).toContain('calendar');
    expect(date('')).toBeNull();
  });
  it('integers', () => {
    expect(int(' 1987 ')).toBe('1987');
    expect(int(1987)).toBe('1987');
    expect(reason(() => int('1987.5'))).toBe('not a whole number');
    expect(reason(() => int('9999999999'))).toBe('out of range for integer');
  });
  it('numerics', () => {
    expect(num('-12.50')).toBe('-12.50');
    expect(num('1e3')).toBe('1e3');
    expect(reason(() => num('12,50'))).toBe('not a number');
    expect(reason(() => num('1e20'))).toContain('out of range');
  });
  it('text refuses NUL and non-scalars', () => {
    expect(text('checkout\tcompleted')).toBe('checkout\tcompleted');
    expect(reason(() => text('a\0b'))).toContain('NUL');
    expect(reason(() => text({ a: 1 }))).toContain('expected a scalar');
  });
});

describe('jsonb', () => {
  it('accepts objects as text or values', () => {
    expect(json('{"plan":"pro"}')).toBe('{"plan":"pro"}');
    expect(json({ plan: 'pro' })).toBe('{"plan":"pro"}');
  });
  it('rejects what PostgreSQL jsonb would', () => {
    expect(reason(() => json('{"plan":'))).toMatch(/^not valid JSON/);
    expect(reason(() => json('[1,2]'))).toBe('expected a JSON object');
    expect(reason(() => json('{"a":"\\u0000"}'))).toContain('\\u0000');
    expect(reason(() => json('{"a":"\\ud800"}'))).toContain('surrogate');
    expect(reason(() => json({ a: 'x\0y' }))).toContain('\\u0000');
  });
  it('keeps surrogate pairs', () => {
    expect(json('{"a":"\\ud83d\\ude00"}')).toBe('{"a":"\\ud83d\\ude00"}');
  });
});

describe('timestamps: the fast path for plain UTC ones agrees with the full check', () => {
  // The full check, written out here as the README documents it: ISO 8601, a calendar date, a time of day.
  const valid = (text: string) => {
    const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?[Zz]$/.exec(text);
    if (!m) return undefined;
    const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
    const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
    return y >= 1 && mo >= 1 && mo <= 12 && d >= 1 && d <= days && h <= 23 && mi <= 59 && s <= 59;
  };
  it('accepts and refuses the same texts', () => {
    let s = 7;
    const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const pick = (xs: string[]) => xs[Math.floor(rand() * xs.length)]!;
    for (let i = 0; i < 20_000; i++) {
      const text = `${pick(['2024', '2023', '0000', '1900', '2000', '20x4'])}-${pick(['01', '02', '12', '13', '00'])}-${pick(['01', '28', '29', '30', '31', '32'])}${pick(['T', ' ', 't', '_'])}${pick(['00', '23', '24'])}:${pick(['00', '59', '60'])}:${pick(['00', '59', '60', '5'])}${pick(['', '.1', '.123456', '.1234567', '.', '.x'])}${pick(['Z', 'z', '', '+02:00', 'Q'])}`;
      let accepted: boolean;
      try {
        ts(text);
        accepted = true;
      } catch {
        accepted = false;
      }
      // Texts outside the plain UTC shape go to the full check; only compare inside it.
      const expected = valid(text);
      if (expected !== undefined) expect(accepted, text).toBe(expected);
    }
  });
});
