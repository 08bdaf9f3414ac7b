/**
 * The repository's own project (models, segments/, feature catalog), loaded the way a
 * command loads it, with the default configuration: what tests build and query.
 *
 * A test that brings its own segment definitions (SEGLAYER_SEGMENTS_DIR) gets no funnels,
 * experiments or changes unless it names them too: the project's funnels/, experiments/ and
 * changes/ name the repository's segments, which such a test does not have.
 */
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import type { Project } from '../../src/project/project.ts';
import { loadProject } from '../../src/project/project-loader.ts';
import { PROJECT_ROOT } from './test-database.ts';

/** The settings of a project whose segments live in `segmentsDir`: no funnels, experiments or changes (for CLI runs too). */
export function ownSegmentsEnv(segmentsDir: string): Record<string, string> {
  return {
    SEGLAYER_SEGMENTS_DIR: segmentsDir,
    SEGLAYER_FUNNELS_DIR: join(segmentsDir, 'no-funnels'),
    SEGLAYER_EXPERIMENTS_DIR: join(segmentsDir, 'no-experiments'),
    SEGLAYER_CHANGES_DIR: join(segmentsDir, 'no-changes'),
  };
}

export function loadTestProject(env: Record<string, string> = {}, root = PROJECT_ROOT): Promise<Project> {
  const defaults = env.SEGLAYER_SEGMENTS_DIR ? ownSegmentsEnv(env.SEGLAYER_SEGMENTS_DIR) : {};
  return loadProject(loadConfig({ ...defaults, ...env }, root));
}
