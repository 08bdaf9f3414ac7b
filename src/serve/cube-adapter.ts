/**
 * The one module that touches Cube's server API (pinned to 0.33, see
 * docs/architecture.md): it builds Cube's core from cube.js plus seglayer's
 * connection, mounts Cube's routes on the gateway's app, and answers which members a
 * caller may see. An upgrade of Cube is a change to this file.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Express, Request } from 'express';
import { createRequire } from 'node:module';
import type { CubeSettings } from './cube-settings.js';
import { SessionOncePostgresDriver } from './session-once-postgres-driver.ts';

// Cube 0.33 ships CommonJS only.
const require = createRequire(import.meta.url);
// Loading server-core loads its playground templates, which install source-map-support as
// the process's stack formatter: then every `.stack` read maps each frame through source
// maps, and Cube reads one per query (promise-timeout builds its TimeoutError up front).
// Node's own formatter (with tsx's source maps) is put back.
const prepareStackTrace = Error.prepareStackTrace;
const { CubejsServerCore } = require('@cubejs-backend/server-core');
Error.prepareStackTrace = prepareStackTrace;
const native: { isSupported(): boolean } = require('@cubejs-backend/native');

const USER_ERRORS = Symbol('seglayer user errors');

export interface CubeAdapterOptions {
  projectRoot: string;
  /** cube.js's settings, validated with the rest of the configuration. */
  settings: CubeSettings;
  databaseUrl: string;
  apiSecret: string;
  /** Claims the gateway verified for this request. */
  claimsOf: (req: Request) => Record<string, unknown>;
  /** Seconds between scheduled pre-aggregation refreshes; 0 turns the scheduler off. */
  refreshSeconds?: number;
  log?: (line: string) => void;
}

export interface VisibleMember {
  name: string;
  kind: 'measure' | 'dimension' | 'segment';
  type?: string;
}

export interface QueryPlan {
  sql: string;
  params: unknown[];
  preAggregations: { tableName: string }[];
}

export interface CubeAdapter {
  mount(app: Express): Promise<void>;
  /** Members of public cubes and views (before any role rules). */
  visibleMembers(): Promise<Map<string, VisibleMember>>;
  /** Port of Cube's SQL API (Postgres wire) when it runs, else why it does not. */
  sqlApi: { port: number } | { off: string };
  /**
   * Messages of the errors Cube judged the caller's (4xx) while serving this request. Its
   * GraphQL resolver passes on only the message, so the gateway needs this to answer 4xx.
   */
  userErrorsOf(req: Request): string[];
  /**
   * The SQL, parameters and rollups Cube would run for this query asked with these claims
   * (queryRewrite applied), without going through HTTP, where /v1/sql is for operators only.
   */
  planOf(query: Record<string, unknown>, claims: Record<string, unknown>): Promise<QueryPlan>;
  /** The data model's version: changes when a file under schema/ does (Cube then recompiles). */
  modelVersion(): string;
  /** Builds every pre-aggregation now (what the scheduler does in the background). */
  refreshPreAggregations(): Promise<void>;
  close(): Promise<void>;
}

/**
 * cube.js's options for these settings. Cube 1.x takes the default export (built from the
 * environment); seglayer calls its factory with the settings its configuration validated.
 */
export async function loadCubeConfig(projectRoot: string, settings: CubeSettings): Promise<Record<string, any>> {
  const module = await import(pathToFileURL(resolve(projectRoot, 'cube.js')).href);
  return typeof module.seglayerCubeOptions === 'function' ? module.seglayerCubeOptions(settings) : (module.default ?? module);
}

