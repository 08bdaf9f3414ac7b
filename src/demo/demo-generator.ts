/**
 * `seglayer demo`: writes deterministic synthetic product data for a SaaS app
 * as gzip files the loader takes without any mapping, plus truth.json, the
 * exact figures of what was planted (see demo-truth.ts).
 *
 * Generation streams user by user: each user is simulated from its own PRNG
 * stream (demo-user.ts), written to every file at once, counted into the truth
 * tallies and dropped, so memory holds one user's events however many users
 * there are (the truth keeps a few short ids per user: the breadth list and the
 * anonymous-id map).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ACTIVITY_UNTIL, CHANNELS, COUNTRIES, DAY_MS, DEVICE_TYPES, PRIMARY_GOAL_ANSWERS, SIGNUPS_FROM, SIGNUPS_UNTIL, USD_PER_UNIT,
  type Currency, type DeviceType, type PrimaryGoal,
} from './demo-catalog.ts';
import { emptyEventTally, EVENT_COLUMNS, writeUserEvents, type NoiseRates } from './demo-event-rows.ts';
import { csvLine, GzipLineWriter, writeJsonFile } from './demo-files.ts';
import { isoDate, isoMs, monthStarts } from './demo-time.ts';
import { ReleaseTally } from './demo-release.ts';
import { ONBOARDING_DROP_OFF_DEVICE, ONBOARDING_EVENT, ONBOARDING_STEP_PROBABILITY, ONBOARDING_STEPS, UPGRADE_PATH, UPGRADE_PATH_SHARE } from './demo-journeys.ts';
import type { CostType, DemoTruth, MoneyTotals, OutcomeType, UpgradeRate, Variant } from './demo-truth.ts';
import {
  BASE_UPGRADE_PROBABILITY, BREADTH_MIN_FEATURES, BREADTH_MULTIPLIER, BREADTH_WINDOW_DAYS, demoWorld, EXPERIMENT_EFFECT,
  EXPERIMENT_NAME, GROW_REVENUE_MULTIPLIER, simulateUser, STREAM_NOISE, SURVEY_NAME, type DemoUser,
} from './demo-user.ts';
import { hex8, mix32, SeededRandom } from './seeded-random.ts';

export interface DemoOptions {
  /** Number of users to generate (a positive whole number); about `eventsPerUser` events each. */
  users: number;
  /** PRNG seed (an integer). The same users, seed and rates give byte-identical files. */
  seed: number;
  /** Directory for the files; created if missing, files of an earlier run there are overwritten. */
  outDir: string;
  /** Share of events also written as a malformed row the loader must quarantine (default 0.01; 0 for clean data). */
  malformedRate?: number;
  /**
   * Share of events re-sent with the same message_id and payload, only
   * received_at later (default 0.02). A further duplicateRate × 0.05 are re-sent
   * with a conflicting payload. 0 gives no duplicates of either kind.
   */
  duplicateRate?: number;
  /** Average events per user (default 50); individual users vary with a heavy tail. */
  eventsPerUser?: number;
  /** Called after each user is written, with the number of users written so far. */
  onProgress?: (usersDone: number) => void;
}

export interface DemoFile {
  /** Path of the gzip file. */
  path: string;
  /** Raw table to load it into (`loadFile(url, path, { into })`); absent for the identify calls (a Segment-style export, loaded as tracking calls). */
  into?: string;
  /** Data rows written (header excluded), malformed and duplicate rows included. */
  rows: number;
}

export interface DemoManifest {
  /** The files in load order. */
  files: DemoFile[];
  /** Path of truth.json (see DemoTruth). */
  truthPath: string;
}

/** Conflicting re-sends as a share of the duplicate rate: rare, as in real pipelines. */
const CONFLICTING_SHARE_OF_DUPLICATES = 0.05;
const STREAM_COSTS = 3;

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
const ratio = (a: number, b: number) => (b === 0 ? 0 : round(a / b, 6));
const minorText = (minor: number) => `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, '0')}`;
const costText = (units: number) => `${Math.floor(units / 10_000)}.${String(units % 10_000).padStart(4, '0')}`;

