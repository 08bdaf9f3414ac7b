/**
 * Demo data for a benchmark database, loaded once per user count and kept: reruns of a
 * bench part measure its builds, not the load again.
 */
import type { Knex } from 'knex';
import { loadFile } from '../load/batch-loader.ts';
import { count, dim, say } from '../terminal/terminal-output.ts';
import { demoFiles } from './build-bench.ts';

export async function loadDemoOnce(knex: Knex, url: string, homeDir: string, users: number): Promise<void> {
  const loaded = Number((await knex.raw(`select count(*) from ops.load_batches where status = 'loaded'`)).rows[0].count) > 0;
  if (loaded) return;
  const manifest = await demoFiles(homeDir, users);
  say(dim(`loading ${manifest.files.length} demo files for ${count(users)} users ...`));
  for (const file of manifest.files) await loadFile(url, file.path, { into: file.into });
}
