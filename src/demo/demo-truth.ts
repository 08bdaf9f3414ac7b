/**
 * The shape of truth.json: what the demo generator planted, with exact counts
 * taken while writing. Models and tests recover these figures from the loaded
 * warehouse and compare. Every count is about *clean* data (rows that load)
 * unless a field says otherwise: malformed rows appear only under
 * `events.malformed`.
 *
 * Dates are ISO 8601 UTC strings; money is in major units (e.g. dollars) rounded
 * to cents; rates are fractions in [0, 1].
 */
import type { Channel, Currency, DeviceType, PrimaryGoal } from './demo-catalog.ts';

/** Kinds of malformed event rows planted (each one a single defect the loader quarantines). */
export type MalformedKind = 'bad_timestamp' | 'invalid_json' | 'wrong_column_count' | 'missing_event_name' | 'invalid_utf8';
export const MALFORMED_KINDS: readonly MalformedKind[] = ['bad_timestamp', 'invalid_json', 'wrong_column_count', 'missing_event_name', 'invalid_utf8'];

export type OutcomeType = 'purchase' | 'upgrade' | 'downgrade' | 'refund' | 'churn';
export type Variant = 'control' | 'treatment';
export type CostType = 'compute' | 'storage' | 'support';

/** Upgrade figures for a group of users. */
export interface UpgradeRate {
  /** Users in the group. */
  users: number;
  /** Of them, users with an `upgrade` outcome row. */
  upgraded: number;
  /** upgraded / users (0 for an empty group). */
  upgradeRate: number;
}

/** Money summed over outcome rows. */
export interface MoneyTotals {
  /** Outcome rows summed. */
  rows: number;
  /** Sum of `amount` per currency, in that currency. */
  byCurrency: Record<Currency, number>;
  /** All currencies converted with `outcomes.usdPerUnit`. */
  totalUsd: number;
}

export interface DemoTruth {
  /** Version of this file's layout; bumped when a field changes meaning. */
  version: 1;
  /** Generation options, defaults filled in. Same options → byte-identical files. */
  options: {
    users: number;
    seed: number;
    malformedRate: number;
    duplicateRate: number;
    /** Share of events re-sent with a *different* payload (derived: duplicateRate × 0.05). */
    conflictingDuplicateRate: number;
    eventsPerUser: number;
  };
  /** Fixed time frame (end bounds exclusive). */
  timeFrame: { signupsFrom: string; signupsUntil: string; activityUntil: string };
  /** Each output file (by name) with its target table (null: tracking calls, a Segment-style export loaded without --into) and data rows written. */
  files: Record<string, { into: string | null; rows: number }>;

  users: {
    /** Users generated (= identify calls = experiment assignments). */
    total: number;
    /** By device_type of the user's signup (primary) device. */
    byDevice: Record<DeviceType, number>;
    /** By traits.acquisitionChannel. */
    byChannel: Record<Channel, number>;
    /** By traits.country. */
    byCountry: Record<string, number>;
  };

  events: {
    /** Data rows in events.csv.gz: validRows + malformed.total. */
    rowsWritten: number;
    /** Rows that load: uniqueEvents + exactDuplicates + conflictingDuplicates. */
    validRows: number;
    /** Distinct message_id among valid rows: one per real event. */
    uniqueEvents: number;
    /** Extra rows identical to an earlier row except for a later received_at. */
    exactDuplicates: number;
    /**
     * Extra rows with an earlier row's message_id but a different event name or
     * properties (and a later received_at). The original is the row with the
     * earliest received_at; conflicts never touch feature_used, signed_up,
     * signed_in or checkout_completed, so no planted truth depends on which copy
     * staging keeps.
     */
    conflictingDuplicates: number;
    /** Rows the loader must quarantine; they are garbled re-sends and count nowhere else. */
    malformed: { total: number; byKind: Record<MalformedKind, number> };
    /** Unique events per event name. */
    byName: Record<string, number>;
    /** Unique events carrying only user_id / only anonymous_id / both. */
    withUserIdOnly: number;
    withAnonymousIdOnly: number;
    withBothIds: number;
  };

  /**
   * Planted: users who use ≥ 3 distinct features (feature_used, distinct
   * properties.feature) in [signup, signup + 7 days) upgrade at 3× the base
   * rate. Signup is traits.createdAt (= the signed_up event's occurred_at).
   */
  firstWeekBreadth: {
    minDistinctFeatures: number;
    windowDays: number;
    /** Upgrade probability of users without breadth, before any experiment effect. */
    baseUpgradeProbability: number;
    /** Planted ratio of upgrade probabilities, breadth vs. not, before the experiment effect. */
    plantedMultiplier: number;
    /** Observed over all users (diluted a little by the additive experiment effect on treated mobile users). */
    breadthUsers: UpgradeRate;
    otherUsers: UpgradeRate;
    observedRatio: number;
    /** The same excluding treated mobile users, where only the breadth effect acts: the ratio should be ≈ plantedMultiplier. */
    withoutExperimentEffect: { breadthUsers: UpgradeRate; otherUsers: UpgradeRate; observedRatio: number };
    /** Every user meeting the definition, as observable in the clean events, in id order. */
    userIds: string[];
  };

