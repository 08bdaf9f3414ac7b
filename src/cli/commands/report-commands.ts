/**
 * `seglayer report`: the static HTML report from the API with a token (src/report/), and
 * `seglayer docs`: the static project site with lineage (src/docs/).
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Knex } from 'knex';
import type { Config } from '../../config.ts';
import { writeDocs, type DocsResult } from '../../docs/docs-writer.ts';
import { UserError } from '../../errors/user-error.js';
import { loadProject } from '../../project/project-loader.ts';
import { reportApi } from '../../report/report-api.ts';
import { writeReport, type ReportResult } from '../../report/report-writer.ts';
import { FEATURES_MODEL } from '../../segments/feature-catalog.ts';
import { segmentColumns } from '../../segments/segment-cube.ts';
// Cube loads only when a report is actually written (`seglayer --help` must not import it).
import type { ApiServer } from '../../serve/api-server.ts';
import { governanceFile } from '../../serve/api-settings.ts';
import { AccessDenied, accessFor, loadAccessPolicy } from '../../governance/access-policy.js';
import { mintToken } from '../../serve/token-minter.ts';
import { green, say } from '../../terminal/terminal-output.ts';
import { withSession } from '../session.ts';

export class ReportCommandError extends UserError {}

type ReportAuth = { token?: string; claims?: Record<string, unknown> };

/** Writes the report through a running API, with a token (or claims, minted with the API's key). */
export async function reportFromServer(config: Config, server: ApiServer, outDir: string, auth: ReportAuth): Promise<ReportResult> {
  const project = await loadProject(config);
  const claims = auth.claims ?? { role: 'admin' };
  const token = auth.token ?? (await mintToken(server.jwt, { claims, expiresIn: '1h' }));
  return writeReport({ api: reportApi(server.apiUrl, token), segmentColumns: segmentColumns(project.segments), outDir, audience: auth.token ? 'the holder of the given token' : `claims ${JSON.stringify(claims)}` });
}

/** The same through an API started on a free port for the purpose. */
export async function reportOnWarehouse(config: Config, databaseUrl: string, outDir: string, auth: ReportAuth): Promise<ReportResult> {
  const { startApiServer } = await import('../../serve/api-server.ts');
  const server = await startApiServer(config, { databaseUrl, port: 0, refreshSeconds: 0, log: () => {} });
  try {
    return await reportFromServer(config, server, outDir, auth);
  } finally {
    await server.close();
  }
}

export async function docsOnWarehouse(config: Config, knex: Knex, outDir: string): Promise<DocsResult> {
  const project = await loadProject(config);
  const { rows } = await knex.raw(`select to_regclass('segments.summary') is not null as built`);
  const sizes = rows[0].built ? (await knex.raw(`select definition, segment, members, share_of_users::float8 as share from segments.summary order by 1, 2`)).rows : [];
  return writeDocs({ projectRoot: config.projectRoot, models: project.models, segments: project.segments, featuresModel: FEATURES_MODEL, sizes, outDir });
}

function openFile(file: string): void {
  const child = spawn('xdg-open', [file], { detached: true, stdio: 'ignore' });
  child.on('error', () => say(`  (could not open a browser: open ${file} yourself)`));
  child.unref();
}

export function registerReportCommands(program: Command): void {
  program
    .command('report')
    .description('write a static HTML report (charts as SVG, works offline) from the API, showing what a token may see')
    .option('--out <dir>', 'output directory (default <SEGLAYER_HOME>/report)')
    .option('--token <token>', 'an API token; the report shows what its holder may see')
    .option('--claims <json>', 'claims for a token minted locally (default {"role":"admin"})')
    .option('--open', 'open the report in a browser')
    .action(async (flags: { out?: string; token?: string; claims?: string; open?: boolean }) => {
      if (flags.token && flags.claims) throw new ReportCommandError('give --token or --claims, not both');
      let claims: Record<string, unknown> | undefined;
      if (flags.claims) {
        try {
          claims = JSON.parse(flags.claims);
        } catch (error) {
          throw new ReportCommandError(`--claims is not JSON: ${(error as Error).message}`);
        }
        if (!claims || typeof claims !== 'object' || Array.isArray(claims)) throw new ReportCommandError('--claims must be a JSON object');
      }
      await withSession(async ({ config, warehouse }) => {
        if (claims) {
          try {
            accessFor(loadAccessPolicy(governanceFile(config)), claims);
          } catch (error) {
            if (error instanceof AccessDenied) throw new ReportCommandError(`the API would refuse these claims: ${error.message}`);
            throw error;
          }
        }
        const result = await reportOnWarehouse(config, warehouse.url, resolve(flags.out ?? resolve(config.homeDir, 'report')), { token: flags.token, claims });
        const missing = result.sections.filter((s) => s.status === 'not_available');
        say(`${green('✓')} report: ${result.file}  (${result.sections.length - missing.length} sections${missing.length ? `; not available yet: ${missing.map((s) => s.title).join(', ')}` : ''})`);
        if (flags.open) openFile(result.file);
      });
      // Cube 0.33 keeps timers after its server is closed, which would hold the process open.
      process.exit(0);
    });

  program
    .command('docs')
    .description('write a static site of the project: models, columns, SQL, lineage, segments')
    .option('--out <dir>', 'output directory (default <SEGLAYER_HOME>/docs)')
    .action(async (flags: { out?: string }) => {
      await withSession(async ({ config, knex }) => {
        const result = await docsOnWarehouse(config, knex, resolve(flags.out ?? resolve(config.homeDir, 'docs')));
        say(`${green('✓')} docs: ${result.index}  (${result.pages.length} pages)`);
      });
    });
}
