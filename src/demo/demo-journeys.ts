/**
 * Two planted journeys (issue 14), drawn from their own PRNG stream so every
 * other draw of a user — and so every other planted truth — stays as it was:
 *
 *  - Onboarding funnel: right after signup a user completes onboarding steps
 *    profile → data_source → done (event onboarding_step, properties.step).
 *    Tablet users drop off at data_source: 30% go on, against 75% elsewhere.
 *  - Upgrade path: half of the users who upgrade send an invite, then export a
 *    report, in the half hour before they click upgrade, so the path
 *    invite_sent > report_exported > upgrade_clicked leads to upgrade while
 *    stalled users hardly ever show it.
 */
import { type DeviceType, MINUTE_MS } from './demo-catalog.ts';
import { SeededRandom } from './seeded-random.ts';

/** PRNG stream of the journeys (1 life, 2 noise, 3 costs). */
export const STREAM_JOURNEYS = 4;

export const ONBOARDING_EVENT = 'onboarding_step';
export const ONBOARDING_STEPS = ['profile', 'data_source', 'done'] as const;
/** Probability of completing each step given the previous one, by the signup device. */
export const ONBOARDING_STEP_PROBABILITY: Record<(typeof ONBOARDING_STEPS)[number], Record<DeviceType, number>> = {
  profile: { mobile: 0.9, desktop: 0.9, tablet: 0.9 },
  data_source: { mobile: 0.75, desktop: 0.75, tablet: 0.3 },
  done: { mobile: 0.85, desktop: 0.85, tablet: 0.85 },
};
export const ONBOARDING_DROP_OFF_DEVICE: DeviceType = 'tablet';

export const UPGRADE_PATH = ['invite_sent', 'report_exported', 'upgrade_clicked'] as const;
/** Share of upgrading users given the path. */
export const UPGRADE_PATH_SHARE = 0.5;

export interface JourneyEvent {
  t: number;
  received: number;
  name: string;
  props: string;
}

export interface Journeys {
  events: JourneyEvent[];
  /** Onboarding steps completed (0–3). */
  onboardingSteps: number;
  /** The planted upgrade path was given. */
  upgradePath: boolean;
}

/**
 * The journey events of one user. `upgradeClickAt` is the time of the user's
 * upgrade_clicked before their upgrade (undefined when they never upgrade).
 */
export function simulateJourneys(seed: number, index: number, signupAt: number, device: DeviceType, upgradeClickAt: number | undefined): Journeys {
  const rng = new SeededRandom(seed, index, STREAM_JOURNEYS);
  const events: JourneyEvent[] = [];
  const add = (t: number, name: string, props: Record<string, string>) => events.push({ t, received: t + 20 + Math.floor(rng.exponential(800)), name, props: JSON.stringify(props) });

  let t = signupAt;
  let onboardingSteps = 0;
  for (const step of ONBOARDING_STEPS) {
    if (!rng.chance(ONBOARDING_STEP_PROBABILITY[step][device])) break;
    t += 5_000 + Math.floor(rng.uniform(0, 40_000));
    add(t, ONBOARDING_EVENT, { step });
    onboardingSteps++;
  }

  let upgradePath = false;
  if (upgradeClickAt !== undefined && rng.chance(UPGRADE_PATH_SHARE)) {
    upgradePath = true;
    add(upgradeClickAt - 30 * MINUTE_MS + Math.floor(rng.uniform(0, 5 * MINUTE_MS)), 'invite_sent', { role: 'editor' });
    add(upgradeClickAt - 15 * MINUTE_MS + Math.floor(rng.uniform(0, 5 * MINUTE_MS)), 'report_exported', { format: 'pdf' });
  }
  return { events, onboardingSteps, upgradePath };
}