function checkOptions(options: DemoOptions): Required<Omit<DemoOptions, 'onProgress'>> {
  const { users, seed, outDir } = options;
  const malformedRate = options.malformedRate ?? 0.01;
  const duplicateRate = options.duplicateRate ?? 0.02;
  const eventsPerUser = options.eventsPerUser ?? 50;
  if (!Number.isInteger(users) || users <= 0) throw new RangeError(`users must be a positive whole number, got ${users}`);
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  for (const [name, rate] of [['malformedRate', malformedRate], ['duplicateRate', duplicateRate]] as const) {
    if (!(rate >= 0 && rate < 1)) throw new RangeError(`${name} must be in [0, 1), got ${rate}`);
  }
  if (!(eventsPerUser >= 1 && eventsPerUser <= 10_000)) throw new RangeError(`eventsPerUser must be in [1, 10000], got ${eventsPerUser}`);
  return { users, seed, outDir, malformedRate, duplicateRate, eventsPerUser };
}

/** Counts upgrades for one group of users. */
class UpgradeCounter {
  users = 0;
  upgraded = 0;
  add(upgraded: boolean): void {
    this.users++;
    if (upgraded) this.upgraded++;
  }
  result(): UpgradeRate {
    return { users: this.users, upgraded: this.upgraded, upgradeRate: ratio(this.upgraded, this.users) };
  }
}

/** Sums money per currency in minor units (exact), converted to USD only at the end. */
class MoneyCounter {
  rows = 0;
  private readonly minor: Record<Currency, number> = { USD: 0, EUR: 0, GBP: 0 };
  add(amountMinor: number, currency: Currency): void {
    this.rows++;
    this.minor[currency] += amountMinor;
  }
  result(): MoneyTotals {
    const byCurrency = { USD: this.minor.USD / 100, EUR: this.minor.EUR / 100, GBP: this.minor.GBP / 100 };
    const totalUsd = (Object.keys(byCurrency) as Currency[]).reduce((sum, c) => sum + byCurrency[c] * USD_PER_UNIT[c], 0);
    return { rows: this.rows, byCurrency, totalUsd: round(totalUsd, 2) };
  }
}

const byKey = <K extends string>(keys: readonly K[], value: () => number) =>
  Object.fromEntries(keys.map((k) => [k, value()])) as Record<K, number>;