export async function createCubeAdapter(options: CubeAdapterOptions): Promise<CubeAdapter> {
  // No Cube Store in-process: rollups are built in PostgreSQL unless a model says otherwise.
  process.env.CUBEJS_EXTERNAL_DEFAULT ??= 'false';
  const config = await loadCubeConfig(options.projectRoot, options.settings);
  const log = options.log ?? (() => {});
  // Cube reads its model directory relative to the working directory.
  const schemaPath = relative(process.cwd(), resolve(options.projectRoot, config.schemaPath ?? 'schema')) || '.';
  // Cube decides "dev mode" from NODE_ENV at construction: build it as production so no
  // dev-only behaviour (debug info in answers, hidden members in /meta) is switched on.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  const drivers: { release(): Promise<void> }[] = [];
  const modelVersion = schemaFingerprint(resolve(options.projectRoot, config.schemaPath ?? 'schema'));
  const { value: core, intervals } = capturingIntervals(() => new CubejsServerCore(
    {
      ...config,
      schemaPath,
      dbType: 'postgres',
      driverFactory: () => {
        const driver = new SessionOncePostgresDriver({ connectionString: options.databaseUrl, maxPoolSize: 8 });
        drivers.push(driver);
        return driver;
      },
      apiSecret: options.apiSecret,
      // The gateway has verified the token already; Cube takes its claims as they are.
      checkAuth: (req: Request & { securityContext?: unknown }) => {
        req.securityContext = options.claimsOf(req);
      },
      // Recompile when a file under schema/ changes (e.g. a build wrote new segments).
      schemaVersion: modelVersion,
      devServer: false,
      telemetry: false,
      cacheAndQueueDriver: 'memory',
      scheduledRefreshTimer: options.refreshSeconds ?? config.scheduledRefreshTimer,
      logger: (message: string, params: Record<string, unknown>) => {
        if (params?.error && message !== "Internal Server Error") log(`cube: ${message}: ${String(params.error).split("\n")[0]}`);
      },
    },
    { isCubeConfigEmpty: false },
  ));
  if (nodeEnv === undefined) delete process.env.NODE_ENV;
  else process.env.NODE_ENV = nodeEnv;
  const backgroundContext = { securityContext: {}, requestId: 'seglayer-internal' };
  const membersByModel = new WeakMap<object, Map<string, VisibleMember>>();
  const sqlApi = await startSqlApi(core, config, options.settings);
  return {
    sqlApi: sqlApi.state,
    async mount(app) {
      await core.initApp(app);
      const apiGateway = core.apiGateway();
      keepVisibleMetaPerModel(apiGateway);
      const handleError = apiGateway.handleError.bind(apiGateway);
      apiGateway.handleError = (args: { context?: Record<PropertyKey, unknown>; res: (body: any, options?: { status?: number }) => unknown }) =>
        handleError({
          ...args,
          res: (body: any, answer?: { status?: number }) => {
            const status = answer?.status ?? 200;
            if (args.context && status >= 400 && status < 500 && typeof body?.error === 'string') {
              ((args.context[USER_ERRORS] as string[] | undefined) ??= []).push(body.error);
            }
            return args.res(body, answer);
          },
        });
    },
    planOf(query, claims) {
      return new Promise<QueryPlan>((resolvePlan, reject) => {
        void core.apiGateway().sql({
          query,
          context: { securityContext: claims, requestId: `seglayer-plan-${Date.now()}` },
          res: (body: any, answer?: { status?: number }) => {
            if (body?.error || (answer?.status ?? 200) >= 400) reject(new Error(String(body?.error ?? 'no plan')));
            else resolvePlan({ sql: body.sql.sql[0], params: body.sql.sql[1], preAggregations: body.sql.preAggregations });
          },
        });
      });
    },
    modelVersion,
    userErrorsOf(req) {
      return ((req as Request & { context?: Record<PropertyKey, unknown> }).context?.[USER_ERRORS] as string[] | undefined) ?? [];
    },
    async visibleMembers() {
      const compilerApi = await core.getCompilerApi(backgroundContext);
      const cubes: any[] = await compilerApi.metaConfig({ requestId: 'seglayer-meta' });
      // Cube returns the same array until it recompiles schema/: the gateway asks on every
      // request, so the map is built once per compiled model.
      const known = membersByModel.get(cubes);
      if (known) return known;
      const members = new Map<string, VisibleMember>();
      for (const cube of cubes) {
        if (!cube.isVisible) continue;
        for (const [kind, list] of [['measure', cube.config.measures], ['dimension', cube.config.dimensions], ['segment', cube.config.segments]] as const) {
          for (const member of list ?? []) if (member.isVisible) members.set(member.name, { name: member.name, kind, type: member.type });
        }
      }
      membersByModel.set(cubes, members);
      return members;
    },
    async refreshPreAggregations() {
      // A build that outlasts Cube's wait rejects with { error: 'Continue wait' } while it
      // goes on in Cube's queue; asking again waits for it (up to 30 minutes).
      const started = Date.now();
      for (;;) {
        try {
          return await core.runScheduledRefresh(backgroundContext, { throwErrors: true });
        } catch (error) {
          if ((error as { error?: unknown })?.error !== 'Continue wait') {
            throw error instanceof Error ? error : new Error(`building pre-aggregations failed: ${JSON.stringify(error)}`);
          }
          if (Date.now() - started > 30 * 60_000) throw new Error('pre-aggregations still building after 30 minutes');
          await new Promise((done) => setTimeout(done, 1000));
        }
      }
    },
    async close() {
      await sqlApi.stop();
      // shutdown() alone leaves the compiler-cache prune interval running, and nothing in
      // 0.33 clears the one its constructor starts to log request counts every minute: both
      // kept every process that had started Cube alive after close (`npm run bench -- --only api`).
      await core.beforeShutdown();
      await core.shutdown();
      for (const interval of intervals) clearInterval(interval);
      await Promise.all(drivers.map((driver) => driver.release()));
    },
  };
}

