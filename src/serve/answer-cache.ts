/**
 * Answers of /v1/load kept in the gateway, so a repeated query skips Cube's pipeline
 * (compiling the query, queryRewrite, refresh-key checks, its own result cache) while
 * every governance check still runs on the request first (token, rate limit, query
 * guard, hidden members — the gateway's middleware — and the access policy's rewrite,
 * which makes the key).
 *
 * An answer is found only under the same
 *  - query as the access policy rewrote it for this caller (row filters included),
 *  - claims (all of them, except the ones that only say when the token was minted),
 *  - build: the newest successful model run (serving.model_freshness, what the rollups'
 *    refresh keys read) and the rollup tables built, asked at most every `freshnessMs`,
 *  - data model: the fingerprint of schema/ Cube recompiles on.
 * Entries are few and small (least recently used go first), live at most 10 s, and only
 * 200 answers without an error are kept.
 */
import { createHash } from 'node:crypto';

/** Claims that differ between two tokens of one caller and decide nothing about the answer. */
const TOKEN_TIME_CLAIMS = new Set(['iat', 'exp', 'nbf', 'jti']);
/**
 * An answer is served for at most this long: Cube may hand over an answer from its own
 * cache that it would renew within its refresh-key check (10 s for queries on tables), and
 * a kept copy must not outlive that.
 */
const ANSWER_MAX_AGE_MS = 10_000;
/** An answer larger than this is not kept (a big export is not what a dashboard repeats). */
const MAX_ANSWER_BYTES = 1 << 20;

export interface AnswerCacheOptions {
  /** Most answers kept; 0 keeps none. */
  entries: number;
  /** How old the build stamp may be before it is asked again; 0 asks on every request. */
  freshnessMs: number;
  /** The newest successful build, e.g. max(last_success_run_id) of serving.model_freshness. */
  readBuild: () => Promise<string>;
  /** The data model's version (changes when schema/ does). */
  modelVersion: () => string;
}

export interface AnswerCache {
  readonly enabled: boolean;
  /** The key of a request: its rewritten queries, the caller's claims, the build and the data model. */
  keyOf(request: { queries: unknown[]; queryType?: string }, claims: Record<string, unknown>): Promise<string>;
  get(key: string): string | undefined;
  set(key: string, answer: string): void;
}

export function createAnswerCache(options: AnswerCacheOptions): AnswerCache {
  const answers = new Map<string, { answer: string; keptAt: number }>();
  const build = latest(options.readBuild, options.freshnessMs);
  return {
    enabled: options.entries > 0,
    async keyOf(request, claims) {
      const identity = Object.fromEntries(Object.entries(claims).filter(([name]) => !TOKEN_TIME_CLAIMS.has(name)));
      const text = canonicalJson({ request, claims: identity, build: await build(), model: options.modelVersion() });
      return createHash('sha256').update(text).digest('base64url');
    },
    get(key) {
      const kept = answers.get(key);
      if (kept === undefined) return undefined;
      answers.delete(key);
      if (performance.now() - kept.keptAt > ANSWER_MAX_AGE_MS) return undefined;
      answers.set(key, kept); // most recently used last
      return kept.answer;
    },
    set(key, answer) {
      if (options.entries <= 0 || answer.length > MAX_ANSWER_BYTES) return;
      answers.delete(key);
      answers.set(key, { answer, keptAt: performance.now() });
      while (answers.size > options.entries) answers.delete(answers.keys().next().value!);
    },
  };
}

/**
 * `read()` at most every `maxAgeMs`; concurrent callers share one read. With 0, every call
 * waits for a read that started after it was made, so a build committed before a request
 * is always seen by it.
 */
function latest(read: () => Promise<string>, maxAgeMs: number): () => Promise<string> {
  let value: string | undefined;
  let readAt = 0;
  let reading: { started: number; promise: Promise<string> } | undefined;
  const start = () => {
    const started = performance.now();
    const promise = read()
      .then((v) => {
        [value, readAt] = [v, started];
        return v;
      })
      .finally(() => {
        if (reading?.promise === promise) reading = undefined;
      });
    reading = { started, promise };
    return promise;
  };
  return async () => {
    const asked = performance.now();
    if (maxAgeMs > 0) {
      if (value !== undefined && asked - readAt < maxAgeMs) return value;
      return reading?.promise ?? start(); // a read under way is younger than maxAgeMs
    }
    while (reading && reading.started < asked) await reading.promise.catch(() => undefined);
    return reading?.promise ?? start();
  };
}

/** JSON with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v);
}
