/**
 * The project as one value: configuration, models, segment definitions and the feature
 * catalog, loaded once at the boundary (a CLI command, the API server, a test) and passed
 * to whatever needs them. One process never holds two versions of a definition, and
 * engine code never imports user content (models/, segments/) on its own.
 *
 * Later families (funnels/, experiments/, metrics) join `ProjectContent` the same way:
 * read and validated in loadProject, handed to the models that build them.
 */
import type { Config } from '../config.ts';
import type { FunnelDefinition } from '../funnels/funnel-definition.ts';
import type { ChangeDefinition } from '../changes/change-definition.ts';
import type { ExperimentDefinition } from '../experiments/experiment-definition.ts';
import type { Model } from '../models/model-discovery.ts';
import type { Feature } from '../segments/feature-catalog.ts';
import type { FeatureCatalog } from '../segments/rule-compiler.ts';
import type { SegmentDefinition } from '../segments/segment-definition.ts';
import type { Trait } from '../segments/trait-definitions.ts';

/** What models may depend on besides other models: a model file exporting a function receives it. */
export interface ProjectContent {
  /** Every definition in the segments directory, validated against the feature catalog. */
  segments: SegmentDefinition[];
  /** Every funnel in the funnels directory, validated (conditions, breakdown). */
  funnels: FunnelDefinition[];
  /** The features a segment rule may use, from the features model's declared columns. */
  featureCatalog: { catalog: FeatureCatalog; features: Feature[] };
  /** Every experiment in the experiments directory, validated against the segment definitions it breaks down by. */
  experiments: ExperimentDefinition[];
  /** Every change that was not randomised (changes/*.yml), validated against the segment definitions it compares. */
  changes: ChangeDefinition[];
  /** Survey answers as features (traits.yml): columns of features.user_traits, in the feature catalog. */
  traits: Trait[];
  settings: {
    /** SEGLAYER_MIN_SEGMENT_SIZE: below it a segment is too small to read. */
    minSegmentSize: number;
    /** What counts as an order line (SEGLAYER_ORDER_TYPES, SEGLAYER_ORDER_NEEDS_REVENUE). */
    orders: { types: string[]; needsRevenue: boolean };
    /** SEGLAYER_REFERENCE_TIME: a fixed reference time; unset, derived from the data. */
    referenceTime?: string;
    /** SEGLAYER_VALIDATION_TRAINING_DAYS / _HOLDOUT_DAYS / _FOLLOW_UP_DAYS: the windows of marts.segment_validation. */
    validationWindows: { trainingDays: number; holdoutDays: number; followUpDays: number };
  };
}

export interface Project extends ProjectContent {
  root: string;
  config: Config;
  models: Model[];
}
