/**
 * The repository's own project (models, segments/, feature catalog), loaded the way a
 * command loads it, with the default configuration: what tests build and query.
 */
import { loadConfig } from '../../src/config.ts';
import type { Project } from '../../src/project/project.ts';
import { loadProject } from '../../src/project/project-loader.ts';
import { PROJECT_ROOT } from './test-database.ts';

export function loadTestProject(env: Record<string, string> = {}, root = PROJECT_ROOT): Promise<Project> {
  return loadProject(loadConfig(env, root));
}
