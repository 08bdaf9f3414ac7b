/**
 * The fixed reference tables of the demo world: time frame, places, devices,
 * channels, features, plans and prices. Kept apart from the generation logic
 * so the world can be read (and tuned) at a glance.
 */
import { readSeed, SeedFileError, seedPath } from '../seeds/seed-file.ts';
import { weighted, type WeightedTable } from './seeded-random.ts';

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;
export const MINUTE_MS = 60_000;

// The time frame is fixed in code, never taken from today's date, so the same
// seed gives the same files next year too.
/** First possible signup (inclusive). */
export const SIGNUPS_FROM = Date.UTC(2025, 0, 1);
/** End of the signup period (exclusive): signups fall in 2025. */
export const SIGNUPS_UNTIL = Date.UTC(2026, 0, 1);
/** End of all activity (exclusive): the data stops at 2026-03-31T23:59:59.999Z. */
export const ACTIVITY_UNTIL = Date.UTC(2026, 3, 1);

export type Currency = 'USD' | 'EUR' | 'GBP';

const DEMO_CURRENCIES: Currency[] = ['USD', 'EUR', 'GBP'];

/**
 * Conversion rates used for every USD figure in the truth file: the seed
 * core.fx_rates is built from (seeds/fx_rates.csv), so the truth and the
 * warehouse convert with the same numbers.
 */
export const USD_PER_UNIT: Record<Currency, number> = (() => {
  const path = seedPath('fx_rates');
  const rates = new Map(readSeed(path, { currency: 'text', usd_per_unit: 'number' }).map((r) => [r.currency, r.usd_per_unit]));
  const missing = DEMO_CURRENCIES.filter((c) => !rates.has(c));
  if (missing.length) throw new SeedFileError(`${path}: no rate for ${missing.join(', ')}, which the demo data uses`);
  return Object.fromEntries(DEMO_CURRENCIES.map((c) => [c, rates.get(c)!])) as Record<Currency, number>;
})();

export interface City {
  city: string;
  region: string;
  /** Hours ahead of UTC (standard time; DST is ignored), for daytime activity. */
  utcOffset: number;
}

export interface Country {
  code: string;
  locale: string;
  currency: Currency;
  cities: readonly City[];
}

// Most users pay in USD (US, India, Brazil); Europe adds EUR and GBP.
export const COUNTRIES = weighted<Country>([
  [{ code: 'US', locale: 'en-US', currency: 'USD', cities: [
    { city: 'New York', region: 'NY', utcOffset: -5 },
    { city: 'San Francisco', region: 'CA', utcOffset: -8 },
    { city: 'Austin', region: 'TX', utcOffset: -6 },
  ] }, 40],
  [{ code: 'GB', locale: 'en-GB', currency: 'GBP', cities: [
    { city: 'London', region: 'England', utcOffset: 0 },
    { city: 'Manchester', region: 'England', utcOffset: 0 },
    { city: 'Edinburgh', region: 'Scotland', utcOffset: 0 },
  ] }, 12],
  [{ code: 'DE', locale: 'de-DE', currency: 'EUR', cities: [
    { city: 'Berlin', region: 'Berlin', utcOffset: 1 },
    { city: 'Munich', region: 'Bavaria', utcOffset: 1 },
    { city: 'Hamburg', region: 'Hamburg', utcOffset: 1 },
  ] }, 10],
  [{ code: 'FR', locale: 'fr-FR', currency: 'EUR', cities: [
    { city: 'Paris', region: 'Île-de-France', utcOffset: 1 },
    { city: 'Lyon', region: 'Auvergne-Rhône-Alpes', utcOffset: 1 },
  ] }, 8],
  [{ code: 'IN', locale: 'en-IN', currency: 'USD', cities: [
    { city: 'Bengaluru', region: 'Karnataka', utcOffset: 5.5 },
    { city: 'Mumbai', region: 'Maharashtra', utcOffset: 5.5 },
    { city: 'Delhi', region: 'Delhi', utcOffset: 5.5 },
  ] }, 15],
  [{ code: 'BR', locale: 'pt-BR', currency: 'USD', cities: [
    { city: 'São Paulo', region: 'São Paulo', utcOffset: -3 },
    { city: 'Rio de Janeiro', region: 'Rio de Janeiro', utcOffset: -3 },
  ] }, 15],
]);

export type DeviceType = 'mobile' | 'desktop' | 'tablet';
export const DEVICE_TYPES: readonly DeviceType[] = ['mobile', 'desktop', 'tablet'];

export interface Device {
  type: DeviceType;
  os: string;
  browser: string;
}

