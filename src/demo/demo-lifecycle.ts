/**
 * How long a demo user stays active and how often they buy (issue 18), so that
 * on the reference date the users read like a real product's: some still active,
 * some lapsing (last seen weeks ago), some long dormant, and buyers from one-off
 * to repeat customers. Before this, most users stopped early and bought once,
 * which left RFM bands empty and most users dormant.
 *
 *  - Retention is a mixture: a share of users become habitual and stay for a
 *    long time (more engaged users more often), the others drift away within
 *    weeks. Paying users who never cancel mostly keep using the product.
 *  - A user's last session falls just before they lapse, so last_seen tells
 *    when they stopped, not when their sparse sessions happened to end.
 *  - Purchases: a quarter of free users and most paying users buy add-ons, each
 *    at their own rate, within a buying window that may start weeks after signup
 *    (late first orders: new customers) and often ends before the user stops
 *    using the product (frequent buyers who stopped buying: at risk), so orders
 *    per customer spread from one to many (RFM frequency scores 1–5 all occur).
 *
 * Everything is drawn from the user's own PRNG (demo-user.ts) after the
 * first-week and upgrade draws, so every planted truth decided before stays
 * as it was; grow_revenue's purchase multiplier still scales the expected count.
 */
import { DAY_MS, HOUR_MS } from './demo-catalog.ts';
import type { SeededRandom } from './seeded-random.ts';

/** Share of free users who become habitual at average engagement (1). */
export const HABITUAL_SHARE = 0.7;
/** How much engagement moves the habitual share: share = HABITUAL_SHARE + slope × (engagement − 1), clamped. */
const HABITUAL_ENGAGEMENT_SLOPE = 0.15;
/** Mean remaining life of habitual users after their first week. */
const HABITUAL_LIFE_MS = 720 * DAY_MS;
/** Mean remaining life of users who drift away after their first week. */
const DRIFTER_LIFE_MS = 45 * DAY_MS;
/** Mean use after the upgrade of paying users who do not cancel in the demo period. */
export const PAID_LIFE_MS = 600 * DAY_MS;

/** End of a free user's activity (may lie after the demo period: still active then). */
export function freeActivityEnd(rng: SeededRandom, activeFrom: number, engagement: number): number {
  const habitualShare = Math.min(0.85, Math.max(0.2, HABITUAL_SHARE + HABITUAL_ENGAGEMENT_SLOPE * (engagement - 1)));
  const life = rng.chance(habitualShare) ? HABITUAL_LIFE_MS : DRIFTER_LIFE_MS;
  return activeFrom + Math.floor(rng.exponential(life));
}

/** Mean gap between a user's last session and the moment they lapse (or the end of the demo period). */
const LAST_VISIT_GAP_MS = 4 * DAY_MS;

/**
 * Start day (UTC midnight) of the user's last session: shortly before `end`,
 * with room for the local time of day, never before `from`.
 */
export function lastVisitDay(rng: SeededRandom, from: number, end: number): number {
  const at = Math.max(from, end - 2 * DAY_MS - Math.floor(rng.exponential(LAST_VISIT_GAP_MS)));
  return Math.floor(at / DAY_MS) * DAY_MS;
}

/** Share of free users who ever buy add-ons (paying users: PAID_BUYER_SHARE). */
const FREE_BUYER_SHARE = 0.25;
const PAID_BUYER_SHARE = 0.75;
/** Purchases a year by a buyer of average engagement and propensity. */
const PURCHASES_PER_YEAR = 6;
/** Purchases a buyer makes however short their buying window. */
const BASE_PURCHASES = 2.5;
/** Log-scale sigma of a buyer's purchase propensity. */
const PROPENSITY_SIGMA = 0.6;

/** Mean wait from signup to a buyer's first buying day (some buy at once, some discover add-ons late). */
const BUYING_START_MS = 90 * DAY_MS;
/** Mean length of a buyer's buying period: many stop buying while they still use the product (at risk). */
const BUYING_SPAN_MS = 200 * DAY_MS;

/** When a user buys: [from, until) within signup … activity end, at least a day long. */
export function buyingWindow(rng: SeededRandom, signupAt: number, activityEnd: number): { from: number; until: number } {
  const earliest = signupAt + HOUR_MS;
  const from = earliest + Math.floor(Math.min(rng.exponential(BUYING_START_MS), Math.max(0, activityEnd - earliest - DAY_MS)));
  const until = Math.max(from + DAY_MS, Math.min(activityEnd, from + DAY_MS + Math.floor(rng.exponential(BUYING_SPAN_MS))));
  return { from, until };
}

/**
 * Expected one-time purchases of a user over their buying window (`windowMs`
 * long): zero for users who never buy, else proportional to the buyer's
 * propensity, √engagement and the planted goal multiplier, and growing with the window.
 */
export function purchaseRate(rng: SeededRandom, upgraded: boolean, engagement: number, goalMultiplier: number, windowMs: number): number {
  const buyer = rng.chance(upgraded ? PAID_BUYER_SHARE : FREE_BUYER_SHARE);
  const propensity = rng.logNormal(1, PROPENSITY_SIGMA);
  if (!buyer) return 0;
  return (BASE_PURCHASES + PURCHASES_PER_YEAR * (windowMs / (365 * DAY_MS))) * propensity * Math.sqrt(engagement) * goalMultiplier;
}
