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
