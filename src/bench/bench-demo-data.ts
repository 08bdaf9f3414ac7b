/**
 * A benchmark's own database with demo data, loaded once per user count and kept: reruns
 * of a bench part measure its builds, not the load again.
 */
import type { Knex } from 'knex';
import { loadConfig, type Config } from '../config.ts';
import { createKnex } from '../database/knex-client.ts';
import { migrateLatest } from '../database/migrator.ts';
import { ensureDatabase, openWarehouse } from '../database/warehouse-connection.ts';
import { loadFile } from '../load/batch-loader.ts';
import type { Model } from '../models/model-discovery.ts';
import { loadProject } from '../project/project-loader.ts';
import type { Project } from '../project/project.ts';
import { count, dim, say } from '../terminal/terminal-output.ts';
import { demoFiles } from './build-bench.ts';

export interface DemoBenchDatabase {
  config: Config;
  url: string;
  knex: Knex;
  models: Model[];
  project: Project;
}

/** Runs `work` against database seglayer_bench_<part>_<users>, migrated and holding the demo data; closes it after. */
export async function withDemoBenchDatabase(part: string, users: number, work: (db: DemoBenchDatabase) => Promise<void>): Promise<void> {
  const config = loadConfig();
  const warehouse = await openWarehouse(config);
  const url = await ensureDatabase(warehouse.url, `seglayer_bench_${part}_${users}`);
  const knex = createKnex(url, { workMem: config.SEGLAYER_WORK_MEM, max: 6 });
  try {
    const project = await loadProject(config);
    await migrateLatest(knex, config.projectRoot);
    await loadDemoOnce(knex, url, config.homeDir, users);
    await work({ config, url, knex, models: project.models, project });
  } finally {
    await knex.destroy();
    await warehouse.close();
  }
}

async function loadDemoOnce(knex: Knex, url: string, homeDir: string, users: number): Promise<void> {
  const loaded = Number((await knex.raw(`select count(*) from ops.load_batches where status = 'loaded'`)).rows[0].count) > 0;
  if (loaded) return;
  const manifest = await demoFiles(homeDir, users);
  say(dim(`loading ${manifest.files.length} demo files for ${count(users)} users ...`));
  for (const file of manifest.files) await loadFile(url, file.path, { into: file.into });
}
