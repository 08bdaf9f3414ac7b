/**
 * `seglayer serve`: Cube, in-process on the warehouse, behind the gateway.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { Config } from '../config.ts';
import { provisionServingRole, servingAccess } from '../database/serving-role.ts';
import { loadAccessPolicy } from '../governance/access-policy.js';
import { governanceFile, jwtSettings } from './api-settings.ts';
import { createCubeAdapter, type CubeAdapter } from './cube-adapter.ts';
import { cubeSettingsSchema, type CubeSettings } from './cube-settings.js';
import { createGateway, API_BASE } from './gateway.ts';
import { createJwtVerifier, type JwtSettings } from './jwt-verifier.ts';
import { UserError } from '../errors/user-error.js';
import pg from 'pg';
import { createAnswerCache } from './answer-cache.ts';

export interface ApiServerOptions {
  /** The owner's connection; the API itself connects as SEGLAYER_API_ROLE, which this provisions. */
  databaseUrl: string;
  /** Overrides PORT; 0 picks a free port. */
  port?: number;
  host?: string;
  /** Accept requests without a token, as admin. Local exploration only. */
  dev?: boolean;
  /** Seconds between scheduled pre-aggregation refreshes (default SEGLAYER_REFRESH_SECONDS); 0 turns them off. */
  refreshSeconds?: number;
  log?: (line: string) => void;
}

export interface ApiServer {
  url: string;
  apiUrl: string;
  jwt: JwtSettings;
  cube: CubeAdapter;
  /** The database role Cube connects as, and the schemas it reads. */
  databaseRole: { name: string; schemas: string[]; rollupSchema: string };
  /** Closes once, however many ask (on a signal both `serve` and the embedded warehouse's handler do). */
  close(): Promise<void>;
}

export class CubeModelError extends UserError {}

/** The access policy file the configuration names. */
export { governanceFile, jwtSettings } from './api-settings.ts';

/** What cube.js is configured with, from the validated configuration. */
export function cubeSettingsOf(config: Config): CubeSettings {
  return Object.fromEntries(Object.keys(cubeSettingsSchema.shape).map((key) => [key, config[key as keyof Config]])) as CubeSettings;
}


export async function startApiServer(config: Config, options: ApiServerOptions): Promise<ApiServer> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const policy = loadAccessPolicy(governanceFile(config));
  const refreshSeconds = options.refreshSeconds ?? config.SEGLAYER_REFRESH_SECONDS;
  const jwt = jwtSettings(config);
  const access = servingAccess(config);
  const serving = await provisionServingRole({ ownerUrl: options.databaseUrl, secret: jwt.secret, ...access });
  for (const warning of serving.warnings) log(`warning: ${warning}`);
  const cube = await createCubeAdapter({
    projectRoot: config.projectRoot,
    // cube.js and the gateway read one policy file: the one the configuration names.
    settings: { ...cubeSettingsOf(config), SEGLAYER_GOVERNANCE_FILE: governanceFile(config) },
    databaseUrl: serving.url,
    apiSecret: jwt.secret,
    claimsOf: (req) => (req as { caller?: { claims: Record<string, unknown> } }).caller?.claims ?? {},
    refreshSeconds,
    log,
  });
  try {
    await cube.visibleMembers(); // compiles schema/ now, so a broken model fails the start, not the first query
  } catch (error) {
    await cube.close();
    throw new CubeModelError(`schema/ does not compile: ${(error as Error).message}`);
  }
  // Rollups are built before the first request: Cube 0.33 fails some of several concurrent
  // first queries on a rollup that does not exist yet ("table is not found after it was
  // successfully created", cube-js/cube#5858). With the scheduler off, the caller decides.
  if (refreshSeconds > 0) {
    log('building pre-aggregations before serving…');
    try {
      await cube.refreshPreAggregations();
    } catch (error) {
      await cube.close();
      throw error;
    }
  }
  // Which build is newest, read as the API's own role (it may read serving.model_freshness).
  const freshness = new pg.Pool({ connectionString: serving.url, max: 1, application_name: 'seglayer-api-freshness' });
  // An idle connection lost (a database restart) is an event on the pool: without a listener
  // it would end the process. The next read opens a new connection.
  freshness.on('error', (error) => log(`answer cache: lost its database connection (${error.message})`));
  const answers = createAnswerCache({
    entries: config.SEGLAYER_API_ANSWER_CACHE,
    freshnessMs: config.SEGLAYER_API_FRESHNESS_MS,
    // The newest successful model run, and the rollup tables Cube answers from (a rebuilt rollup is a new table).
    readBuild: async () => (await freshness.query(`select coalesce((select max(last_success_run_id) from serving.model_freshness), 0)
        || '/' || coalesce((select md5(string_agg(tablename, ',' order by tablename)) from pg_tables where schemaname = $1), '') as build`, [access.rollupSchema])).rows[0].build as string,
    modelVersion: () => cube.modelVersion(),
  });
  const app = await createGateway({
    cube,
    policy,
    answers,
    verifyToken: createJwtVerifier(jwt),
    rateLimit: config.SEGLAYER_API_RATE_LIMIT,
    bodyLimit: config.SEGLAYER_API_BODY_LIMIT,
    dev: options.dev ? { claims: { role: 'admin' } } : undefined,
    log,
  });
  const server: Server = createServer(app);
  server.keepAliveTimeout = 65_000;
  const host = options.host ?? '127.0.0.1';
  const wanted = options.port ?? config.PORT;
  try {
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(wanted, host, done);
    });
  } catch (error) {
    await cube.close();
    await freshness.end();
    if ((error as { code?: string }).code === 'EADDRINUSE') throw new CubeModelError(`port ${wanted} is in use: stop what runs there, or serve on another port (PORT=4001 or --port 4001)`);
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const url = `http://${host}:${port}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    apiUrl: `${url}${API_BASE}/v1`,
    jwt,
    cube,
    databaseRole: { name: serving.role, schemas: [...access.schemas, 'serving'], rollupSchema: access.rollupSchema },
    close() {
      return (closing ??= (async () => {
        server.closeAllConnections();
        await new Promise<void>((done) => server.close(() => done()));
        await cube.close();
        await freshness.end();
      })());
    },
  };
}
