/**
 * Conversions a mapping can put on a source column, for exports that do not write values
 * the way the raw tables store them:
 *
 *   --map occurred_at=created:unix_s     seconds since 1970-01-01 UTC (Stripe's `created`)
 *   --map occurred_at=ts:unix_ms         milliseconds since 1970-01-01 UTC (JavaScript, Kafka)
 *   --map occurred_at=Date:dmy           31/12/2024 or 31.12.2024 13:05[:59] (day first)
 *   --map occurred_at=Date:mdy           12/31/2024 1:05 (month first)
 *   --map amount=amount:cents            integer minor units -> decimal (1999 -> 19.99)
 *
 * A conversion turns a source value into text the column's own parser then checks, so a
 * converted value is held to the same rules as one written natively. Scaling is done on
 * the digits, not in floating point, so 1999 cents is exactly 19.99.
 */
import type { ColumnType } from './table-contracts.ts';
import { ValueError } from './value-parsers.ts';

export interface Conversion {
  name: string;
  /** The column type the conversion produces values for. */
  type: ColumnType;
  /** What the source values look like, for errors and the README. */
  accepts: string;
  convert(value: string): string;
}

const UNIX_SECONDS = /^-?\d{1,11}(?:\.\d{1,6})?$/;
const UNIX_MILLISECONDS = /^-?\d{1,14}(?:\.\d{1,3})?$/;
const DAY_MONTH_YEAR = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;
const WHOLE = /^([+-]?)(\d{1,18})$/;

function fromEpochMilliseconds(ms: number): string {
  const date = new Date(ms);
  // Year 1..9999 is what a timestamptz written as ISO text can hold.
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() < 1 || date.getUTCFullYear() > 9999) throw new ValueError('out of range for a timestamp');
  return date.toISOString();
}

function dayMonthYear(dayFirst: boolean) {
  return (value: string): string => {
    const match = DAY_MONTH_YEAR.exec(value.trim());
    if (!match) throw new ValueError(`not a ${dayFirst ? 'day/month/year' : 'month/day/year'} date (e.g. ${dayFirst ? '31/12/2024 13:05' : '12/31/2024 13:05'})`);
    const [, first, second, year, hour, minute, second_] = match;
    const [day, month] = dayFirst ? [first!, second!] : [second!, first!];
    const date = `${year}-${month.padStart(2, '0')}-${day.padStart(2, '0')}`;
    return hour === undefined ? date : `${date} ${hour.padStart(2, '0')}:${minute}:${second_ ?? '00'}`;
  };
}

/** Moves the decimal point `places` to the left on the digits: exact, unlike dividing a float. */
function shiftDecimal(places: number, unit: string) {
  return (value: string): string => {
    const match = WHOLE.exec(value.trim());
    if (!match) throw new ValueError(`not a whole number of ${unit}`);
    const [, sign, digits] = match;
    const padded = digits!.padStart(places + 1, '0');
    return `${sign === '-' ? '-' : ''}${padded.slice(0, -places)}.${padded.slice(-places)}`;
  };
}

const CONVERSIONS: Record<string, Conversion> = Object.fromEntries(
  (
    [
      {
        name: 'unix_s', type: 'timestamptz', accepts: 'seconds since 1970-01-01 UTC, e.g. 1714561200',
        convert: (value) => {
          if (!UNIX_SECONDS.test(value.trim())) throw new ValueError('not unix seconds (a whole number such as 1714561200)');
          return fromEpochMilliseconds(Math.round(Number(value) * 1000));
        },
      },
      {
        name: 'unix_ms', type: 'timestamptz', accepts: 'milliseconds since 1970-01-01 UTC, e.g. 1714561200000',
        convert: (value) => {
          if (!UNIX_MILLISECONDS.test(value.trim())) throw new ValueError('not unix milliseconds (a whole number such as 1714561200000)');
          return fromEpochMilliseconds(Math.round(Number(value)));
        },
      },
      { name: 'dmy', type: 'timestamptz', accepts: 'day first: 31/12/2024, 31.12.2024 13:05 or 31-12-2024 13:05:59', convert: dayMonthYear(true) },
      { name: 'mdy', type: 'timestamptz', accepts: 'month first: 12/31/2024 or 12/31/2024 13:05:59', convert: dayMonthYear(false) },
      { name: 'cents', type: 'numeric', accepts: 'whole minor units (cents, pence), e.g. 1999 for 19.99', convert: shiftDecimal(2, 'cents') },
      { name: 'thousandths', type: 'numeric', accepts: 'whole thousandths (mills, fils), e.g. 19990 for 19.99', convert: shiftDecimal(3, 'thousandths') },
    ] satisfies Conversion[]
  ).map((conversion) => [conversion.name, conversion]),
);

export const CONVERSION_NAMES = Object.keys(CONVERSIONS);

/** Every conversion with what it accepts, for help text and docs. */
export function describeConversions(): { name: string; type: ColumnType; accepts: string }[] {
  return Object.values(CONVERSIONS).map(({ name, type, accepts }) => ({ name, type, accepts }));
}

export interface SourceSpec {
  /** The source column (or object key). */
  column: string;
  conversion?: Conversion;
  /** Set when the text after the last `:` names no conversion. */
  unknownConversion?: string;
}

/**
 * Splits `created:unix_s` into column and conversion. A column whose own name holds a
 * colon still maps: `hasColumn` (the CSV header) is asked about the whole text first.
 */
export function parseSourceSpec(spec: string, hasColumn: (name: string) => boolean = () => false): SourceSpec {
  const at = spec.lastIndexOf(':');
  if (at <= 0 || hasColumn(spec)) return { column: spec };
  const name = spec.slice(at + 1).trim();
  const column = spec.slice(0, at);
  const conversion = CONVERSIONS[name];
  return conversion ? { column, conversion } : { column, unknownConversion: name };
}
