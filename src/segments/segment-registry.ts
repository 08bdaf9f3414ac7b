/**
 * The segment definitions the models build, read when a model compiles (and, for
 * segments.user_segments, whose columns follow the definitions, when its file loads).
 * The feature catalog comes from the features model's declared columns.
 */
import { resolve } from 'node:path';
import { loadConfig } from '../config.ts';
import featuresModel from '../../models/features/user_features.ts';
import { catalogFromColumns } from './feature-catalog.ts';
import type { SegmentDefinition } from './segment-definition.ts';
import { loadSegmentDefinitions } from './segment-files.ts';

const PROJECT_ROOT = resolve(import.meta.dirname, '../..');

/** SEGLAYER_SEGMENTS_DIR (default segments/), relative to the project root. */
export function segmentsDir(): string {
  return resolve(PROJECT_ROOT, loadConfig(process.env, PROJECT_ROOT).SEGLAYER_SEGMENTS_DIR);
}

/** SEGLAYER_MIN_SEGMENT_SIZE: below it a segment is too small to read. */
export function minimumSegmentSize(): number {
  return loadConfig(process.env, PROJECT_ROOT).SEGLAYER_MIN_SEGMENT_SIZE;
}

export function featureCatalog() {
  return catalogFromColumns(featuresModel.columns);
}

export function segmentDefinitions(): SegmentDefinition[] {
  return loadSegmentDefinitions(segmentsDir(), featureCatalog().catalog, PROJECT_ROOT);
}
