/**
 * The users whose membership history gained rows since a model built from it last folded
 * the history in: what a model of `segments.membership_history` keyed by user recomputes.
 *
 * History is append-only and every build's rows carry that build's `changed_at` (builds hold
 * a lock, so their times increase; history's own "latest change" relies on that order). A
 * model that folded the history at a build has, in its table, that build's time at most as
 * its newest recorded time (`watermark`, e.g. `max(entered_recorded_at)`): a build that only
 * recorded exits leaves no trace there, so the rows after the watermark may include some
 * already folded in. Recomputing those users again is harmless (each is recomputed from all
 * its history); missing one is impossible, which is what keeps the table equal to a full build.
 */
export function usersChangedSince(history: string, watermark: string): string {
  return `select distinct h.user_key from ${history} h where h.changed_at > coalesce((${watermark}), '-infinity'::timestamptz)`;
}
