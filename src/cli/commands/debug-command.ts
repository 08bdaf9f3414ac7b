/**
 * `seglayer debug`: what is wrong, checked in the order things depend on each other —
 * configuration, the warehouse connection, migrations, model files and their graph,
 * segment definitions and the generated cube, what has been built, recent loads. Each
 * check prints one line; a failed check says what to do, and the command exits 1.
 */
import type { Command } from 'commander';
import { UserError } from '../../errors/user-error.js';
import { dim, green, red, say, yellow } from '../../terminal/terminal-output.ts';

type Outcome = { ok: true; detail: string } | { ok: false; detail: string } | { warn: true; detail: string };

export function registerDebugCommand(program: Command): void {
  program
    .command('debug')
    .description('check the configuration, warehouse connection, migrations, models and segments, and say what is wrong')
    .action(async () => {
      let failed = false;
      const report = (name: string, outcome: Outcome) => {
        if ('warn' in outcome) say(`${yellow('!')} ${name}: ${outcome.detail}`);
        else if (outcome.ok) say(`${green('✓')} ${name}: ${dim(outcome.detail)}`);
        else {
          failed = true;
          say(`${red('✗')} ${name}: ${outcome.detail}`);
        }
      };
      const attempt = async <T>(name: string, work: () => Promise<T>): Promise<T | undefined> => {
        try {
          return await work();
        } catch (error) {
          report(name, { ok: false, detail: error instanceof UserError ? error.message : (error as Error).message });
          return undefined;
        }
      };

      const { loadConfig } = await import('../../config.ts');
      const config = await attempt('configuration', async () => loadConfig());
      if (!config) return void (process.exitCode = 1);
      report('configuration', { ok: true, detail: `project ${config.projectRoot}` });

      const [{ openWarehouse }, { createKnex }, { pendingMigrations }] = await Promise.all([
        import('../../database/warehouse-connection.ts'), import('../../database/knex-client.ts'), import('../../database/migrator.ts'),
      ]);
      const warehouse = await attempt('warehouse', () => openWarehouse(config));
      if (warehouse) report('warehouse', { ok: true, detail: warehouse.location });
      const knex = warehouse ? createKnex(warehouse.url, { max: 2 }) : undefined;
      try {
        if (knex) {
          const pending = await attempt('migrations', () => pendingMigrations(knex, config.projectRoot));
          if (pending) report('migrations', pending.length ? { ok: false, detail: `${pending.length} not applied (${pending.join(', ')}): run seglayer migrate` } : { ok: true, detail: 'all applied' });
        }

        const [{ loadProject }, { buildGraph }] = await Promise.all([import('../../project/project-loader.ts'), import('../../models/model-runner.ts')]);
        const project = await attempt('models and segments', () => loadProject(config));
        if (project) {
          report('models', { ok: true, detail: `${project.models.length} models in ${config.SEGLAYER_MODELS_DIR}/` });
          const graph = await attempt('model graph', async () => buildGraph(project.models));
          if (graph) report('model graph', { ok: true, detail: 'every ref() names a model, no cycles' });
          report('segments', { ok: true, detail: `${project.segments.length} definitions in ${config.SEGLAYER_SEGMENTS_DIR}/` });
          const { SEGMENT_CUBE_FILE, SEGMENT_MODEL, segmentCubeIsCurrent } = await import('../../segments/segment-cube.ts');
          if (project.models.some((m) => m.name === SEGMENT_MODEL)) {
            report('segment cube', segmentCubeIsCurrent(config.projectRoot, project.segments) ? { ok: true, detail: `${SEGMENT_CUBE_FILE} is current` } : { warn: true, detail: `${SEGMENT_CUBE_FILE} is behind segments/: run seglayer segments cube (or build)` });
          }
          if (knex) {
            const names = project.models.map((m) => m.name);
            const { rows } = await knex.raw(`select n from unnest(?::text[]) as n where to_regclass(n) is null`, [names]);
            const missing = (rows as { n: string }[]).map((r) => r.n);
            report('built', missing.length === 0 ? { ok: true, detail: 'every model has been built' } : { warn: true, detail: `${missing.length} of ${names.length} models not built yet (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}): run seglayer build` });
          }
        }
        if (knex) {
          const batches = await attempt('loads', async () => (await knex.raw(
            `select count(*) filter (where status = 'loaded')::int as loaded, count(*) filter (where status = 'failed')::int as failed,
                    (select max(batch_id) from ops.load_batches where status = 'failed') as last_failed
             from ops.load_batches`)).rows[0] as { loaded: number; failed: number; last_failed: string | null });
          if (batches) report('loads', batches.loaded === 0 ? { warn: true, detail: 'nothing loaded yet: seglayer load <file> or seglayer demo' } : batches.failed ? { warn: true, detail: `${batches.loaded} batches loaded, ${batches.failed} failed (last: seglayer batches show ${batches.last_failed})` } : { ok: true, detail: `${batches.loaded} batches loaded` });
        }
      } finally {
        await knex?.destroy();
        await warehouse?.close();
      }
      if (failed) process.exitCode = 1;
    });
}
