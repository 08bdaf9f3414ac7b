/**
 * `seglayer bi grant | revoke | ls | refresh | check`: PostgreSQL logins for BI tools
 * (Metabase, Superset) that read the governed `bi` schema only (src/bi/).
 */
import type { Command } from 'commander';
import { checkBiDrift } from '../../bi/bi-drift.ts';
import { grantBiLogin, listBiLogins, refreshBiViews, revokeBiLogin, BiAccessError } from '../../bi/bi-logins.ts';
import type { Config } from '../../config.ts';
import { loadAccessPolicy } from '../../governance/access-policy.js';
import { governanceFile } from '../../serve/api-settings.ts';
import { bold, dim, green, red, say, table } from '../../terminal/terminal-output.ts';
import { withSession } from '../session.ts';

const reserved = (config: Config) => [config.SEGLAYER_API_ROLE, 'postgres', 'public'];

function parseClaims(text: string): Record<string, unknown> {
  let claims: unknown;
  try {
    claims = JSON.parse(text);
  } catch (error) {
    throw new BiAccessError(`--claims is not JSON: ${(error as Error).message}`);
  }
  if (!claims || typeof claims !== 'object' || Array.isArray(claims)) throw new BiAccessError('--claims must be a JSON object such as \'{"role":"analyst","region":"CA"}\'');
  return claims as Record<string, unknown>;
}

export function registerBiCommands(program: Command): void {
  const bi = program.command('bi').description('governed PostgreSQL logins for BI tools (schema bi only, rows and columns from governance.yml)');

  bi.command('grant <login>')
    .description('create or update a login that reads schema bi with the rows and columns these claims may see')
    .requiredOption('--claims <json>', 'the claims, as a token would carry them, e.g. \'{"role":"analyst","region":"CA"}\'')
    .option('--rotate-password', 'set a new password for an existing login')
    .action(async (login: string, flags: { claims: string; rotatePassword?: boolean }) => {
      const claims = parseClaims(flags.claims);
      await withSession(async ({ config, warehouse }) => {
        const policy = loadAccessPolicy(governanceFile(config));
        const result = await grantBiLogin(warehouse.url, policy, login, claims, { reserved: reserved(config), rotatePassword: flags.rotatePassword });
        const url = new URL(warehouse.url);
        say(`${green('✓')} ${bold(login)} reads ${result.views} views in schema bi (${result.hiddenColumns} columns hidden by governance.yml)`);
        say(`  host ${url.hostname}  port ${url.port || 5432}  database ${url.pathname.slice(1)}  login ${login}`);
        if (result.password) say(`  password ${result.password}  ${dim('(shown once; --rotate-password sets a new one)')}`);
      });
    });

  bi.command('revoke <login>')
    .description('remove a BI login and everything it was granted')
    .action(async (login: string) => {
      await withSession(async ({ config, warehouse }) => {
        const removed = await revokeBiLogin(warehouse.url, loadAccessPolicy(governanceFile(config)), login, reserved(config));
        if (!removed) throw new BiAccessError(`${login} is not a BI login of this database (see \`seglayer bi ls\`)`);
        say(`${green('✓')} ${login} revoked`);
      });
    });

  bi.command('ls')
    .description('list BI logins with their claims and what they may read')
    .action(async () => {
      await withSession(async ({ config, warehouse }) => {
        const logins = await listBiLogins(warehouse.url, loadAccessPolicy(governanceFile(config)));
        if (logins.length === 0) return say(dim('no BI logins; create one with `seglayer bi grant <login> --claims \'{...}\'`'));
        say(table([['login', 'role', 'claims', 'views', 'columns'], ...logins.map((l) => [l.login, l.role + (l.allRows ? ' (all rows)' : ''), JSON.stringify(l.claims), l.views.length, l.views.reduce((n, v) => n + v.columns.length, 0)])]));
      });
    });

  bi.command('refresh')
    .description('re-create the bi views from the catalog and governance.yml (after a build added a mart) and re-grant every login')
    .action(async () => {
      await withSession(async ({ config, warehouse }) => {
        const views = await refreshBiViews(warehouse.url, loadAccessPolicy(governanceFile(config)));
        say(`${green('✓')} ${views} views in schema bi`);
      });
    });

  bi.command('check')
    .description('fail when the deployed bi views or grants disagree with governance.yml and the catalog')
    .action(async () => {
      await withSession(async ({ config, warehouse }) => {
        const report = await checkBiDrift(warehouse.url, loadAccessPolicy(governanceFile(config)));
        if (!report.ok) {
          for (const problem of report.problems) say(`${red('✗')} ${problem}`);
          throw new BiAccessError(`${report.problems.length} disagreement(s) between schema bi and governance.yml`);
        }
        say(`${green('✓')} ${report.views} views and ${report.logins} logins agree with governance.yml`);
      });
    });
}
