/**
 * The one place seglayer reads its environment. Values come from the process
 * environment, optionally seeded from a `.env` file in the project root; every
 * value is validated here so the rest of the code trusts typed config.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { cubeSettingsSchema } from './serve/cube-settings.js';
import { UserError } from './errors/user-error.js';

const configSchema = z.object({
  /** PostgreSQL connection string. When unset, seglayer starts its embedded PostgreSQL. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'a postgres:// or postgresql:// connection URL')
    .optional(),
  /** Directory for local state: the embedded cluster, demo files, logs. Git-ignored. */
  SEGLAYER_HOME: z.string().min(1).default('.seglayer'),
  /** Port for the embedded PostgreSQL, stable so saved connections keep working; when it is taken a free one is used (and said); 0 always picks a free one. */
  SEGLAYER_PG_PORT: z.coerce.number({ error: 'a port number 0-65535' }).int('a port number 0-65535').min(0, 'a port number 0-65535').max(65535, 'a port number 0-65535').default(54329),
  /** Time zone used to read timestamps that carry none (e.g. `2011-12-09 12:50:00`). */
  SEGLAYER_TIMEZONE: z
    .string()
    .refine((tz) => { try { new Intl.DateTimeFormat('en', { timeZone: tz }); return true; } catch { return false; } }, 'an IANA time zone such as UTC or Europe/London')
    .default('UTC'),
  /** Directory of model files, relative to the project root. */
  SEGLAYER_MODELS_DIR: z.string().min(1).default('models'),
  /** Memory per sort/hash in build sessions (PostgreSQL work_mem); big joins and windows need more than the default. */
  SEGLAYER_WORK_MEM: z.string().regex(/^\d+(kB|MB|GB)$/, 'a size such as 256MB').default('256MB'),
  /** Rows per progress report while loading. */
  SEGLAYER_PROGRESS_EVERY: z.coerce.number({ error: 'a positive whole number' }).int('a positive whole number').positive('a positive whole number').default(250_000),

  // --- the semantic API (`seglayer serve`); Cube's own variable names where Cube has one ---
  /** Secret that signs API tokens (HS*). When unset, a local one is created under SEGLAYER_HOME. */
  CUBEJS_API_SECRET: z.string().min(32, 'at least 32 characters (e.g. `openssl rand -hex 32`)').optional(),
  /** The one JWT algorithm accepted; pinned so `alg: none` or a swapped algorithm is refused. */
  CUBEJS_JWT_ALGS: z.enum(['HS256', 'HS384', 'HS512'], { error: 'one of HS256, HS384, HS512' }).default('HS256'),
  /** When set, tokens must carry this `iss`. */
  CUBEJS_JWT_ISSUER: z.string().min(1).optional(),
  /** When set, tokens must carry this `aud`. */
  CUBEJS_JWT_AUDIENCE: z.string().min(1).optional(),
  /** Oldest API token accepted, counted from its `iat` (e.g. 12h, 7d); longer lifetimes are cut short. */
  SEGLAYER_API_MAX_TOKEN_AGE: z.string().regex(/^\d+(s|m|h|d)$/, 'a span such as 12h or 7d').default('7d'),
  /** PostgreSQL role the API connects as: reads the served schemas, writes only its rollup schema. Created by `seglayer serve` when missing. */
  SEGLAYER_API_ROLE: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lowercase PostgreSQL role name').default('seglayer_api'),
  /** Schemas the API may read (comma-separated); `serving` (refresh keys) is always added. */
  SEGLAYER_API_SCHEMAS: z.string().regex(/^[a-z_][a-z0-9_]*(,[a-z_][a-z0-9_]*)*$/, 'comma-separated schema names such as core,segments').default('core,segments,marts'),
  /** HTTP port of the API (Cube's convention). */
  PORT: z.coerce.number({ error: 'a port number 0-65535' }).int('a port number 0-65535').min(0, 'a port number 0-65535').max(65535, 'a port number 0-65535').default(4000),
  /** Requests per minute allowed to one token. */
  SEGLAYER_API_RATE_LIMIT: z.coerce.number({ error: 'a positive whole number' }).int('a positive whole number').positive('a positive whole number').default(600),
  /** Largest request body accepted, in bytes. */
  SEGLAYER_API_BODY_LIMIT: z.coerce.number({ error: 'a positive whole number' }).int('a positive whole number').positive('a positive whole number').default(64 * 1024),
  /** Answers of /v1/load the gateway keeps for repeated queries (src/serve/answer-cache.ts); 0 keeps none. */
  SEGLAYER_API_ANSWER_CACHE: z.coerce.number({ error: 'a whole number >= 0' }).int('a whole number >= 0').min(0, 'a whole number >= 0').default(1000),
  /** Milliseconds the API may go without asking which build is newest (keys of kept answers); 0 asks on every request. */
  SEGLAYER_API_FRESHNESS_MS: z.coerce.number({ error: 'a whole number >= 0' }).int('a whole number >= 0').min(0, 'a whole number >= 0').default(1000),
  /** Segment definitions, relative to the project root (read once by src/project/project-loader.ts). */
  SEGLAYER_SEGMENTS_DIR: z.string().min(1).default('segments'),
  // --- data-quality checks (src/quality/), run by `test` and at the end of `build` ---
  /** A raw source whose newest row is older than this is a warning, e.g. 3d. */
  SEGLAYER_FRESHNESS_WARN_AFTER: z.string().regex(/^\d+\s*[smhdw]$/, 'a span such as 36h or 3d').default('3d'),
  /** ... and older than this an error (non-zero exit); unset, staleness only warns. */
  SEGLAYER_FRESHNESS_ERROR_AFTER: z.string().regex(/^\d+\s*[smhdw]$/, 'a span such as 7d').optional(),
  /** Robust score above which a day's rows of one event are an anomaly (docs/statistics.md). */
  SEGLAYER_VOLUME_THRESHOLD: z.coerce.number({ error: 'a positive number' }).positive('a positive number').default(6),
  /** warn: anomalies are recorded and printed; fail: they also make build and test exit non-zero. */
  SEGLAYER_VOLUME_SEVERITY: z.enum(['warn', 'fail'], { error: 'warn or fail' }).default('warn'),
  /** Out-of-sample check of segment claims (marts.segment_validation): the holdout is N days of signups… */
  SEGLAYER_VALIDATION_HOLDOUT_DAYS: z.coerce.number({ error: 'a positive whole number' }).int('a positive whole number').positive('a positive whole number').default(90),
  /** …each user measured over their first N days after signup (so the holdout signup window ends N days before as_of_at)… */
  SEGLAYER_VALIDATION_FOLLOW_UP_DAYS: z.coerce.number({ error: 'a positive whole number' }).int('a positive whole number').positive('a positive whole number').default(60),
  /** …and the training window the N days before the holdout. */
  SEGLAYER_VALIDATION_TRAINING_DAYS: z.coerce.number({ error: 'a positive whole number' }).int('a positive whole number').positive('a positive whole number').default(180),
  /** Funnel definitions (funnels/*.yml), relative to the project root; absent directory means no funnels. */
  SEGLAYER_FUNNELS_DIR: z.string().min(1).default('funnels'),
  /** Experiment definitions, relative to the project root (read once by src/project/project-loader.ts). */
  SEGLAYER_EXPERIMENTS_DIR: z.string().min(1).default('experiments'),
  /** Changes that were not randomised (changes/*.yml), relative to the project root; absent directory means none. */
  SEGLAYER_CHANGES_DIR: z.string().min(1).default('changes'),
  /** Survey answers as features (features.user_traits), relative to the project root; optional. */
  SEGLAYER_TRAITS_FILE: z.string().min(1).default('traits.yml'),
  /** Segments with fewer members are flagged too small to read in segments.summary. */
  SEGLAYER_MIN_SEGMENT_SIZE: z.coerce.number({ error: 'a positive whole number' }).int('a positive whole number').positive('a positive whole number').default(100),
  /** Outcome types that count as orders (comma-separated) for order features, first purchase and RFM. */
  SEGLAYER_ORDER_TYPES: z.string().regex(/^(purchase|upgrade|downgrade)(,(purchase|upgrade|downgrade))*$/, 'comma-separated outcome types among purchase, upgrade, downgrade').default('purchase,upgrade'),
  /** Whether an order line needs positive revenue (price > 0, the usual Online Retail cleaning); `false` counts zero-price lines too. */
  SEGLAYER_ORDER_NEEDS_REVENUE: z.enum(['true', 'false'], { error: 'true or false' }).default('true'),
  /** Fixes the build's reference time (ISO timestamp); unset, it is midnight UTC after the last event or outcome. */
  SEGLAYER_REFERENCE_TIME: z.iso.datetime({ offset: true, error: 'an ISO timestamp such as 2011-12-10T00:00:00Z' }).optional(),
  // --- what cube.js reads (SEGLAYER_GOVERNANCE_FILE, CUBEJS_PRE_AGGREGATIONS_SCHEMA, SEGLAYER_REFRESH_SECONDS,
  // the SQL API's CUBEJS_PG_SQL_PORT / CUBEJS_SQL_USER / CUBEJS_SQL_PASSWORD / SEGLAYER_SQL_CLAIMS): one schema,
  // in plain JS because cube.js also runs under the official Cube 1.x image ---
  ...cubeSettingsSchema.shape,
});

export type Config = Readonly<z.infer<typeof configSchema> & { projectRoot: string; homeDir: string; modelsDir: string }>;

export class ConfigError extends UserError {}

/** Parse and validate configuration; throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, projectRoot = process.cwd()): Config {
  const dotenv = resolve(projectRoot, '.env');
  if (env === process.env && existsSync(dotenv)) process.loadEnvFile(dotenv);
  // An empty variable means "unset", as in most shells' `FOO= cmd` usage.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => {
      const name = issue.path.join('.');
      return { code: issue.code, path: [name], message: `expected ${issue.message} (it is ${JSON.stringify(env[name] ?? '')})` };
    }), { heading: 'invalid configuration' });
  }
  const homeDir = resolve(projectRoot, parsed.data.SEGLAYER_HOME);
  const modelsDir = resolve(projectRoot, parsed.data.SEGLAYER_MODELS_DIR);
  return Object.freeze({ ...parsed.data, projectRoot, homeDir, modelsDir });
}
