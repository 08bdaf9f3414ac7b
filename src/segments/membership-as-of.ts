/**
 * Who was in a segment at a past time, read from segments.membership_history (every
 * entry and exit, appended by each build): per user and segment, the latest change
 * whose build's reference time (`reference_at`, the data's clock every window was
 * measured to) is at or before that time, kept when it is an entry. Builds sharing a
 * reference time are ordered by their wall clock (`changed_at`): the later one counts.
 */
import type { Sql } from './segment-sql.ts';

/** A date (YYYY-MM-DD) means after every build of that day (UTC); a timestamp means that instant. */
export function asOfInstant(text: string): string {
  const instant = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T23:59:59.999999Z` : text;
  if (Number.isNaN(Date.parse(instant))) throw new Error(`"${text}" is not a date (YYYY-MM-DD) or timestamp`);
  return instant;
}

/** user_key, segment, version, since (reference time they last entered) of a definition at reference time `at` (timestamptz text: microseconds count). */
export function membersAsOf(definition: string, at: string, history = 'segments.membership_history'): Sql {
  return {
    sql: `
      select user_key, segment, version, reference_at as since from (
        select distinct on (user_key, segment, version) user_key, segment, version, change, reference_at
        from ${history}
        where definition = ? and reference_at <= ?::timestamptz
        order by user_key, segment, version, reference_at desc, changed_at desc, change = 'entered'
      ) latest
      where change = 'entered'`,
    bindings: [definition, at],
  };
}
