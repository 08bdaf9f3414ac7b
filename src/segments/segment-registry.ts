/**
 * The segment definitions the models build, read when a model compiles (and, for
 * segments.user_segments, whose columns follow the definitions, when its file loads).
 * The feature catalog comes from the features model's declared columns.
 */
import { resolve } from 'node:path';
import featuresModel from '../../models/features/user_features.ts';
import { catalogFromColumns } from './feature-catalog.ts';
import type { SegmentDefinition } from './segment-definition.ts';
import { loadSegmentDefinitions } from './segment-files.ts';

/** segments/ at the project root, or SEGLAYER_SEGMENTS_DIR. */
export function segmentsDir(): string {
  return resolve(process.env.SEGLAYER_SEGMENTS_DIR ?? resolve(import.meta.dirname, '../../segments'));
}

export function featureCatalog() {
  return catalogFromColumns(featuresModel.columns);
}

export function segmentDefinitions(): SegmentDefinition[] {
  return loadSegmentDefinitions(segmentsDir(), featureCatalog().catalog, resolve(import.meta.dirname, '../..'));
}
