/**
 * A segment's value against all other users (issue 14): the difference and the
 * relative lift, each with its interval, from the same comparison the
 * experiments use, with the rest of the users as "control". Segment members and
 * the rest are disjoint, so the two groups are independent as compare()
 * assumes; comparing a segment with *all* users (itself included) would not be.
 */
import { type Comparison, compare } from './effect-comparison.ts';
import { DEFAULT_ALPHA } from './interval.ts';
import type { UnitSummary } from './sufficient-statistics.ts';

export interface SegmentLift {
  difference: Comparison;
  relative_lift: Comparison;
}

/** Two-sided difference and relative lift of `segment` over `others` (everyone not in the segment). */
export function segmentLift(segment: UnitSummary, others: UnitSummary, alpha = DEFAULT_ALPHA): SegmentLift {
  return {
    difference: compare(others, segment, { scale: 'absolute', alpha }),
    relative_lift: compare(others, segment, { scale: 'relative', alpha }),
  };
}
