/**
 * `npm start`: the whole first-run path on the embedded default. Each step is
 * one entry in the list below; model building and Cube serving join it as
 * they land (see docs/architecture.md).
 */
import type { Command } from 'commander';
import { runDemo } from './demo-command.ts';
import { printEvent, printSummary } from './model-commands.ts';
import { writeStatisticsAfterBuild } from '../../project/statistics-after-build.ts';
import { runModels } from '../../models/model-runner.ts';
import { loadProject } from '../../project/project-loader.ts';
import { TABLE_CONTRACTS } from '../../load/table-contracts.ts';
import { mintToken } from '../../serve/token-minter.ts';
import { serveUntilStopped } from './serve-command.ts';
import { docsOnWarehouse, reportFromServer } from './report-commands.ts';
import { resolve } from 'node:path';
import { withSession, type Session } from '../session.ts';
import { segmentValueRows, segmentValueTable } from '../segment-value-table.ts';
import { bold, count, dim, green, say, table } from '../../terminal/terminal-output.ts';

const DEMO_USERS = 5000;
const DEMO_SEED = 42;

async function rawIsEmpty({ knex }: Session): Promise<boolean> {
  const { rows } = await knex.raw(`select not exists (select 1 from raw.events) and not exists (select 1 from raw.outcomes) as empty`);
  return rows[0].empty;
}

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('first run: start the warehouse, apply migrations, load demo data if the raw tables are empty, build all models, serve the API')
    .action(async () => {
      await withSession(async (session) => {
        const { warehouse, config, knex } = session;
        say(`${green('✓')} warehouse: ${warehouse.location}`);
        say(`${green('✓')} migrations applied`);
        if (await rawIsEmpty(session)) {
          await runDemo(warehouse.url, config, DEMO_USERS, DEMO_SEED);
          say(`${green('✓')} demo data loaded`);
        } else {
          say(`${green('✓')} raw tables already hold data: demo skipped`);
        }
        say(bold('\nbuilding models'));
        const project = await loadProject(config);
        const summary = await runModels(knex, warehouse.url, project.models, { onEvent: printEvent });
        printSummary(summary);
        if (!summary.ok) {
          process.exitCode = 1;
          return;
        }
        say(`${green('✓')} models built: ${summary.results.map((r) => r.model).join(', ')}`);
        for (const w of await writeStatisticsAfterBuild(knex, project, summary)) say(`${green('✓')} ${w.table}: ${w.rows} rows for ${w.of}`);
        say(bold('\nraw tables'));
        for (const table of Object.keys(TABLE_CONTRACTS)) {
          const { rows } = await knex.raw(`select count(*)::int as n from ??`, [table]);
          say(`  ${table.padEnd(28)} ${count(rows[0].n).padStart(10)}`);
        }
        say(bold('\nsegments') + dim(' (segments/*.yml; segments.summary)'));
        const { rows: segments } = await knex.raw(`select definition, segment, members, round(100 * share_of_users, 1) as pct, is_too_small from segments.summary order by definition, segment`);
        for (const s of segments) say(`  ${`${s.definition}${s.segment === s.definition ? '' : `.${s.segment}`}`.padEnd(36)} ${count(s.members).padStart(8)} ${`${s.pct}%`.padStart(6)}${s.is_too_small ? dim('  too small to read') : ''}`);
        say(bold('\nsegment value') + dim(' (marts.segment_value, revenue per user vs all other users; verdict: marts.segment_validation)'));
        say(table(segmentValueTable(await segmentValueRows(knex))).replace(/^/gm, '  '));
        say(bold('\nnext'));
        say(`  psql "$(npm run -s seglayer -- db url --show-password)"   ${dim('# while this runs; or `db serve` to keep only PostgreSQL up')}`);
        say(`  npm run seglayer -- load <file> --into events  ${dim('# load your own CSV / NDJSON (gzip too)')}`);
        say(`  npm run seglayer -- load ../shared/data/online_retail/online_retail.csv.gz --mapping mappings/online_retail.yml`);
        say(`  npm run seglayer -- build +core.dim_users        ${dim('# rebuild a model and what it reads; see also ls, test, compile')}`);
        say(`  npm run seglayer -- segments preview rfm       ${dim('# a segment now; see also segments ls, show, validate')}`);
        say(`  npm run seglayer -- token --claims '{"role":"admin"}'  ${dim('# mint a token; roles and row rules are in governance.yml')}`);
        say(bold('\nserving'));
        const { startApiServer } = await import('../../serve/api-server.ts');
        const server = await startApiServer(config, { databaseUrl: warehouse.url });
        const docs = await docsOnWarehouse(config, knex, resolve(config.homeDir, 'docs'));
        say(`${green('✓')} docs (models, lineage, segments): ${bold(docs.index)}`);
        const report = await reportFromServer(config, server, resolve(config.homeDir, 'report'), { claims: { role: 'admin' } });
        say(`${green('✓')} report (charts from the API as role admin; \`seglayer report --claims\` for others): ${bold(report.file)}`);
        const token = await mintToken(server.jwt, { claims: { role: 'analyst', region: 'CA' }, expiresIn: '24h' });
        await serveUntilStopped(server, token);
      });
    });
}
