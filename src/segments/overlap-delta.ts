/**
 * segments.overlap by delta: sizes and common members change only for users whose membership
 * history gained rows after the previous version's `history_through` (every such build's rows
 * carry a later `changed_at`; builds take a lock). For those users the counts lose what they were
 * in then (their latest history row at or before it, per segment: an entry means a member, as
 * `segments.membership_history` itself decides) and gain what they are in now
 * (`segments.membership`). Exact integers: the same counts as counting every member again.
 *
 * Unlike the refolding models (history-changes.ts), a delta must not be applied twice, so the
 * watermark is stored exactly. A previous version without rows (fewer than two segments) has no
 * watermark: then every member is counted, as on a first build.
 */
import { usersChangedSince } from './history-changes.ts';

export interface OverlapDeltaInput {
  /** The published segments.overlap (quoted). */
  previous: string;
  membership: string;
  history: string;
}

/** CTEs ending in `sizes (seg, n)` and `pairs (segment_a, segment_b, in_both)`. */
export function overlapDeltaSql({ previous, membership, history }: OverlapDeltaInput): string {
  // `= any(array(...))`: the planner reads the few users by index (with `in` it guessed thousands).
  // No watermark: `changed` is every user, but then neither `latest` nor `delta` is read (one-time filters below).
  const changed = `any(array(${usersChangedSince(history, 'select at from watermark')}))`;
  return `
      with watermark as (select max(history_through) as at from ${previous}),
      latest as (
        select distinct on (user_key, definition, segment, version) user_key, definition, segment, change
        from ${history}
        where user_key = ${changed} and changed_at <= (select at from watermark)
        order by user_key, definition, segment, version, changed_at desc, change = 'entered'
      ),
      delta as (
        select distinct user_key, definition || ':' || segment as seg, -1 as sign from latest where change = 'entered'
        union all
        select user_key, definition || ':' || segment, 1 from ${membership} where user_key = ${changed}
      ),
      recount as (   -- no watermark: count every member
        select user_key, definition || ':' || segment as seg, 1 as sign from ${membership} where (select at from watermark) is null
      ),
      counted as (
        select * from delta where (select at from watermark) is not null
        union all
        select * from recount
      ),
      kept as (select * from ${previous} where (select at from watermark) is not null),
      sizes as (
        select seg, sum(n)::int as n
        from (select distinct segment_a as seg, size_a as n from kept union all select seg, sign from counted) s
        group by seg having sum(n) > 0
      ),
      pairs as (
        select segment_a, segment_b, sum(n)::int as in_both
        from (
          select segment_a, segment_b, in_both as n from kept
          union all
          select a.seg, b.seg, a.sign from counted a join counted b on a.user_key = b.user_key and a.sign = b.sign and a.seg <> b.seg
        ) p
        group by 1, 2
      )`;
}