  identity: {
    /** Users whose first events carry only an anonymous_id (before signup). */
    anonymousFirstUsers: number;
    /** anonymousId → userId links stated by identify calls (one per anonymous-first user). */
    linksFromIdentify: number;
    /**
     * Second-device anonymous ids linked to their user only by one `signed_in`
     * event carrying both ids (no identify, no alias); every other event of that
     * device carries only the anonymous id. Recovering these users' activity
     * needs stitching through events.
     */
    linksOnlyViaEvents: number;
    /** user_id → its anonymous ids (identify-linked first, event-linked second); users without any are absent. */
    anonymousIds: Record<string, string[]>;
  };

  /**
   * Planted: experiment onboarding_checklist, assigned 50/50 at signup. The
   * treatment adds plantedEffect[device] to the upgrade probability
   * (absolute), only on mobile.
   */
  experiment: {
    name: string;
    /** The segment is the device_type of the user's signup (primary) device. */
    plantedEffect: Record<DeviceType, number>;
    /** Assignments and upgrades per variant × device. */
    cells: Record<Variant, Record<DeviceType, UpgradeRate>>;
    /** treatment upgradeRate − control upgradeRate per device. */
    observedEffect: Record<DeviceType, number>;
  };

  outcomes: {
    /** Rows in outcomes.csv.gz. */
    rows: number;
    byType: Record<OutcomeType, number>;
    /** Users with an upgrade row (each upgrades at most once). */
    upgradedUsers: number;
    /** Users with a churn row (paid users cancelling; free users never get one). */
    churnedUsers: number;
    /** Fixed rates used for the USD totals. */
    usdPerUnit: Record<Currency, number>;
    /** One-time purchases (add-ons, credits): gross, refunds not subtracted. */
    purchaseRevenue: MoneyTotals;
    /** First payment of each upgrade (outcome_type upgrade). */
    upgradeRevenue: MoneyTotals;
    /** Refunds (positive amounts) of earlier purchases. */
    refunds: MoneyTotals;
  };

  survey: {
    name: string;
    /** Users who answered (both questions each). */
    respondents: number;
    rows: number;
    /** Respondents per primary_goal answer. */
    primaryGoalAnswers: Record<PrimaryGoal, number>;
    /**
     * Planted: users whose primary goal is grow_revenue make plantedMultiplier×
     * as many purchases (the goal is independent of everything else). Spend =
     * gross purchase revenue in USD per user, zeros included.
     */
    spendByPrimaryGoal: {
      plantedGroup: PrimaryGoal;
      plantedMultiplier: number;
      /** Mean spend per respondent group, plus non-respondents. */
      groups: Record<PrimaryGoal | 'no_response', { users: number; meanSpendUsd: number }>;
      /** grow_revenue mean / mean of the other respondents. */
      observedRatio: number;
    };
  };

  /**
   * Planted (demo-journeys.ts): the onboarding funnel signed_up → onboarding_step
   * (properties.step) profile → data_source → done, where tablet users (signup
   * device) drop off at data_source; and the path invite_sent > report_exported
   * > upgrade_clicked that half of the upgrading users take just before upgrading.
   */
  journeys: {
    onboarding: {
      event: string;
      steps: string[];
      dropOffDevice: DeviceType;
      /** Probability of each step given the previous one, per signup device. */
      plantedStepProbability: Record<string, Record<DeviceType, number>>;
      /** Users per signup device reaching signup and each onboarding step in order: [signed up, profile, data_source, done]. */
      reached: Record<DeviceType, number[]>;
    };
    upgradePath: {
      path: string[];
      plantedShare: number;
      /** Users with an upgrade row. */
      upgradedUsers: number;
      /** Of them, users given the path. */
      withPath: number;
    };
  };

  /** Planted (demo-release.ts): a change that was not randomised; changes/mobile_share_sheet.yml analyses it. */
  release: {
    name: string;
    releasedAt: string;
    preDays: number;
    postDays: number;
    event: string;
    /** Weekly probability of the event while active, before the release and for unexposed users. */
    weeklyProbability: number;
    /** Added to it from the release on, per signup device. */
    weeklyEffect: Record<DeviceType, number>;
    exposedDevice: DeviceType;
    /** Users first seen before the pre window opened, per signup device. */
    panelUsers: Record<DeviceType, number>;
    /** The effect on the exposed panel in the metric's units: share who did it in the post window minus share who would have without the release. */
    effectOnExposed: number;
  };

  costs: {
    /** Rows in costs.csv.gz. */
    rows: number;
    /** User-months with at least one event from signup on (each gets compute and storage rows). */
    activeUserMonths: number;
    /** USD per cost type. */
    byType: Record<CostType, number>;
    totalUsd: number;
  };
}
