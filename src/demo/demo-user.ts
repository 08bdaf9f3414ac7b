/**
 * Simulates one demo user's life: attributes, sessions and events, upgrade,
 * purchases, churn, survey answers. Everything comes from the user's own PRNG
 * stream, so a user does not depend on how many draws other users made, and
 * the generator can stream user by user with only this user in memory.
 *
 * The planted truths (see demo-truth.ts) are decided here:
 *  - first-week feature breadth triples the upgrade probability;
 *  - the onboarding_checklist treatment adds 10 points of upgrade probability on mobile only;
 *  - anonymous-first users, some with a second device linked only through an event;
 *  - grow_revenue users make 1.5× as many purchases;
 *  - the onboarding funnel drop-off on tablets and the path to upgrade (demo-journeys.ts, own PRNG stream);
 *  - the mobile share sheet release, a change that was not randomised (demo-release.ts, own PRNG stream).
 */
import {
  ACTIVITY_UNTIL, APP_PAGES, BROWSER_BY_OS, CHANNELS, COUNTRIES, DAY_MS, DEVICE_TYPE, FEATURE_ACTIONS, FEATURES, GENDERS, HOUR_MS,
  MARKETING_PAGES, MINUTE_MS, OS_BY_DEVICE, PLAN_PRICES, PRIMARY_GOALS, PRODUCTS, SESSION_EVENTS, SESSION_HOURS, SIGNUPS_FROM,
  SIGNUPS_UNTIL, UTM_BY_CHANNEL,
  type Channel, type City, type Country, type Currency, type Device, type DeviceType, type Plan, type PrimaryGoal, type Utm,
} from './demo-catalog.ts';
import type { OutcomeType, Variant } from './demo-truth.ts';
import { simulateJourneys } from './demo-journeys.ts';
import { buyingWindow, freeActivityEnd, lastVisitDay, PAID_LIFE_MS, purchaseRate } from './demo-lifecycle.ts';
import { type ReleaseExposure, simulateRelease } from './demo-release.ts';
import { hex8, mix32, SeededRandom, WeightedTable } from './seeded-random.ts';

// ---- planted effects ------------------------------------------------------

/** Upgrade probability of a user without first-week breadth and without the experiment effect. */
export const BASE_UPGRADE_PROBABILITY = 0.06;
/** Users with first-week breadth upgrade at this multiple of the base probability. */
export const BREADTH_MULTIPLIER = 3;
/** Distinct features that make first-week breadth. */
export const BREADTH_MIN_FEATURES = 3;
/** First week: [signup, signup + 7 days). */
export const BREADTH_WINDOW_DAYS = 7;
/** Absolute upgrade-probability increase from the onboarding_checklist treatment, per signup device. */
export const EXPERIMENT_EFFECT: Record<DeviceType, number> = { mobile: 0.1, desktop: 0, tablet: 0 };
export const EXPERIMENT_NAME = 'onboarding_checklist';
/** Purchases-rate multiplier for users whose primary goal is grow_revenue. */
export const GROW_REVENUE_MULTIPLIER = 1.5;
/** Share of users first seen anonymous (before signup). */
export const ANONYMOUS_FIRST_SHARE = 0.3;
/** Share of anonymous-first users with a second device linked only by an event. */
export const SECOND_DEVICE_SHARE = 0.1;
/** Share of users who answer the survey. */
export const SURVEY_SHARE = 0.4;
export const SURVEY_NAME = 'onboarding_psychographics';

// Event budget: a share of a user's events falls in the first week (activation
// burst), the rest over the user's active life.
const FIRST_WEEK_SHARE = 0.3;
/** Log-scale sigma of engagement: heavy right tail, median well below the mean. */
const ENGAGEMENT_SIGMA = 1.0;
/** Corrects the budget for users whose active life is too short to spend it all (calibrated so the mean is ≈ eventsPerUser). */
const BUDGET_CALIBRATION = 1.08;
/**
 * Share of the later budget spent when users stay long (demo-lifecycle.ts): most
 * now stay past two months, so without it the mean would overshoot eventsPerUser.
 * Applied after the first week only, so first-week behaviour (and the upgrades
 * planted on it) stays as it was.
 */
