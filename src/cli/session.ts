/**
 * What most commands start with: validated config, an open warehouse (embedded
 * or DATABASE_URL) with migrations applied, and cleanup when the command ends.
 */
import type { Knex } from 'knex';
import { loadConfig, type Config } from '../config.ts';
import { createKnex } from '../database/knex-client.ts';
import { migrateLatest } from '../database/migrator.ts';
import { openWarehouse, type Warehouse } from '../database/warehouse-connection.ts';
import { dim, progress } from '../terminal/terminal-output.ts';

export interface Session {
  config: Config;
  warehouse: Warehouse;
  knex: Knex;
}

export async function withSession<T>(work: (session: Session) => Promise<T>, options: { migrate?: boolean } = {}): Promise<T> {
  const config = loadConfig();
  const warehouse = await openWarehouse(config);
  const knex = createKnex(warehouse.url, { workMem: config.SEGLAYER_WORK_MEM, max: 6 });
  try {
    if (options.migrate !== false) {
      const { names } = await migrateLatest(knex, config.projectRoot);
      // stderr: stdout stays the command's own output (--json, an export).
      for (const name of names) progress(dim(`applied migration ${name}`));
    }
    return await work({ config, warehouse, knex });
  } finally {
    await knex.destroy();
    await warehouse.close();
  }
}
