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

export function loadTestProject(env: Record<string, string> = {}, root = PROJECT_ROOT): Promise<Project> {
  const ownSegments = env.SEGLAYER_SEGMENTS_DIR;
  const defaults = ownSegments
    ? { SEGLAYER_FUNNELS_DIR: join(ownSegments, 'no-funnels'), SEGLAYER_EXPERIMENTS_DIR: join(ownSegments, 'no-experiments'), SEGLAYER_CHANGES_DIR: join(ownSegments, 'no-changes') }
    : {};
  return loadProject(loadConfig({ ...defaults, ...env }, root));
}