/** Generates the demo files into options.outDir and returns what to load, in order. */
export async function writeDemoFiles(options: DemoOptions): Promise<DemoManifest> {
  const opts = checkOptions(options);
  const { users, seed, outDir } = opts;
  await mkdir(outDir, { recursive: true });
  const world = demoWorld(seed, users, opts.eventsPerUser);
  const rates: NoiseRates = {
    malformed: opts.malformedRate,
    duplicate: opts.duplicateRate,
    conflicting: opts.duplicateRate * CONFLICTING_SHARE_OF_DUPLICATES,
  };

  const open = (name: string, columns?: readonly string[]) => {
    const writer = new GzipLineWriter(join(outDir, name));
    if (columns) writer.header(columns);
    return writer;
  };
  const identify = open('identify.ndjson.gz');
  const events = open('events.csv.gz', EVENT_COLUMNS);
  const outcomes = open('outcomes.csv.gz', ['outcome_id', 'user_id', 'outcome_type', 'occurred_at', 'amount', 'currency', 'order_id', 'product_id', 'quantity', 'unit_price', 'plan']);
  const costs = open('costs.csv.gz', ['user_id', 'account_id', 'period_start', 'period_end', 'cost_type', 'amount', 'currency']);
  const survey = open('survey_responses.csv.gz', ['response_id', 'user_id', 'survey', 'question', 'answer', 'responded_at']);
  const experiment = open('experiment_assignments.csv.gz', ['experiment', 'variant', 'user_id', 'anonymous_id', 'assigned_at']);
  const files: [GzipLineWriter, string | undefined][] = [
    [identify, undefined],
    [events, 'raw.events'],
    [outcomes, 'raw.outcomes'],
    [costs, 'raw.costs'],
    [survey, 'raw.survey_responses'],
    [experiment, 'raw.experiment_assignments'],
  ];

  const tally = new TruthTally();
  const eventTally = emptyEventTally();
  try {
    for (let index = 1; index <= users; index++) {
      const user = simulateUser(world, index);
      writeUserEvents(user, { messageSalt: world.salts.message }, new SeededRandom(seed, index, STREAM_NOISE), rates, events, eventTally);
      identify.line(identifyCall(user, world.salts.message));
      experiment.line(csvLine([EXPERIMENT_NAME, user.variant, user.userId, user.anonymousIds[0] ?? '', isoMs(user.signupAt)]));
      writeOutcomes(user, outcomes);
      writeSurvey(user, survey);
      tally.costUnits(writeCosts(user, new SeededRandom(seed, index, STREAM_COSTS), costs));
      tally.add(user);
      for (const [writer] of files) {
        const wait = writer.ready();
        if (wait) await wait;
      }
      options.onProgress?.(index);
    }
    for (const [writer] of files) await writer.close();
  } catch (error) {
    for (const [writer] of files) writer.destroy();
    throw error;
  }

  eventTally.validRows = eventTally.uniqueEvents + eventTally.exactDuplicates + eventTally.conflictingDuplicates;
  eventTally.rowsWritten = eventTally.validRows + eventTally.malformed.total;
  const manifestFiles: DemoFile[] = files.map(([writer, into]) => (into ? { path: writer.path, into, rows: writer.rows } : { path: writer.path, rows: writer.rows }));
  const truthPath = join(outDir, 'truth.json');
  const truth = tally.truth(opts, rates, eventTally, manifestFiles);
  await writeJsonFile(truthPath, truth);
  return { files: manifestFiles, truthPath };
}

function identifyCall(user: DemoUser, messageSalt: number): string {
  const traits: Record<string, string | number> = { createdAt: isoMs(user.signupAt), birthYear: user.birthYear };
  if (user.gender) traits.gender = user.gender;
  Object.assign(traits, {
    plan: 'free',
    country: user.country.code,
    region: user.city.region,
    city: user.city.city,
    acquisitionChannel: user.channel,
    email: user.email,
  });
  const call: Record<string, unknown> = { type: 'identify', messageId: `i-${hex8(mix32(user.index ^ messageSalt))}`, userId: user.userId };
  // Only anonymous-first users have an anonymous id to link (planted truth 4).
  if (user.anonymousIds[0]) call.anonymousId = user.anonymousIds[0];
  call.timestamp = isoMs(user.signupAt);
  call.traits = traits;
  return `${JSON.stringify(call)}\n`;
}

function writeOutcomes(user: DemoUser, writer: GzipLineWriter): void {
  for (const o of user.outcomes) {
    writer.line(csvLine([
      o.id, user.userId, o.type, isoMs(o.t),
      o.amountMinor === undefined ? '' : minorText(o.amountMinor),
      o.currency ?? '', o.orderId ?? '', o.productId ?? '',
      o.quantity === undefined ? '' : String(o.quantity),
      o.unitPriceMinor === undefined ? '' : minorText(o.unitPriceMinor),
      o.plan ?? '',
    ]));
  }
}

function writeSurvey(user: DemoUser, writer: GzipLineWriter): void {
  if (!user.survey) return;
  const at = isoMs(user.survey.respondedAt);
  const id = `r-${user.userId.slice(1)}`;
  writer.line(csvLine([`${id}-1`, user.userId, SURVEY_NAME, 'primary_goal', user.goal, at]));
  writer.line(csvLine([`${id}-2`, user.userId, SURVEY_NAME, 'tech_savviness', String(user.survey.techSavviness), at]));
}

/** Month boundaries of the whole time frame (the first pre-signup visits fall in December 2024). */
const MONTHS = monthStarts(SIGNUPS_FROM - 31 * DAY_MS, ACTIVITY_UNTIL);
const MONTH_FIRST_DAYS = MONTHS.map(isoDate);
const MONTH_LAST_DAYS = MONTHS.map((start, i) => (i + 1 < MONTHS.length ? isoDate(MONTHS[i + 1]! - DAY_MS) : ''));