const LATER_BUDGET_CALIBRATION = 0.87;
const MEAN_EVENTS_PER_SESSION = 6;
const SESSION_GAP_MS = 30 * MINUTE_MS;

const WEEK_MS = BREADTH_WINDOW_DAYS * DAY_MS;
/** Day (0–6 after signup) of the first week's further sessions: front-loaded, as activation is. */
const FIRST_WEEK_DAYS = new WeightedTable([0, 1, 2, 3, 4, 5, 6], [3, 2, 1.5, 1.2, 1, 0.9, 0.8]);

/** Which ids an event row carries. */
export type Ids = 'user' | 'anonymous' | 'both';

export interface DemoEvent {
  /** occurred_at, epoch ms. */
  t: number;
  /** received_at, epoch ms (≥ t). */
  received: number;
  name: string;
  /** properties as JSON object text. */
  props: string;
  ids: Ids;
  /** 0: the signup (primary) device and first anonymous id; 1: the second device and its anonymous id. */
  device: 0 | 1;
  /** Carries the user's campaign tags (the acquisition session only). */
  utm: boolean;
  /** May be re-sent with a different payload (never for events a planted truth depends on). */
  conflictable: boolean;
  /** Feature index for feature_used, else -1. */
  feature: number;
}

export interface DemoOutcome {
  id: string;
  type: OutcomeType;
  t: number;
  /** Amount in minor units (cents), absent for downgrade and churn. */
  amountMinor?: number;
  currency?: Currency;
  orderId?: string;
  productId?: string;
  quantity?: number;
  unitPriceMinor?: number;
  plan?: Plan;
}

export interface DemoUser {
  index: number;
  userId: string;
  email: string;
  accountId: string;
  signupAt: number;
  birthYear: number;
  gender: string | undefined;
  country: Country;
  city: City;
  channel: Channel;
  utm: Utm | undefined;
  devices: [Device, ...Device[]];
  variant: Variant;
  /** [first anonymous id, second-device anonymous id]; empty for users never seen anonymous. */
  anonymousIds: string[];
  /** Events sorted by occurred_at. */
  events: DemoEvent[];
  /** ≥ BREADTH_MIN_FEATURES distinct features used in the first week (from the events above). */
  breadth: boolean;
  upgraded: boolean;
  churned: boolean;
  /** Onboarding steps completed (demo-journeys.ts). */
  onboardingSteps: number;
  /** Given the planted path to upgrade (demo-journeys.ts). */
  upgradePath: boolean;
  outcomes: DemoOutcome[];
  /** Latent primary goal (revealed only by survey respondents). */
  goal: PrimaryGoal;
  survey: { respondedAt: number; techSavviness: number } | undefined;
  /** Last moment of activity (exclusive). */
  activityEnd: number;
  /** The planted release (demo-release.ts): in its panel, shared after it, would have without it. */
  release: ReleaseExposure;
}

/** Per-run constants shared by all users. */
export interface DemoWorld {
  seed: number;
  users: number;
  eventsPerUser: number;
  /** Salts that make ids look random yet stay unique (mix32 is a bijection). */
  salts: { message: number; anonymous: number; session: number; order: number; account: number };
}

export function demoWorld(seed: number, users: number, eventsPerUser: number): DemoWorld {
  const salt = (n: number) => mix32(seed ^ mix32(n));
  return { seed, users, eventsPerUser, salts: { message: salt(1), anonymous: salt(2), session: salt(3), order: salt(4), account: salt(5) } };
}

/** Stream numbers: user attributes and life (clean data) vs. noise injection. */
export const STREAM_LIFE = 1;
export const STREAM_NOISE = 2;

const otherDevice: Record<DeviceType, DeviceType[]> = { mobile: ['desktop'], desktop: ['mobile'], tablet: ['mobile', 'desktop'] };