/** Device type, then an OS that exists on it, then a browser that runs on that OS. */
export const DEVICE_TYPE = weighted<DeviceType>([['mobile', 45], ['desktop', 45], ['tablet', 10]]);
export const OS_BY_DEVICE = {
  mobile: weighted([['iOS', 55], ['Android', 45]]),
  desktop: weighted([['Windows', 55], ['macOS', 35], ['Linux', 10]]),
  tablet: weighted([['iPadOS', 70], ['Android', 30]]),
} as const;
export const BROWSER_BY_OS: Record<string, WeightedTable<string>> = {
  iOS: weighted([['Mobile Safari', 85], ['Chrome Mobile', 15]]),
  Android: weighted([['Chrome Mobile', 90], ['Samsung Internet', 10]]),
  iPadOS: weighted([['Mobile Safari', 90], ['Chrome Mobile', 10]]),
  Windows: weighted([['Chrome', 65], ['Edge', 25], ['Firefox', 10]]),
  macOS: weighted([['Chrome', 55], ['Safari', 40], ['Firefox', 5]]),
  Linux: weighted([['Chrome', 60], ['Firefox', 40]]),
};

export type Channel = 'organic' | 'paid_search' | 'social' | 'referral' | 'email';
export const CHANNELS = weighted<Channel>([['organic', 35], ['paid_search', 22], ['social', 15], ['referral', 18], ['email', 10]]);

export interface Utm {
  source: string;
  medium: string;
  campaign: string;
}

/** Campaign tags for the channels that carry them (paid search, paid social, email); organic and referral have none. */
export const UTM_BY_CHANNEL: Partial<Record<Channel, { sources: readonly string[]; medium: string; campaigns: readonly string[] }>> = {
  paid_search: { sources: ['google', 'google', 'google', 'bing'], medium: 'cpc', campaigns: ['brand_search', 'generic_analytics', 'competitor_terms'] },
  social: { sources: ['facebook', 'linkedin', 'instagram'], medium: 'paid_social', campaigns: ['spring_launch_2025', 'retargeting', 'thought_leadership'] },
  email: { sources: ['newsletter'], medium: 'email', campaigns: ['weekly_digest', 'product_update'] },
};

export const GENDERS = weighted<string | undefined>([['female', 47], ['male', 47], ['non_binary', 2], [undefined, 4]]);

/** The product's named features (properties.feature of feature_used). */
export const FEATURES = ['dashboards', 'reports', 'automations', 'integrations', 'collaboration', 'api_access', 'templates', 'alerts'] as const;
export const FEATURE_ACTIONS = ['view', 'view', 'create', 'edit'] as const;

/** In-app pages (page_viewed after signup) and marketing pages (before it). */
export const APP_PAGES = ['/dashboard', '/dashboard', '/reports', '/settings', '/billing', '/integrations', '/templates', '/help', '/team'] as const;
export const MARKETING_PAGES = ['/', '/', '/pricing', '/features', '/blog/segmentation-101', '/blog/churn-playbook', '/customers'] as const;

/** What happens inside a session after it opens. upgrade_clicked is replaced by page_viewed for paying users. */
export const SESSION_EVENTS = weighted([
  ['page_viewed', 38],
  ['feature_used', 34],
  ['report_exported', 10],
  ['invite_sent', 5],
  ['upgrade_clicked', 3],
] as const);

export type Plan = 'free' | 'pro' | 'business';

/** Monthly list price in minor units (cents/pence) per currency. */
export const PLAN_PRICES: Record<Exclude<Plan, 'free'>, Record<Currency, number>> = {
  pro: { USD: 2900, EUR: 2700, GBP: 2300 },
  business: { USD: 9900, EUR: 9200, GBP: 7900 },
};

export interface Product {
  id: string;
  /** Unit price in minor units per currency. */
  price: Record<Currency, number>;
  maxQuantity: number;
}

/** One-time purchases (outcome_type purchase). */
export const PRODUCTS = weighted<Product>([
  [{ id: 'addon_seats', price: { USD: 800, EUR: 750, GBP: 650 }, maxQuantity: 5 }, 35],
  [{ id: 'credits_1000', price: { USD: 1500, EUR: 1400, GBP: 1200 }, maxQuantity: 3 }, 30],
  [{ id: 'template_pack', price: { USD: 2500, EUR: 2300, GBP: 2000 }, maxQuantity: 1 }, 15],
  [{ id: 'storage_100gb', price: { USD: 500, EUR: 460, GBP: 400 }, maxQuantity: 4 }, 20],
]);

export type PrimaryGoal = 'save_time' | 'grow_revenue' | 'explore' | 'compliance';
export const PRIMARY_GOALS = weighted<PrimaryGoal>([['save_time', 35], ['grow_revenue', 25], ['explore', 25], ['compliance', 15]]);
export const PRIMARY_GOAL_ANSWERS: readonly PrimaryGoal[] = ['save_time', 'grow_revenue', 'explore', 'compliance'];

/** Local hour of day at which sessions start: office hours and an evening bump. */
export const SESSION_HOURS = weighted(
  [1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 4, 6, 7, 7, 6, 6, 7, 7, 6, 5, 4, 4, 4.5, 4, 3, 2].map((w, hour) => [hour, w] as const),
);
