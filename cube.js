/**
 * Cube configuration, shared by `seglayer serve` (embedded Cube 0.33, behind seglayer's
 * gateway) and the official Cube 1.x image (mount this directory as /cube/conf).
 * Keep to options both versions accept; connection and JWT settings come from Cube's
 * own environment variables (CUBEJS_DB_*, CUBEJS_API_SECRET, CUBEJS_JWT_*).
 *
 * The options are built from typed settings (src/serve/cube-settings.js): `seglayer serve`
 * passes the ones its validated configuration holds; the 1.x image reads the environment.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAccessPolicy, rewriteQuery } from './src/governance/access-policy.js';
import { readCubeSettings } from './src/serve/cube-settings.js';
import { displayCurrency, displayCurrencyRepository } from './src/serve/display-currency.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** @param {import('./src/serve/cube-settings.js').CubeSettings} settings */
export function seglayerCubeOptions(settings) {
  const policy = loadAccessPolicy(path.resolve(here, settings.SEGLAYER_GOVERNANCE_FILE));
  const display = displayCurrency(path.resolve(here, 'seeds/fx_rates.csv'), settings.SEGLAYER_DISPLAY_CURRENCY);
  return {
    schemaPath: 'schema',
    dbType: 'postgres',
    // The model files with the display currency and its rate put in (src/serve/display-currency.js).
    repositoryFactory: () => displayCurrencyRepository(path.resolve(here, 'schema'), display),

    // Rollups live in PostgreSQL beside the models (CUBEJS_EXTERNAL_DEFAULT=true moves them
    // to Cube Store in production); refresh keys in schema/ follow serving.model_freshness.
    preAggregationsSchema: settings.CUBEJS_PRE_AGGREGATIONS_SCHEMA,
    scheduledRefreshTimer: settings.SEGLAYER_REFRESH_SECONDS,

    // Query checks, row filters and hidden members from governance.yml, applied to every
    // REST, GraphQL and SQL API query after the JWT is verified.
    /** @param {any} query @param {{ securityContext?: Record<string, unknown> }} context */
    queryRewrite: (query, { securityContext }) => rewriteQuery(policy, query, securityContext),

    // SQL API (Metabase, Superset): one login, CUBEJS_SQL_USER / CUBEJS_SQL_PASSWORD, whose
    // claims (role, region, ...) are SEGLAYER_SQL_CLAIMS; none means the default role.
    /** @param {unknown} _request @param {string} user */
    checkSqlAuth: async (_request, user) => {
      if (!settings.CUBEJS_SQL_USER || user !== settings.CUBEJS_SQL_USER) throw new Error(`unknown SQL API user "${user}"`);
      return { password: settings.CUBEJS_SQL_PASSWORD, securityContext: settings.SEGLAYER_SQL_CLAIMS };
    },
  };
}

export default seglayerCubeOptions(readCubeSettings(process.env));
