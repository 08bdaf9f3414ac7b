/**
 * A planted change that was not randomised (issue 15), drawn from its own PRNG
 * stream so every other draw of a user — and so every other planted truth —
 * stays as it was:
 *
 *  - All year, an active user shares a report (event report_shared) in a given
 *    week with probability 15%: one draw per week, weeks aligned on the release.
 *  - On 2025-10-01 a native share sheet ships in the mobile app: from then on,
 *    users who signed up on mobile share in a week with probability 40%.
 *    Desktop and tablet users are unchanged (the comparison group).
 *
 * A share happens only while the user is active: first seen ≤ t < the user's last
 * other event (so it never ends a user's path, and the planted paths stay as they were).
 * The truth reports the effect in the units of the change's metric
 * (changes/mobile_share_sheet.yml: shared a report in the 28 days after the
 * release): over the exposed panel (mobile users first seen before the pre
 * window), the share who shared minus the share who would have without the
 * release — the same week draws compared with the base probability — which is
 * what a difference-in-differences estimates under parallel trends.
 */
import { DAY_MS, type DeviceType } from './demo-catalog.ts';
import { SeededRandom } from './seeded-random.ts';

/** PRNG stream of the release (1 life, 2 noise, 3 costs, 4 journeys; 15 for issue 15, clear of later streams). */
export const STREAM_RELEASE = 15;

const WEEK_MS = 7 * DAY_MS;

export const RELEASE = {
  name: 'mobile_share_sheet',
  releasedAt: Date.UTC(2025, 9, 1),
  preDays: 28,
  postDays: 28,
  event: 'report_shared',
  /** Probability of sharing in a week while active, before the release and for unexposed users. */
  weeklyProbability: 0.15,
  /** Added to the weekly probability from the release on, by signup device. */
  weeklyEffect: { mobile: 0.25, desktop: 0, tablet: 0 } as Record<DeviceType, number>,
} as const;

export interface ReleaseEvent {
  t: number;
  received: number;
  name: string;
  props: string;
}

export interface ReleaseExposure {
  /** First seen before the pre window opened: in the change's panel. */
  inPanel: boolean;
  /** Shared at least once in the post window. */
  sharedAfter: boolean;
  /** Would have shared in the post window without the release (same draws, base probability). */
  wouldHaveSharedAfter: boolean;
}

/** The report_shared events of one user active in [firstSeenAt, activeUntil), signup device `device`. */
export function simulateRelease(seed: number, index: number, firstSeenAt: number, activeUntil: number, device: DeviceType): { events: ReleaseEvent[]; exposure: ReleaseExposure } {
  const rng = new SeededRandom(seed, index, STREAM_RELEASE);
  const events: ReleaseEvent[] = [];
  const postEnd = RELEASE.releasedAt + RELEASE.postDays * DAY_MS;
  const exposure: ReleaseExposure = { inPanel: firstSeenAt < RELEASE.releasedAt - RELEASE.preDays * DAY_MS, sharedAfter: false, wouldHaveSharedAfter: false };
  for (let week = Math.floor((firstSeenAt - RELEASE.releasedAt) / WEEK_MS); RELEASE.releasedAt + week * WEEK_MS < activeUntil; week++) {
    const draw = rng.next();
    const t = RELEASE.releasedAt + week * WEEK_MS + Math.floor(rng.next() * WEEK_MS);
    if (t < firstSeenAt || t >= activeUntil) continue;
    const released = t >= RELEASE.releasedAt;
    const shared = draw < RELEASE.weeklyProbability + (released ? RELEASE.weeklyEffect[device] : 0);
    if (shared) events.push({ t, received: t + 20 + Math.floor(rng.exponential(800)), name: RELEASE.event, props: JSON.stringify({ channel: device === 'mobile' && released ? 'share_sheet' : 'link' }) });
    if (released && t < postEnd) {
      exposure.sharedAfter ||= shared;
      exposure.wouldHaveSharedAfter ||= draw < RELEASE.weeklyProbability;
    }
  }
  return { events, exposure };
}

/** The truth.json section of the planted release, tallied user by user. */
export class ReleaseTally {
  private readonly panel: Record<DeviceType, number> = { mobile: 0, desktop: 0, tablet: 0 };
  private sharedAfter = 0;
  private wouldHaveSharedAfter = 0;

  add(device: DeviceType, exposure: ReleaseExposure): void {
    if (!exposure.inPanel) return;
    this.panel[device]++;
    if (device !== 'mobile') return;
    if (exposure.sharedAfter) this.sharedAfter++;
    if (exposure.wouldHaveSharedAfter) this.wouldHaveSharedAfter++;
  }

  truth() {
    return {
      name: RELEASE.name,
      releasedAt: new Date(RELEASE.releasedAt).toISOString(),
      preDays: RELEASE.preDays,
      postDays: RELEASE.postDays,
      event: RELEASE.event,
      weeklyProbability: RELEASE.weeklyProbability,
      weeklyEffect: { ...RELEASE.weeklyEffect },
      exposedDevice: 'mobile' as DeviceType,
      panelUsers: { ...this.panel },
      effectOnExposed: this.panel.mobile > 0 ? (this.sharedAfter - this.wouldHaveSharedAfter) / this.panel.mobile : 0,
    };
  }
}