function drawDevice(rng: SeededRandom, type: DeviceType): Device {
  const os = rng.weighted(OS_BY_DEVICE[type]);
  return { type, os, browser: rng.weighted(BROWSER_BY_OS[os]!) };
}

const json = (value: Record<string, string | number | boolean>) => JSON.stringify(value);

export function simulateUser(world: DemoWorld, index: number): DemoUser {
  const rng = new SeededRandom(world.seed, index, STREAM_LIFE);
  const userId = `u${String(index).padStart(6, '0')}`;

  // Signups grow through the year (density rising linearly 1 → 2); users are
  // stratified by index so ids increase with the signup day.
  const u = (index - 1 + rng.next()) / world.users;
  const yearShare = -1 + Math.sqrt(1 + 3 * u);
  const signupDay = SIGNUPS_FROM + Math.floor((yearShare * (SIGNUPS_UNTIL - SIGNUPS_FROM)) / DAY_MS) * DAY_MS;

  const country = rng.weighted(COUNTRIES);
  const city = rng.pick(country.cities);
  const localTime = (dayStart: number) =>
    Math.floor(dayStart + (rng.weighted(SESSION_HOURS) + rng.next() - city.utcOffset) * HOUR_MS);
  const signupAt = Math.min(Math.max(localTime(signupDay), SIGNUPS_FROM), SIGNUPS_UNTIL - 1);
  /** A session start drawn on a day that may fall before `bound` (the time of day is local): move it a little after the bound instead. */
  const notBefore = (start: number, bound: number) => (start >= bound ? start : bound + Math.floor(rng.exponential(4 * HOUR_MS)));

  const birthYear = Math.min(2007, Math.max(1950, Math.round(rng.normal(1988, 11))));
  const gender = rng.weighted(GENDERS);
  const channel = rng.weighted(CHANNELS);
  const tags = UTM_BY_CHANNEL[channel];
  const utm = tags && { source: rng.pick(tags.sources), medium: tags.medium, campaign: rng.pick(tags.campaigns) };
  const primary = drawDevice(rng, rng.weighted(DEVICE_TYPE));
  const variant: Variant = rng.chance(0.5) ? 'treatment' : 'control';
  const goal = rng.weighted(PRIMARY_GOALS);
  const surveyed = rng.chance(SURVEY_SHARE);
  const anonymousFirst = rng.chance(ANONYMOUS_FIRST_SHARE);
  const secondDevice = anonymousFirst && rng.chance(SECOND_DEVICE_SHARE);
  const devices: [Device, ...Device[]] = [primary];
  if (secondDevice) devices.push(drawDevice(rng, rng.pick(otherDevice[primary.type])));
  const anonymousIds: string[] = [];
  for (let slot = 0; slot < (anonymousFirst ? devices.length : 0); slot++) {
    anonymousIds.push(`a-${hex8(mix32((index * 2 + slot) ^ world.salts.anonymous))}${rng.hex(8)}`);
  }

  // Engagement sets the event budget; feature preferences are skewed, so some
  // active users still stay within one or two features.
  const engagement = rng.logNormal(1, ENGAGEMENT_SIGMA);
  const budget = Math.max(2, Math.min(world.eventsPerUser * 40, Math.round(world.eventsPerUser * BUDGET_CALIBRATION * engagement)));
  const featureWeights = FEATURES.map(() => rng.exponential(1) ** 2);
  const featureTotal = featureWeights.reduce((a, b) => a + b, 0);
  const pickFeature = () => {
    let target = rng.next() * featureTotal;
    for (let f = 0; f < featureWeights.length; f++) {
      target -= featureWeights[f]!;
      if (target < 0) return f;
    }
    return featureWeights.length - 1;
  };

  const events: DemoEvent[] = [];
  const sessionPrefix = `s-${hex8(mix32(index ^ world.salts.session))}-`;
  let sessions = 0;
  let paidFrom = Infinity; // upgrade_clicked turns into a billing page view once paying

  const receivedAfter = (t: number, device: Device) => {
    // Mobile SDKs batch offline events, so a few arrive hours late.
    if (device.type !== 'desktop' && rng.chance(0.03)) return t + Math.floor(rng.uniform(MINUTE_MS, 6 * HOUR_MS));
    return t + 20 + Math.floor(rng.exponential(800));
  };
  const add = (t: number, name: string, props: string, ids: Ids, device: 0 | 1, utmTags: boolean, conflictable: boolean, feature = -1) => {
    events.push({ t, received: receivedAfter(t, devices[device]!), name, props, ids, device, utm: utmTags, conflictable, feature });
  };

  /** One in-app event drawn from the session mix. */
  const sessionEvent = (t: number, ids: Ids, device: 0 | 1, utmTags: boolean) => {
    const name = rng.weighted(SESSION_EVENTS);
    switch (name) {
      case 'feature_used': {
        const feature = pickFeature();
        return add(t, name, json({ feature: FEATURES[feature]!, action: rng.pick(FEATURE_ACTIONS) }), ids, device, utmTags, false, feature);
      }
      case 'report_exported':
        return add(t, name, json({ format: rng.pick(['pdf', 'csv', 'xlsx']) }), ids, device, utmTags, true);
      case 'invite_sent':
        return add(t, name, json({ role: rng.pick(['editor', 'viewer', 'viewer']) }), ids, device, utmTags, true);
      case 'upgrade_clicked':
        if (t < paidFrom) {
          return add(t, name, json({ plan: rng.pick(['pro', 'pro', 'business']), placement: rng.pick(['feature_gate', 'banner', 'billing_page']) }), ids, device, utmTags, true);
        }
        return add(t, 'page_viewed', json({ path: '/billing' }), ids, device, utmTags, true);
      default:
        return add(t, 'page_viewed', json({ path: rng.pick(APP_PAGES) }), ids, device, utmTags, true);
    }
  };
  const nextGap = () => 2000 + Math.floor(Math.min(rng.exponential(40_000), 15 * MINUTE_MS));

  /** Runs one in-app session of `size` events from `start`; returns when it ended. */
  const appSession = (start: number, size: number, ids: Ids, device: 0 | 1, utmTags: boolean, opener?: () => void): number => {
    let t = start;
    if (opener) opener();
    else add(t, 'app_opened', json({ session_id: `${sessionPrefix}${(sessions++).toString(16)}` }), ids, device, utmTags, true);
    for (let k = 1; k < size; k++) {
      t += nextGap();
      if (t >= ACTIVITY_UNTIL) break;
      sessionEvent(t, ids, device, utmTags);
    }
    return t;
  };
  /** Splits a budget of events into session sizes. */
  const sessionSizes = (total: number): number[] => {
    const sizes: number[] = [];
    for (let left = total; left > 0; ) {
      const size = Math.min(left, 1 + rng.geometric(MEAN_EVENTS_PER_SESSION - 1));
      sizes.push(size);
      left -= size;
    }
    return sizes;
  };
  /** Lays sessions out in time order, at least SESSION_GAP_MS apart, dropping any that would start at or after `until`. */
  const runSessions = (starts: number[], sizes: number[], after: number, until: number, ids: Ids, device: 0 | 1): number => {
    starts.sort((a, b) => a - b);
    let end = after;
    for (let s = 0; s < starts.length; s++) {
      let start = starts[s]!;
      if (start < end + SESSION_GAP_MS) start = end + SESSION_GAP_MS + Math.floor(rng.exponential(2 * HOUR_MS));
      if (start >= until) break;
      end = appSession(start, sizes[s]!, ids, device, false);
    }
    return end;
  };

  const userIds: Ids = anonymousFirst ? 'both' : 'user';

  // Planted truth 4 (identity): anonymous-first users browse the marketing
  // site with only an anonymous id before signup (the first of those sessions
  // is the acquisition session); from signup on their events carry both ids and
  // their identify call links the two.
  if (anonymousFirst) {
    const starts = Array.from({ length: rng.int(1, 3) }, () => signupAt - Math.floor(rng.uniform(HOUR_MS, 14 * DAY_MS)));
    starts.sort((a, b) => a - b);
    let end = -Infinity;
    starts.forEach((start, s) => {
      let t = Math.max(start, end + SESSION_GAP_MS);
      for (let k = rng.int(2, 6); k > 0 && t < signupAt - 10 * MINUTE_MS; k--) {
        add(t, 'page_viewed', json({ path: rng.pick(MARKETING_PAGES) }), 'anonymous', 0, s === 0, true);
        end = t;
        t += nextGap();
      }
    });
    add(signupAt - 90_000 - Math.floor(rng.exponential(60_000)), 'page_viewed', json({ path: '/pricing' }), 'anonymous', 0, false, true);
    add(signupAt - 20_000 - Math.floor(rng.exponential(10_000)), 'page_viewed', json({ path: '/signup' }), 'anonymous', 0, false, true);
  }

  // First week: the signup session, then sessions front-loaded towards day 0.
  const weekSizes = sessionSizes(Math.max(1, Math.round(budget * FIRST_WEEK_SHARE)));
  const signupMethod = rng.pick(['email', 'email', 'google', 'sso']);
  let lastEnd = appSession(signupAt, weekSizes[0]!, userIds, 0, !anonymousFirst && utm !== undefined, () =>
    add(signupAt, 'signed_up', json({ method: signupMethod }), userIds, 0, !anonymousFirst && utm !== undefined, false),
  );
  const weekStarts = weekSizes.slice(1).map(() => notBefore(localTime(signupDay + rng.weighted(FIRST_WEEK_DAYS) * DAY_MS), signupAt + HOUR_MS));
  lastEnd = runSessions(weekStarts, weekSizes.slice(1), lastEnd, ACTIVITY_UNTIL, userIds, 0);

  // Planted truth 1, which models must recover: first-week feature breadth
  // (≥ 3 distinct properties.feature of feature_used in [signup, signup + 7
  // days)) triples the upgrade probability. It is decided on the first-week
  // events exactly as written (later sessions, second-device events and
  // purchases all come after the window or are not feature_used), so the
  // truth file's user list is what a model computes from the clean events.
  let used = 0;
  for (const e of events) {
    if (e.feature >= 0 && e.t >= signupAt && e.t < signupAt + WEEK_MS) used |= 1 << e.feature;
  }
  let distinct = 0;
  for (let bits = used; bits; bits &= bits - 1) distinct++;
  const breadth = distinct >= BREADTH_MIN_FEATURES;

  // Planted truth 5, which models must recover: the onboarding_checklist
  // treatment adds EXPERIMENT_EFFECT (10 points on mobile, 0 elsewhere) on top
  // of the breadth-dependent base; the segment is the signup device's type.
  const upgradeProbability =
    BASE_UPGRADE_PROBABILITY * (breadth ? BREADTH_MULTIPLIER : 1) + (variant === 'treatment' ? EXPERIMENT_EFFECT[primary.type] : 0);
  const upgraded = rng.chance(upgradeProbability);

  const outcomes: DemoOutcome[] = [];
  const orderPrefix = `ord-${hex8(mix32(index ^ world.salts.order))}-`;
  const outcomePrefix = `oc-${userId.slice(1)}-`;
  const outcome = (o: Omit<DemoOutcome, 'id'>) => {
    outcomes.push({ id: `${outcomePrefix}${outcomes.length + 1}`, ...o });
  };
  const currency = country.currency;
  let churned = false;
  let activityEnd: number;
  let upgradeClickAt: number | undefined;
  if (upgraded) {
    // Upgrades come after the first week, so breadth is measured before them.
    const upgradeAt = Math.min(signupAt + WEEK_MS + Math.floor(Math.min(rng.exponential(21 * DAY_MS), 113 * DAY_MS)), ACTIVITY_UNTIL - HOUR_MS);
    const plan: Exclude<Plan, 'free'> = rng.chance(0.2) ? 'business' : 'pro';
    const price = PLAN_PRICES[plan][currency];
    const orderId = `${orderPrefix}0`;
    paidFrom = upgradeAt;
    upgradeClickAt = upgradeAt - 20_000 - Math.floor(rng.exponential(120_000));
    add(upgradeClickAt, 'upgrade_clicked', json({ plan, placement: 'billing_page' }), userIds, 0, false, false);
    add(upgradeAt, 'checkout_completed', json({ order_id: orderId, plan }), userIds, 0, false, false);
    outcome({ type: 'upgrade', t: upgradeAt, amountMinor: price, currency, orderId, productId: `plan_${plan}_monthly`, quantity: 1, unitPriceMinor: price, plan });

    const churnAt = upgradeAt + Math.floor(rng.exponential(300 * DAY_MS));
    let currentPlan: Plan = plan;
    if (rng.chance(0.08)) {
      const downgradeAt = upgradeAt + Math.floor(rng.uniform(30 * DAY_MS, 150 * DAY_MS));
      if (downgradeAt < churnAt && downgradeAt < ACTIVITY_UNTIL) {
        currentPlan = plan === 'business' ? 'pro' : 'free';
        outcome({ type: 'downgrade', t: downgradeAt, plan: currentPlan });
      }
    }
    // Cancelling a paid plan is churn; a user already back on free has nothing to cancel.
    if (churnAt < ACTIVITY_UNTIL && currentPlan !== 'free') {
      churned = true;
      outcome({ type: 'churn', t: churnAt, plan: currentPlan });
      activityEnd = churnAt + Math.floor(rng.uniform(0, 5 * DAY_MS));
    } else {
      activityEnd = upgradeAt + 14 * DAY_MS + Math.floor(rng.exponential(PAID_LIFE_MS));
    }
  } else {
    // Free users stay (habitual) or drift away (demo-lifecycle.ts); their churn is only visible as inactivity.
    activityEnd = freeActivityEnd(rng, signupAt + WEEK_MS, engagement);
  }
  activityEnd = Math.min(activityEnd, ACTIVITY_UNTIL);

  // After the first week: sessions over the active life, denser early on, the
  // last one shortly before the user lapses (or before the end of the demo period).
  const laterFrom = signupAt + WEEK_MS;
  const span = Math.max(0, activityEnd - laterFrom);
  const laterSizes = sessionSizes(Math.round(budget * (1 - FIRST_WEEK_SHARE) * LATER_BUDGET_CALIBRATION * Math.min(1, span / (60 * DAY_MS))));
  const laterStarts = laterSizes.map(() => notBefore(localTime(Math.floor((laterFrom + span * rng.next() ** 1.5) / DAY_MS) * DAY_MS), laterFrom));
  if (laterStarts.length > 0) laterStarts[laterStarts.length - 1] = notBefore(localTime(lastVisitDay(rng, laterFrom, activityEnd)), laterFrom);
  runSessions(laterStarts, laterSizes, Math.max(lastEnd, laterFrom - SESSION_GAP_MS), activityEnd, userIds, 0);

  // Planted truth 4, which identity resolution must recover: the second
  // device is used anonymously after the first week; one signed_in event
  // carries both ids and every other event only the anonymous id. No identify
  // or alias mentions it, so its activity joins the user only by stitching
  // through that event.
  if (secondDevice) {
    const from = laterFrom;
    const until = Math.min(ACTIVITY_UNTIL, Math.max(activityEnd, from + 14 * DAY_MS));
    const starts = Array.from({ length: rng.int(1, 3) }, () => from + Math.floor(rng.uniform(0, until - from - HOUR_MS)));
    starts.sort((a, b) => a - b);
    let end = -Infinity;
    starts.forEach((start, s) => {
      let t = Math.max(start, end + SESSION_GAP_MS);
      add(t, 'app_opened', json({ session_id: `${sessionPrefix}${(sessions++).toString(16)}` }), 'anonymous', 1, false, true);
      const size = rng.int(3, 8);
      const linkAt = s === 0 ? rng.int(1, 2) : -1;
      for (let k = 1; k < size && t + 20 * MINUTE_MS < ACTIVITY_UNTIL; k++) {
        t += nextGap();
        if (k === linkAt) add(t, 'signed_in', json({ method: rng.pick(['email', 'google']) }), 'both', 1, false, false);
        else sessionEvent(t, 'anonymous', 1, false);
      }
      end = t;
    });
  }

  // One-time purchases: paying users buy more. Planted, for models to recover:
  // users whose primary goal is grow_revenue buy 1.5× as often, so their mean
  // spend is ~1.5× (the goal is drawn independently of everything else, and
  // only survey respondents reveal it).
  const buying = buyingWindow(rng, signupAt, activityEnd);
  const purchases = rng.poisson(purchaseRate(rng, upgraded, engagement, goal === 'grow_revenue' ? GROW_REVENUE_MULTIPLIER : 1, buying.until - buying.from));
  for (let p = 0; p < purchases; p++) {
    const at = buying.from + Math.floor(rng.uniform(0, buying.until - buying.from));
    if (at >= ACTIVITY_UNTIL) continue;
    const product = rng.weighted(PRODUCTS);
    const quantity = rng.int(1, product.maxQuantity);
    const unit = product.price[currency];
    const orderId = `${orderPrefix}${(p + 1).toString(16)}`;
    add(at, 'checkout_completed', json({ order_id: orderId, product_id: product.id, quantity }), userIds, 0, false, false);
    outcome({ type: 'purchase', t: at, amountMinor: unit * quantity, currency, orderId, productId: product.id, quantity, unitPriceMinor: unit });
    if (rng.chance(0.05)) {
      const refundAt = at + Math.floor(rng.uniform(DAY_MS, 14 * DAY_MS));
      if (refundAt < ACTIVITY_UNTIL) {
        outcome({ type: 'refund', t: refundAt, amountMinor: unit * quantity, currency, orderId, productId: product.id, quantity, unitPriceMinor: unit });
      }
    }
  }
  outcomes.sort((a, b) => a.t - b.t);

  let survey: DemoUser['survey'];
  if (surveyed) {
    const respondedAt = Math.min(signupAt + DAY_MS + Math.floor(rng.exponential(10 * DAY_MS)), ACTIVITY_UNTIL - MINUTE_MS);
    const lean = (primary.type === 'desktop' ? 0.4 : 0) + (birthYear >= 1990 ? 0.3 : 0);
    survey = { respondedAt, techSavviness: Math.min(5, Math.max(1, Math.round(rng.normal(2.8 + lean, 1)))) };
  }

  // Shares fall before the user's last other event, so a stalled user's path still ends where it did (marts.segment_paths).
  const lastEventAt = events.reduce((last, e) => Math.max(last, e.t), signupAt);
  const release = simulateRelease(world.seed, index, events.reduce((first, e) => Math.min(first, e.t), signupAt), Math.min(activityEnd, lastEventAt), primary.type);
  for (const e of release.events) events.push({ ...e, ids: userIds, device: 0, utm: false, conflictable: false, feature: -1 });

  const journeys = simulateJourneys(world.seed, index, signupAt, primary.type, upgradeClickAt);
  for (const e of journeys.events) events.push({ ...e, ids: userIds, device: 0, utm: false, conflictable: false, feature: -1 });

  events.sort((a, b) => a.t - b.t);
  return {
    index, userId, email: `user${index}@example.com`, accountId: `acct-${hex8(mix32(index ^ world.salts.account))}`,
    signupAt, birthYear, gender, country, city, channel, utm, devices, variant, anonymousIds, events, breadth, upgraded, churned,
    outcomes, goal, survey, activityEnd, onboardingSteps: journeys.onboardingSteps, upgradePath: journeys.upgradePath, release: release.exposure,
  };
}
