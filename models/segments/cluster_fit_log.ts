import { defineModel } from '../../src/models/model-definition.ts';
import { REFIT_REASONS } from './cluster_fits.ts';

/**
 * Append-only: every k-means fit a build made (segments.cluster_fits keeps only the
 * current one), so that history survives --full-refresh, as membership history does.
 * segments.transitions reads it to tell moves a refit caused from moves a score caused.
 */
export default defineModel({
  name: 'segments.cluster_fit_log',
  description: 'Every k-means fit made by a build: definition, version, seed, the reference time fitted, when and why; one row per fit, appended.',
  owner: 'data-platform',
  tags: ['segments'],
  materialized: 'append',
  tests: [{ unique_combination: ['definition', 'fitted_at'] }],
  columns: {
    definition: { type: 'text', description: 'Cluster definition', tests: ['not_null'] },
    version: { type: 'integer', description: 'Definition version fitted', tests: ['not_null'] },
    definition_hash: { type: 'text', description: 'Content hash of the definition fitted', tests: ['not_null'] },
    seed: { type: 'integer', description: 'Seed of the initial centroids', tests: ['not_null'] },
    population_users: { type: 'integer', description: 'Users fitted', tests: ['not_null'] },
    steps: { type: 'integer', description: 'Lloyd steps run', tests: ['not_null'] },
    converged: { type: 'boolean', description: 'Stopped at a fixed point rather than at the iteration cap', tests: ['not_null'] },
    fitted_reference_at: { type: 'timestamptz', description: 'Reference time of the data fitted', tests: ['not_null'] },
    fitted_at: { type: 'timestamptz', description: 'Wall-clock time of the build that fitted', tests: ['not_null'] },
    fit_reason: { type: 'text', description: 'Why the fit was made', tests: ['not_null', { accepted_values: [...REFIT_REASONS] }] },
  },
  build: (knex, { ref, appendTo }) => {
    const fits = `select definition, version, definition_hash, seed, population_users, steps, converged, fitted_reference_at, fitted_at, fit_reason from ${ref('segments.cluster_fits').toQuery()}`;
    if (!appendTo) return knex.raw(fits);
    return knex.raw(`select f.* from (${fits}) f where not exists (select 1 from ${appendTo.toQuery()} l where l.definition = f.definition and l.fitted_at = f.fitted_at)`);
  },
});
