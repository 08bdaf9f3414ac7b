import type { Command } from 'commander';
import { join } from 'node:path';
import { loadConfig } from '../../config.ts';
import { stopEmbeddedPostgres } from '../../database/embedded-postgres.ts';
import { provisionServingRole, servingAccess } from '../../database/serving-role.ts';
import { openWarehouse, redact, watchWarehouse } from '../../database/warehouse-connection.ts';
import { apiSecret } from '../../serve/api-secret.ts';
import { dim, say } from '../../terminal/terminal-output.ts';

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
  db.command('api-role')
    .description('create or update the least-privilege PostgreSQL role the API connects as (serve does this itself; the Cube 1.x image needs it as CUBEJS_DB_USER)')
    .option('--show-password', 'print the password instead of ***')
    .action(async (options: { showPassword?: boolean }) => {
      const config = loadConfig();
      const warehouse = await openWarehouse(config);
      try {
        const access = servingAccess(config);
        const role = await provisionServingRole({ ownerUrl: warehouse.url, secret: apiSecret(config), ...access });
        for (const warning of role.warnings) say(`warning: ${warning}`);
        const url = new URL(role.url);
        say(`CUBEJS_DB_USER=${role.role}`);
        say(`CUBEJS_DB_PASS=${options.showPassword ? decodeURIComponent(url.password) : '***'}`);
        say(dim(`reads ${[...access.schemas, 'serving'].join(', ')}; writes only ${access.rollupSchema}; password derived from the API secret`));
      } finally {
        await warehouse.close();
      }
    });
  db.command('serve')
    .description('keep the embedded PostgreSQL running until Ctrl-C (for psql sessions and BI tools)')
    .option('--show-password', 'print the password instead of *** (terminal scrollback and logs keep it)')
    .action(async (options: { showPassword?: boolean }) => {
      const warehouse = await openWarehouse(loadConfig());
      say(`warehouse: ${warehouse.location}`);
      say(`url: ${options.showPassword ? warehouse.url : redact(warehouse.url)}`);
      if (!options.showPassword) say(dim('(--show-password, or `db url --show-password`, prints the password)'));
      // Serving ends with an error (exit 1) if PostgreSQL goes away under us; the prompt comes
      // once the watch is connected, so a loss from then on is always seen.
      const { lost } = await watchWarehouse(warehouse.url, warehouse.location);
      say('press Ctrl-C to stop');
      await lost;
    });
}
