/**
 * Checks one source value against a column type and returns the text that
 * PostgreSQL's COPY will accept for it. The checks are deliberately stricter
 * than PostgreSQL's input functions: anything accepted here must load, so a
 * single odd value can never abort a whole batch at COPY time.
 *
 * A rejected value throws ValueError with a reason that names the problem but
 * not the value (the value is kept in the quarantined raw payload), so reasons
 * group cleanly in reports.
 */
import type { ColumnContract, ColumnType } from './table-contracts.ts';

export class ValueError extends Error {
  override name = 'ValueError';
}

/** Parses a present (non-null) value; returns the COPY text, or null. */
export type ValueParser = (value: unknown) => string | null;

const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(?:\s?(?:Z|z|([+-])(\d{2})(?::?(\d{2}))?))?)?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const INTEGER = /^[+-]?\d{1,10}$/;
const NUMERIC = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?$/;
/** decimal(18,4): at most 14 digits before the point. */
const NUMERIC_LIMIT = 1e14;

// PostgreSQL's jsonb refuses \u0000 and unpaired surrogate escapes that JSON.parse allows.
const JSON_BAD_ESCAPE = /\\u0000|\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F]/;

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeap = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
const daysInMonth = (year: number, month: number) => (month === 2 && isLeap(year) ? 29 : DAYS[month - 1]!);

function checkCalendar(year: string, month: string, day: string, what: string): void {
  const y = Number(year);
  const m = Number(month);
  const d = Number(day);
  if (y < 1 || m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) {
    throw new ValueError(`not a calendar ${what} (month 1-12, day within the month)`);
  }
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  throw new ValueError(`expected a scalar value, found ${Array.isArray(value) ? 'an array' : typeof value}`);
}

function noNul(text: string): string {
  if (text.includes('\0')) throw new ValueError('contains a NUL character, which PostgreSQL text cannot store');
  return text;
}

const parsers: Record<ColumnType, (column: ColumnContract) => ValueParser> = {
  text: () => (value) => noNul(asText(value)),

  timestamptz: () => (value) => {
    const text = asText(value).trim();
    const match = TIMESTAMP.exec(text);
    if (!match) throw new ValueError('not a timestamp (expected ISO 8601, e.g. 2024-05-01T12:00:00Z)');
    const [, year, month, day, hour, minute, second, , offsetHours, offsetMinutes] = match;
    checkCalendar(year!, month!, day!, 'date');
    if ((hour && Number(hour) > 23) || (minute && Number(minute) > 59) || (second && Number(second) > 59)) {
      throw new ValueError('not a valid time of day');
    }
    if ((offsetHours && Number(offsetHours) > 15) || (offsetMinutes && Number(offsetMinutes) > 59)) {
      throw new ValueError('not a valid UTC offset (at most ±15:59)');
    }
    return text;
  },

  date: () => (value) => {
    const text = asText(value).trim();
    const match = DATE.exec(text);
    if (!match) throw new ValueError('not a date (expected YYYY-MM-DD)');
    checkCalendar(match[1]!, match[2]!, match[3]!, 'date');
    return text;
  },

  integer: () => (value) => {
    const text = asText(value).trim();
    if (!INTEGER.test(text)) throw new ValueError('not a whole number');
    const n = Number(text);
    if (n > 2147483647 || n < -2147483648) throw new ValueError('out of range for integer');
    return String(n);
  },

  numeric: () => (value) => {
    const text = asText(value).trim();
    if (!NUMERIC.test(text)) throw new ValueError('not a number');
    if (Math.abs(Number(text)) >= NUMERIC_LIMIT) throw new ValueError('out of range (at most 14 digits before the decimal point)');
    return text;
  },

  jsonb: (column) => (value) => {
    let text: string;
    let parsed: unknown;
    if (typeof value === 'string') {
      text = value;
      try {
        parsed = JSON.parse(text);
      } catch (error) {
        throw new ValueError(`not valid JSON (${(error as Error).message.replace(/ in JSON at.*$|, ".*$/, '')})`);
      }
    } else {
      parsed = value;
      text = JSON.stringify(value);
    }
    if (column.object && (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))) {
      throw new ValueError('expected a JSON object');
    }
    if (text.includes('\\u') && JSON_BAD_ESCAPE.test(text)) {
      throw new ValueError('JSON holds \\u0000 or an unpaired surrogate, which PostgreSQL jsonb cannot store');
    }
    return text;
  },
};

/** A parser for one column: null and empty strings become NULL, required columns refuse them. */
export function parserFor(column: ColumnContract): ValueParser {
  const parse = parsers[column.type](column);
  return (value) => {
    if (value === null || value === undefined || value === '') {
      if (column.required) throw new ValueError('is required but missing');
      return null;
    }
    return parse(value);
  };
}
