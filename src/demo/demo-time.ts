/**
 * Fast timestamp text for the demo files. Date#toISOString for ~10 million
 * timestamps is a noticeable share of generation time, so the date part is
 * cached per day and the time of day is assembled from lookup tables. Output
 * is identical to toISOString(): `YYYY-MM-DDTHH:MM:SS.mmmZ`.
 */
import { DAY_MS } from './demo-catalog.ts';

const PAD2 = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
const dayPrefix = new Map<number, string>();

/** `ms` (epoch milliseconds, an integer) as ISO 8601 UTC with millisecond precision. */
export function isoMs(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  let prefix = dayPrefix.get(day);
  if (prefix === undefined) {
    prefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
    dayPrefix.set(day, prefix);
  }
  let rest = ms - day * DAY_MS;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  return `${prefix}${PAD2[hours]}:${PAD2[minutes]}:${PAD2[seconds]}.${PAD3[rest - seconds * 1000]}Z`;
}

/** `ms` as a calendar date, YYYY-MM-DD (UTC). */
export function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Start of each UTC month from `from`'s month up to and including the month holding `until - 1`, plus the following month's start. */
export function monthStarts(from: number, until: number): number[] {
  const first = new Date(from);
  const starts: number[] = [];
  for (let y = first.getUTCFullYear(), m = first.getUTCMonth(); ; m++) {
    const start = Date.UTC(y, m, 1);
    starts.push(start);
    if (start >= until) break;
  }
  return starts;
}
