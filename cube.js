/**
 * Cube configuration, shared by `seglayer serve` (embedded Cube 0.33, behind seglayer's
 * gateway) and the official Cube 1.x image (mount this directory as /cube/conf).
 * Keep to options both versions accept; connection and JWT settings come from Cube's
 * own environment variables (CUBEJS_DB_*, CUBEJS_API_SECRET, CUBEJS_JWT_*).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAccessPolicy, rewriteQuery } from './src/governance/access-policy.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const policy = loadAccessPolicy(path.resolve(here, process.env.SEGLAYER_GOVERNANCE_FILE ?? 'governance.yml'));

export default {
  schemaPath: 'schema',
  dbType: 'postgres',

  // Rollups live in PostgreSQL beside the models (CUBEJS_EXTERNAL_DEFAULT=true moves them
  // to Cube Store in production); refresh keys in schema/ follow ops.model_runs.
  preAggregationsSchema: process.env.CUBEJS_PRE_AGGREGATIONS_SCHEMA ?? 'cube_rollups',
  scheduledRefreshTimer: Number(process.env.SEGLAYER_REFRESH_SECONDS ?? 60),

  // Row filters and hidden members from governance.yml, applied to every REST, GraphQL
  // and SQL API query after the JWT is verified.
  /** @param {any} query @param {{ securityContext?: Record<string, unknown> }} context */
  queryRewrite: (query, { securityContext }) => rewriteQuery(policy, query, securityContext),

  // SQL API (Metabase, Superset): one login, CUBEJS_SQL_USER / CUBEJS_SQL_PASSWORD, whose
  // claims (role, region, ...) are SEGLAYER_SQL_CLAIMS as JSON; none means the default role.
  /** @param {unknown} _request @param {string} user */
  checkSqlAuth: async (_request, user) => {
    if (!process.env.CUBEJS_SQL_USER || user !== process.env.CUBEJS_SQL_USER) throw new Error(`unknown SQL API user "${user}"`);
    return { password: process.env.CUBEJS_SQL_PASSWORD, securityContext: JSON.parse(process.env.SEGLAYER_SQL_CLAIMS ?? '{}') };
  },

};
