// @ts-check
/**
 * The environment variables cube.js reads, as one zod schema. Plain JavaScript because
 * cube.js loads in the official Cube 1.x image too, which runs no TypeScript; src/config.ts
 * includes the same schema, so `seglayer` validates these variables with all the others
 * and hands cube.js typed values instead of letting it read the environment again.
 */
import { z } from 'zod';

/** @param {string} what */
const whole = (what) => z.coerce.number({ error: what }).int(what);

export const cubeSettingsSchema = z.object({
  /** Access policy file (rows and members by JWT claims), relative to the project root. */
  SEGLAYER_GOVERNANCE_FILE: z.string().min(1).default('governance.yml'),
  /** Schema Cube builds its rollups in (Cube's variable); the API role may write there and nowhere else. */
  CUBEJS_PRE_AGGREGATIONS_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lowercase schema name').default('cube_rollups'),
  /** Seconds between Cube's scheduled rollup refreshes; 0 turns the scheduler off. */
  SEGLAYER_REFRESH_SECONDS: whole('a whole number of seconds').min(0, 'a whole number of seconds').max(86_400, 'at most 86400 (a day)').default(60),
  /** Currency of the display-currency money members (e.g. revenue.net_revenue_display), at its rate in seeds/fx_rates.csv. */
  SEGLAYER_DISPLAY_CURRENCY: z.string().regex(/^[A-Z]{3}$/, 'an ISO currency code such as GBP').default('USD'),
  /** Port of Cube's SQL API (Postgres wire, for Metabase / Superset); unset keeps it off. Needs Cube's native module. */
  CUBEJS_PG_SQL_PORT: whole('a port number 1-65535').min(1, 'a port number 1-65535').max(65535, 'a port number 1-65535').optional(),
  /** The one SQL API login. */
  CUBEJS_SQL_USER: z.string().min(1).optional(),
  /** Its password. */
  CUBEJS_SQL_PASSWORD: z.string().min(1).optional(),
  /** Claims of that login as a JSON object (e.g. {"role":"analyst","region":"CA"}); none means the default role. */
  SEGLAYER_SQL_CLAIMS: z
    .string()
    .transform((text, ctx) => {
      try {
        const value = JSON.parse(text);
        if (value && typeof value === 'object' && !Array.isArray(value)) return /** @type {Record<string, unknown>} */ (value);
      } catch {
        // reported below
      }
      ctx.addIssue({ code: 'custom', message: 'a JSON object such as {"role":"analyst","region":"CA"}' });
      return z.NEVER;
    })
    .default({}),
});

/** @typedef {z.infer<typeof cubeSettingsSchema>} CubeSettings */

/**
 * Reads cube.js's variables from an environment (cube.js under the Cube 1.x image); an
 * empty variable counts as unset, and a bad one is named with what it should be.
 * @param {Record<string, string | undefined>} env
 * @returns {CubeSettings}
 */
export function readCubeSettings(env) {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = cubeSettingsSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new Error(`invalid configuration:\n${parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: expected ${issue.message}`).join('\n')}`);
  }
  return parsed.data;
}
