/**
 * The step after every build: final statistics computed in TypeScript from the sufficient
 * statistics the build just made — marts.experiment_results (experiments/*.yml) and
 * marts.change_effects (changes/*.yml). `build`, `start`, the API fixture and the API bench
 * call this one function, so no path leaves a view pointing at a table it forgot to write.
 */
import type { Knex } from 'knex';
import { EFFECTS_TABLE, writeChangeEffectsAfterBuild } from '../changes/change-effects-writer.ts';
import { RESULTS_TABLE, writeExperimentResultsAfterBuild } from '../experiments/experiment-results-writer.ts';
import type { Project } from './project.ts';

export interface WrittenStatistics {
  table: string;
  rows: number;
  /** What the rows are for, e.g. "1 experiment(s)". */
  of: string;
}

/** Writes what the build's statistics models allow; one entry per table written (none when those models were not built). */
export async function writeStatisticsAfterBuild(
  knex: Knex,
  project: Pick<Project, 'experiments' | 'changes'>,
  summary: { results: readonly { model: string; status: string }[] },
): Promise<WrittenStatistics[]> {
  const written: WrittenStatistics[] = [];
  const results = await writeExperimentResultsAfterBuild(knex, project.experiments, summary);
  if (results) written.push({ table: RESULTS_TABLE, rows: results.length, of: `${project.experiments.length} experiment(s)` });
  const effects = await writeChangeEffectsAfterBuild(knex, project.changes, summary);
  if (effects) written.push({ table: EFFECTS_TABLE, rows: effects.length, of: `${project.changes.length} change(s)` });
  return written;
}
