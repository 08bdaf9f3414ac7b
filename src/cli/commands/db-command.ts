import type { Command } from 'commander';
import { join } from 'node:path';
import { loadConfig } from '../../config.ts';
import { stopEmbeddedPostgres } from '../../database/embedded-postgres.ts';
import { openWarehouse, redact, watchWarehouse } from '../../database/warehouse-connection.ts';
import { say } from '../terminal.ts';

export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('the warehouse connection (embedded PostgreSQL unless DATABASE_URL is set)');
  db.command('url')
    .description('print the warehouse connection URL (for psql); starts the embedded server for the duration only')
    .option('--show-password', 'print the password instead of ***')
    .action(async (options: { showPassword?: boolean }) => {
      const warehouse = await openWarehouse(loadConfig());
      say(options.showPassword ? warehouse.url : redact(warehouse.url));
      await warehouse.close();
    });
  db.command('stop')
    .description('stop the embedded PostgreSQL, including one left running by a killed process')
    .action(async () => {
      const config = loadConfig();
      const stopped = await stopEmbeddedPostgres(join(config.homeDir, 'pg'));
      say(stopped ? 'embedded PostgreSQL stopped' : 'embedded PostgreSQL was not running');
    });
  db.command('serve')
    .description('keep the embedded PostgreSQL running until Ctrl-C (for psql sessions and BI tools)')
    .action(async () => {
      const warehouse = await openWarehouse(loadConfig());
      say(`warehouse: ${warehouse.location}`);
      say(`url: ${warehouse.url}`);
      say('press Ctrl-C to stop');
      // Serving ends with an error (exit 1) if PostgreSQL goes away under us.
      await watchWarehouse(warehouse.url, warehouse.location);
    });
}
