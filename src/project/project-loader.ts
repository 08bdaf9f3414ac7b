/**
 * Loads the project once: model modules are imported, the feature catalog is read from
 * the features model's declared columns, segment definitions are validated against it,
 * and models that depend on project content (a file exporting `(project) => model`) are
 * built from that same content.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config.ts';
import { UserError } from '../errors/user-error.js';
import { loadFunnelDefinitions } from '../funnels/funnel-files.ts';
import { segmentsOf } from '../segments/segment-definition.ts';
import { loadExperimentDefinitions } from '../experiments/experiment-files.ts';
import { loadChangeDefinitions } from '../changes/change-files.ts';
import { importModelModules, validateModels } from '../models/model-discovery.ts';
import { modelSchema } from '../models/model-definition.ts';
import { catalogFromColumns, FEATURES_MODEL } from '../segments/feature-catalog.ts';
import { loadSegmentDefinitions } from '../segments/segment-files.ts';
import { loadTraits, TRAIT_FEATURE_TYPES } from '../segments/trait-definitions.ts';
import type { Project, ProjectContent } from './project.ts';

export class ProjectError extends UserError {}

export async function loadProject(config: Config): Promise<Project> {
  const modules = await importModelModules(config.projectRoot, config.modelsDir);
  // The catalog comes from the features model as declared (a plain model, not a factory).
  const features = modules.map((m) => modelSchema.safeParse(m.exported)).find((parsed) => parsed.success && parsed.data.name === FEATURES_MODEL);
  const declared = catalogFromColumns(features?.success ? features.data.columns : {});
  // Traits (traits.yml) join the catalog: rules read them as features (segmentFeatures joins them in).
  const traits = loadTraits(config.projectRoot, config.SEGLAYER_TRAITS_FILE, new Set(declared.catalog.keys()));
  const traitFeatures = traits.map((t) => ({ name: t.name, type: TRAIT_FEATURE_TYPES[t.type], description: `${t.description} (trait, traits.yml)` }));
  const featureCatalog = {
    catalog: new Map([...declared.catalog, ...traitFeatures.map((f) => [f.name, f.type] as const)]),
    features: [...declared.features, ...traitFeatures],
  };
  const segmentsDir = resolve(config.projectRoot, config.SEGLAYER_SEGMENTS_DIR);
  if (!features?.success && existsSync(segmentsDir)) {
    throw new ProjectError(`${config.SEGLAYER_SEGMENTS_DIR}/ holds segment definitions, but ${config.SEGLAYER_MODELS_DIR}/ has no ${FEATURES_MODEL} model to check their features against: add it, or point SEGLAYER_SEGMENTS_DIR elsewhere`);
  }
  const segments = existsSync(segmentsDir) ? loadSegmentDefinitions(segmentsDir, featureCatalog.catalog, config.projectRoot) : [];
  const experimentsDir = resolve(config.projectRoot, config.SEGLAYER_EXPERIMENTS_DIR);
  const funnelsDir = resolve(config.projectRoot, config.SEGLAYER_FUNNELS_DIR);
  const changesDir = resolve(config.projectRoot, config.SEGLAYER_CHANGES_DIR);
  const content: ProjectContent = {
    segments,
    // Funnels build on the segment layer (breakdowns, segments.membership): a project without segment definitions has none.
    funnels: existsSync(segmentsDir) && existsSync(funnelsDir) ? loadFunnelDefinitions(funnelsDir, new Map(segments.map((s) => [s.name, segmentsOf(s)])), config.projectRoot) : [],
    featureCatalog,
    // Experiments break down by segments and are analysed by models that need the features model; a
    // project without it (fixture models in tests, say) has nothing to analyse them with, so experiments/ is not read.
    experiments: features?.success && existsSync(experimentsDir) ? loadExperimentDefinitions(experimentsDir, new Set(segments.map((d) => d.name)), config.projectRoot) : [],
    // Changes compare segments, so, like experiments, they need the features model (and so the segment layer).
    changes: features?.success && existsSync(changesDir) ? loadChangeDefinitions(changesDir, segments, config.projectRoot) : [],
    traits,
    settings: {
      minSegmentSize: config.SEGLAYER_MIN_SEGMENT_SIZE,
      orders: { types: config.SEGLAYER_ORDER_TYPES.split(','), needsRevenue: config.SEGLAYER_ORDER_NEEDS_REVENUE === 'true' },
      ...(config.SEGLAYER_REFERENCE_TIME ? { referenceTime: config.SEGLAYER_REFERENCE_TIME } : {}),
      validationWindows: { trainingDays: config.SEGLAYER_VALIDATION_TRAINING_DAYS, holdoutDays: config.SEGLAYER_VALIDATION_HOLDOUT_DAYS, followUpDays: config.SEGLAYER_VALIDATION_FOLLOW_UP_DAYS },
    },
  };
  return { ...content, root: config.projectRoot, config, models: validateModels(modules, content) };
}