/**
 * Monthly cost to serve per active user: compute and storage grow with the
 * month's events, support tickets are occasional (more often for paying users).
 * Returns cost units (1e-4 USD) per type.
 */
function writeCosts(user: DemoUser, rng: SeededRandom, writer: GzipLineWriter): { months: number; units: Record<CostType, number>; rows: number } {
  const perMonth = new Array<number>(MONTHS.length).fill(0);
  let m = 0;
  for (const e of user.events) {
    if (e.t < user.signupAt) continue;
    while (m + 1 < MONTHS.length && e.t >= MONTHS[m + 1]!) m++;
    perMonth[m]!++;
  }
  const units: Record<CostType, number> = { compute: 0, storage: 0, support: 0 };
  let months = 0;
  let rows = 0;
  const row = (start: string, end: string, type: CostType, amount: number) => {
    units[type] += amount;
    rows++;
    writer.line(csvLine([user.userId, user.accountId, start, end, type, costText(amount), 'USD']));
  };
  for (let i = 0; i < perMonth.length; i++) {
    const n = perMonth[i]!;
    if (n === 0) continue;
    months++;
    const start = MONTH_FIRST_DAYS[i]!;
    const end = MONTH_LAST_DAYS[i]!;
    row(start, end, 'compute', 3000 + 40 * n);
    row(start, end, 'storage', 800 + 10 * n);
    if (rng.chance(user.upgraded ? 0.12 : 0.03)) row(start, end, 'support', rng.int(10_000, 80_000));
  }
  return { months, units, rows };
}

/** Everything truth.json reports besides the event-file counters, counted user by user. */
class TruthTally {
  private users = 0;
  private readonly byDevice = byKey(DEVICE_TYPES, () => 0);
  private readonly byChannel = byKey(CHANNELS.items, () => 0);
  private readonly byCountry = byKey(COUNTRIES.items.map((c) => c.code), () => 0);
  private readonly breadthUsers = new UpgradeCounter();
  private readonly otherUsers = new UpgradeCounter();
  private readonly breadthUntreated = new UpgradeCounter();
  private readonly otherUntreated = new UpgradeCounter();
  private readonly breadthIndexes: number[] = [];
  private anonymousFirst = 0;
  private linksFromIdentify = 0;
  private linksViaEvents = 0;
  private readonly anonymousIds: [string, string[]][] = [];
  private readonly cells = {
    control: Object.fromEntries(DEVICE_TYPES.map((d) => [d, new UpgradeCounter()])) as Record<DeviceType, UpgradeCounter>,
    treatment: Object.fromEntries(DEVICE_TYPES.map((d) => [d, new UpgradeCounter()])) as Record<DeviceType, UpgradeCounter>,
  };
  private outcomeRows = 0;
  private readonly outcomeTypes: Record<OutcomeType, number> = { purchase: 0, upgrade: 0, downgrade: 0, refund: 0, churn: 0 };
  private upgradedUsers = 0;
  private churnedUsers = 0;
  private readonly purchases = new MoneyCounter();
  private readonly upgrades = new MoneyCounter();
  private readonly refunds = new MoneyCounter();
  private respondents = 0;
  private readonly answers = byKey(PRIMARY_GOAL_ANSWERS, () => 0);
  private readonly spend = Object.fromEntries(
    [...PRIMARY_GOAL_ANSWERS, 'no_response'].map((g) => [g, { users: 0, usd: 0 }]),
  ) as Record<PrimaryGoal | 'no_response', { users: number; usd: number }>;
  private readonly onboardingReached = Object.fromEntries(DEVICE_TYPES.map((d) => [d, [0, 0, 0, 0]])) as Record<DeviceType, number[]>;
  private upgradePathUsers = 0;
  private costRows = 0;
  private activeUserMonths = 0;
  private readonly costs: Record<CostType, number> = { compute: 0, storage: 0, support: 0 };
  private readonly release = new ReleaseTally();