/**
 * Cube 0.33's /v1/load filters the whole compiled model down to its visible members on
 * every request, asking `getEnv('devMode')` once per member; each ask builds env-var's
 * accessors and `require`s a module through a full path resolution. Profiled at 10
 * clients that was half the API's CPU on a query Cube answered from its cache, and a
 * third on distinct queries (docs/architecture.md). The filtered model depends only on
 * the compiled model (the same array until Cube recompiles), dev mode (fixed for the
 * process) and whether the request was signed with the playground secret (never: the
 * gateway's tokens): it is kept per compiled model, and computed by Cube's own function.
 */
function keepVisibleMetaPerModel(apiGateway: { filterVisibleItemsInMeta(context: { signedWithPlaygroundAuthSecret?: boolean }, metaConfig: object): unknown }): void {
  const filter = apiGateway.filterVisibleItemsInMeta.bind(apiGateway);
  const kept = new WeakMap<object, unknown>();
  apiGateway.filterVisibleItemsInMeta = (context, metaConfig) => {
    if (context?.signedWithPlaygroundAuthSecret) return filter(context, metaConfig);
    if (!kept.has(metaConfig)) kept.set(metaConfig, filter(context, metaConfig));
    return kept.get(metaConfig);
  };
}

/**
 * Runs `construct` and returns the intervals it started with the global setInterval: Cube
 * 0.33's constructor starts one it keeps no handle to (request counts, every minute), so
 * close() could not stop it otherwise.
 */
function capturingIntervals<T>(construct: () => T): { value: T; intervals: ReturnType<typeof setInterval>[] } {
  const original = globalThis.setInterval;
  const intervals: ReturnType<typeof setInterval>[] = [];
  globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
    const interval = original(...args);
    intervals.push(interval);
    return interval;
  }) as typeof setInterval;
  try {
    return { value: construct(), intervals };
  } finally {
    globalThis.setInterval = original;
  }
}

/**
 * Cube's SQL API (Metabase, Superset) needs its native module, which cannot be installed
 * offline: it starts only when CUBEJS_PG_SQL_PORT is set and the module is present. Its
 * callers authenticate with CUBEJS_SQL_USER / CUBEJS_SQL_PASSWORD; cube.js's checkSqlAuth
 * gives them their claims, and queryRewrite governs them like any other caller.
 */
async function startSqlApi(core: any, config: Record<string, any>, settings: CubeSettings): Promise<{ state: { port: number } | { off: string }; stop(): Promise<void> }> {
  const port = settings.CUBEJS_PG_SQL_PORT;
  if (!port) return { state: { off: 'CUBEJS_PG_SQL_PORT is not set' }, stop: async () => {} };
  if (!native.isSupported()) return { state: { off: "@cubejs-backend/native is not installed (its binary downloads from GitHub)" }, stop: async () => {} };
  const sqlServer = core.initSQLServer();
  await sqlServer.init({ ...config, pgSqlPort: port, sqlUser: settings.CUBEJS_SQL_USER, sqlPassword: settings.CUBEJS_SQL_PASSWORD });
  return { state: { port }, stop: () => sqlServer.close() };
}

/** Names, sizes and times of the model files; looked at most once a second. */
function schemaFingerprint(dir: string): () => string {
  let checkedAt = 0;
  let fingerprint = '';
  const walk = (path: string): string[] =>
    readdirSync(path, { withFileTypes: true }).flatMap((entry) => {
      const full = join(path, entry.name);
      if (entry.isDirectory()) return walk(full);
      const stat = statSync(full);
      return [`${full}:${stat.size}:${stat.mtimeMs}`];
    });
  return () => {
    if (Date.now() - checkedAt > 1000) {
      fingerprint = walk(dir).sort().join('|');
      checkedAt = Date.now();
    }
    return fingerprint;
  };
}
