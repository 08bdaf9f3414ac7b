/**
 * `seglayer serve`: the semantic API (Cube behind the gateway) on the warehouse, and
 * `seglayer token`: a signed token for local use.
 */
import type { Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { AccessDenied, accessFor, loadAccessPolicy } from '../../governance/access-policy.js';
import type { ApiServer } from '../../serve/api-server.ts';
import { governanceFile, jwtSettings } from '../../serve/api-settings.ts';
import { mintToken } from '../../serve/token-minter.ts';
import { bold, dim, green, say } from '../../terminal/terminal-output.ts';
import { UserError } from '../../errors/user-error.js';

export interface ServeFlags {
  port?: number;
  dev?: boolean;
}

/** Serves until Ctrl-C / SIGTERM. Used by `serve` and at the end of `npm start`. */
export async function serveUntilStopped(server: ApiServer, demoToken: string): Promise<void> {
  say(`${green('✓')} semantic API: ${bold(server.apiUrl)}  ${dim('(REST: /load /meta /sql /dry-run; GraphQL: ' + server.url + '/cubejs-api/graphql)')}`);
  const role = server.databaseRole;
  say(dim(`  Cube connects as PostgreSQL role ${role.name}: reads ${role.schemas.join(', ')}; writes only ${role.rollupSchema}`));
  const sql = server.cube.sqlApi;
  say('port' in sql ? `${green('✓')} SQL API (Postgres wire, Metabase / Superset): 127.0.0.1:${sql.port}` : dim(`  SQL API off: ${sql.off}`));
  say(bold('\ndemo token') + dim(' (role analyst, region CA, 24 h; mint others with `npm run seglayer -- token`)'));
  say(`export TOKEN=${demoToken}`);
  say(bold('\ntry'));
  say(`  curl -s -H "Authorization: Bearer $TOKEN" -G ${server.apiUrl}/load \\`);
  say(`    --data-urlencode 'query={"measures":["user_value.count","user_value.arpu"],"dimensions":["user_value.plan"]}'`);
  say(`  curl -s -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' ${server.url}/cubejs-api/graphql \\`);
  say(`    -d '{"query":"{ cube { user_activity(where: {event: {equals: \\"page_viewed\\"}}) { count active_users occurred_at { month } } } }"}'`);
  say(dim('\nCtrl-C stops the API and the embedded PostgreSQL'));
  // The API closes first, whichever handler the signal reaches first: the embedded server's waits for it.
  const { closeBeforeWarehouseStops } = await import('../../database/warehouse-connection.ts');
  const forget = closeBeforeWarehouseStops(() => server.close());
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  forget();
}

export function registerServeCommands(program: Command): void {
  program
    .command('serve')
    .description('serve segments and metrics through Cube (REST, GraphQL) behind a JWT gateway')
    .option('-p, --port <port>', 'HTTP port (default PORT or 4000; 0 picks a free one)', (v) => Number(v))
    .option('--dev', 'development mode: requests without a token run as admin (never expose this)')
    .action(async (flags: ServeFlags) => {
      const { withSession } = await import('../session.ts');
      await withSession(async ({ config, warehouse, knex }) => {
        const { rows } = await knex.raw(`select to_regclass('core.dim_users') is not null as built`);
        if (!rows[0].built) say(`${bold('note')}: the core models are not built yet; run \`npm run seglayer -- build\` (or \`npm start\`) first`);
        // Cube and Express load only here: every other command starts without them.
        const { startApiServer } = await import('../../serve/api-server.ts');
        const server = await startApiServer(config, { databaseUrl: warehouse.url, port: flags.port, dev: flags.dev });
        if (flags.dev) say(`${bold('dev mode')}: requests without a token run as admin`);
        const token = await mintToken(server.jwt, { claims: { role: 'analyst', region: 'CA' }, expiresIn: '24h' });
        await serveUntilStopped(server, token);
      });
    });

  program
    .command('token')
    .description('mint a signed API token for local use')
    .requiredOption('--claims <json>', 'claims as JSON, e.g. \'{"role":"analyst","region":"CA"}\' (roles and row claims: governance.yml)')
    .option('--expires-in <span>', 'lifetime, e.g. 1h, 7d', '24h')
    .action(async (flags: { claims: string; expiresIn: string }) => {
      let claims: unknown;
      try {
        claims = JSON.parse(flags.claims);
      } catch (error) {
        throw new TokenCommandError(`--claims is not valid JSON: ${(error as Error).message}`);
      }
      if (!claims || typeof claims !== 'object' || Array.isArray(claims)) throw new TokenCommandError('--claims must be a JSON object');
      if (!/^\d+\s*(s|m|h|d|w)$/.test(flags.expiresIn)) throw new TokenCommandError('--expires-in must look like 30m, 1h or 7d');
      const config = loadConfig();
      if (spanSeconds(flags.expiresIn) > spanSeconds(config.SEGLAYER_API_MAX_TOKEN_AGE)) {
        throw new TokenCommandError(`--expires-in ${flags.expiresIn} is longer than the API accepts (SEGLAYER_API_MAX_TOKEN_AGE=${config.SEGLAYER_API_MAX_TOKEN_AGE})`);
      }
      try {
        accessFor(loadAccessPolicy(governanceFile(config)), claims as Record<string, unknown>);
      } catch (error) {
        if (error instanceof AccessDenied) throw new TokenCommandError(`the API would refuse these claims: ${error.message}`);
        throw error;
      }
      process.stdout.write(`${await mintToken(jwtSettings(config), { claims: claims as Record<string, unknown>, expiresIn: flags.expiresIn })}\n`);
    });
}

/** Seconds in a span such as 30m, 12h, 7d or 2w. */
function spanSeconds(span: string): number {
  const match = /^(\d+)\s*(s|m|h|d|w)$/.exec(span);
  if (!match) return Number.NaN;
  return Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[match[2] as 's' | 'm' | 'h' | 'd' | 'w'];
}

export class TokenCommandError extends UserError {}