  costUnits(result: { months: number; units: Record<CostType, number>; rows: number }): void {
    this.costRows += result.rows;
    this.activeUserMonths += result.months;
    for (const type of Object.keys(this.costs) as CostType[]) this.costs[type] += result.units[type];
  }

  add(user: DemoUser): void {
    this.users++;
    const device = user.devices[0].type;
    this.byDevice[device]++;
    this.release.add(device, user.release);
    this.byChannel[user.channel]++;
    this.byCountry[user.country.code] = (this.byCountry[user.country.code] ?? 0) + 1;

    // Upgraded means "has an upgrade row", exactly what a model can count.
    const upgraded = user.outcomes.some((o) => o.type === 'upgrade');
    (user.breadth ? this.breadthUsers : this.otherUsers).add(upgraded);
    if (!(user.variant === 'treatment' && device === 'mobile')) (user.breadth ? this.breadthUntreated : this.otherUntreated).add(upgraded);
    if (user.breadth) this.breadthIndexes.push(user.index);
    this.cells[user.variant][device].add(upgraded);
    for (let step = 0; step <= user.onboardingSteps; step++) this.onboardingReached[device][step]!++;
    if (user.upgradePath) this.upgradePathUsers++;

    if (user.anonymousIds.length > 0) {
      this.anonymousFirst++;
      this.linksFromIdentify++;
      this.anonymousIds.push([user.userId, user.anonymousIds]);
      if (user.events.some((e) => e.device === 1 && e.ids === 'both')) this.linksViaEvents++;
    }

    let spendUsd = 0;
    for (const o of user.outcomes) {
      this.outcomeRows++;
      this.outcomeTypes[o.type]++;
      if (o.amountMinor === undefined || o.currency === undefined) continue;
      if (o.type === 'purchase') {
        this.purchases.add(o.amountMinor, o.currency);
        spendUsd += (o.amountMinor / 100) * USD_PER_UNIT[o.currency];
      } else if (o.type === 'upgrade') this.upgrades.add(o.amountMinor, o.currency);
      else if (o.type === 'refund') this.refunds.add(o.amountMinor, o.currency);
    }
    if (upgraded) this.upgradedUsers++;
    if (user.outcomes.some((o) => o.type === 'churn')) this.churnedUsers++;

    const group = user.survey ? user.goal : 'no_response';
    if (user.survey) {
      this.respondents++;
      this.answers[user.goal]++;
    }
    this.spend[group].users++;
    this.spend[group].usd += spendUsd;
  }

