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

/** Value of the ASCII digit at `i`, or -1. */
function digitAt(text: string, i: number): number {
  const d = text.charCodeAt(i) - 48;
  return d >= 0 && d <= 9 ? d : -1;
}

/** The two- or four-digit number at `i`, or -1 when a character there is not a digit. */
function numberAt(text: string, i: number, digits: 2 | 4): number {
  let n = 0;
  for (let k = 0; k < digits; k++) {
    const d = digitAt(text, i + k);
    if (d < 0) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * The common case without the regular expression: `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`
 * (or a space for the T), a real date and time of day. True only for text the
 * full check below also accepts; false sends the text to that check, which
 * decides (and names what is wrong). Matching the expression cost more than
 * anything else in checking a row.
 */
function isPlainUtcTimestamp(text: string): boolean {
  const n = text.length;
  if (n < 20 || n > 27 || n === 21) return false;
  const last = text.charCodeAt(n - 1);
  if (last !== 90 && last !== 122) return false; // Z or z
  const sep = text.charCodeAt(10);
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || (sep !== 84 && sep !== 32) || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return false;
  if (n > 20) {
    if (text.charCodeAt(19) !== 46) return false; // the fraction: '.', then 1-6 digits
    for (let i = 20; i < n - 1; i++) if (digitAt(text, i) < 0) return false;
  }
  const year = numberAt(text, 0, 4);
  const month = numberAt(text, 5, 2);
  const day = numberAt(text, 8, 2);
  const hour = numberAt(text, 11, 2);
  const minute = numberAt(text, 14, 2);
  const second = numberAt(text, 17, 2);
  return year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month) && hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 && second <= 59;
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
    if (isPlainUtcTimestamp(text)) return text;
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