  truth(opts: ReturnType<typeof checkOptions>, rates: NoiseRates, events: DemoTruth['events'], files: DemoFile[]): DemoTruth {
    const pad = (index: number) => `u${String(index).padStart(6, '0')}`;
    const cells = (variant: Variant) => byKeyResult(this.cells[variant]);
    const control = cells('control');
    const treatment = cells('treatment');
    const groups = Object.fromEntries(
      Object.entries(this.spend).map(([g, s]) => [g, { users: s.users, meanSpendUsd: s.users ? round(s.usd / s.users, 4) : 0 }]),
    ) as DemoTruth['survey']['spendByPrimaryGoal']['groups'];
    const others = PRIMARY_GOAL_ANSWERS.filter((g) => g !== 'grow_revenue');
    const otherUsers = others.reduce((n, g) => n + this.spend[g].users, 0);
    const otherUsd = others.reduce((n, g) => n + this.spend[g].usd, 0);
    const growMean = this.spend.grow_revenue.users ? this.spend.grow_revenue.usd / this.spend.grow_revenue.users : 0;
    const breadth = this.breadthUsers.result();
    const other = this.otherUsers.result();
    const breadthUntreated = this.breadthUntreated.result();
    const otherUntreated = this.otherUntreated.result();
    const costTotal = Object.values(this.costs).reduce((a, b) => a + b, 0);

    return {
      version: 1,
      options: {
        users: opts.users, seed: opts.seed, malformedRate: opts.malformedRate, duplicateRate: opts.duplicateRate,
        conflictingDuplicateRate: rates.conflicting, eventsPerUser: opts.eventsPerUser,
      },
      timeFrame: { signupsFrom: isoMs(SIGNUPS_FROM), signupsUntil: isoMs(SIGNUPS_UNTIL), activityUntil: isoMs(ACTIVITY_UNTIL) },
      files: Object.fromEntries(files.map((f) => [f.path.split(/[\\/]/).pop()!, { into: f.into ?? null, rows: f.rows }])),
      users: {
        total: this.users,
        byDevice: this.byDevice,
        byChannel: this.byChannel,
        byCountry: this.byCountry,
      },
      events,
      firstWeekBreadth: {
        minDistinctFeatures: BREADTH_MIN_FEATURES,
        windowDays: BREADTH_WINDOW_DAYS,
        baseUpgradeProbability: BASE_UPGRADE_PROBABILITY,
        plantedMultiplier: BREADTH_MULTIPLIER,
        breadthUsers: breadth,
        otherUsers: other,
        observedRatio: ratio(breadth.upgradeRate, other.upgradeRate),
        withoutExperimentEffect: {
          breadthUsers: breadthUntreated,
          otherUsers: otherUntreated,
          observedRatio: ratio(breadthUntreated.upgradeRate, otherUntreated.upgradeRate),
        },
        userIds: this.breadthIndexes.map(pad),
      },
      identity: {
        anonymousFirstUsers: this.anonymousFirst,
        linksFromIdentify: this.linksFromIdentify,
        linksOnlyViaEvents: this.linksViaEvents,
        anonymousIds: Object.fromEntries(this.anonymousIds),
      },
      experiment: {
        name: EXPERIMENT_NAME,
        plantedEffect: { ...EXPERIMENT_EFFECT },
        cells: { control, treatment },
        observedEffect: Object.fromEntries(
          DEVICE_TYPES.map((d) => [d, round(treatment[d].upgradeRate - control[d].upgradeRate, 6)]),
        ) as Record<DeviceType, number>,
      },
      outcomes: {
        rows: this.outcomeRows,
        byType: this.outcomeTypes,
        upgradedUsers: this.upgradedUsers,
        churnedUsers: this.churnedUsers,
        usdPerUnit: { ...USD_PER_UNIT },
        purchaseRevenue: this.purchases.result(),
        upgradeRevenue: this.upgrades.result(),
        refunds: this.refunds.result(),
      },
      survey: {
        name: SURVEY_NAME,
        respondents: this.respondents,
        rows: this.respondents * 2,
        primaryGoalAnswers: this.answers,
        spendByPrimaryGoal: {
          plantedGroup: 'grow_revenue',
          plantedMultiplier: GROW_REVENUE_MULTIPLIER,
          groups,
          observedRatio: otherUsers && otherUsd ? round(growMean / (otherUsd / otherUsers), 6) : 0,
        },
      },
      journeys: {
        onboarding: {
          event: ONBOARDING_EVENT,
          steps: ['signed_up', ...ONBOARDING_STEPS],
          dropOffDevice: ONBOARDING_DROP_OFF_DEVICE,
          plantedStepProbability: ONBOARDING_STEP_PROBABILITY,
          reached: this.onboardingReached,
        },
        upgradePath: { path: [...UPGRADE_PATH], plantedShare: UPGRADE_PATH_SHARE, upgradedUsers: this.upgradedUsers, withPath: this.upgradePathUsers },
      },
      release: this.release.truth(),
      costs: {
        rows: this.costRows,
        activeUserMonths: this.activeUserMonths,
        byType: { compute: this.costs.compute / 10_000, storage: this.costs.storage / 10_000, support: this.costs.support / 10_000 },
        totalUsd: round(costTotal / 10_000, 2),
      },
    };
  }
}

function byKeyResult(counters: Record<DeviceType, UpgradeCounter>): Record<DeviceType, UpgradeRate> {
  return Object.fromEntries(DEVICE_TYPES.map((d) => [d, counters[d].result()])) as Record<DeviceType, UpgradeRate>;
}
