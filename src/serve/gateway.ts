/**
 * The gateway in front of Cube's routes (see ../shared/ARCHITECTURE.md, "Cube version"):
 * known routes only, bounded bodies, strict JWT, a per-token rate limit, query bodies
 * checked against a schema and the access policy before Cube sees them, and errors that
 * never carry a stack trace.
 */
import { createHash, randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { MemoryStore, rateLimit } from 'express-rate-limit';
import type { JWTPayload } from 'jose';
import { AccessDenied, accessFor, isHidden, membersOf, refusalOfMembers, rewriteQuery, type AccessPolicy, type CallerAccess } from '../governance/access-policy.js';
import type { AnswerCache } from './answer-cache.ts';
import type { CubeAdapter, VisibleMember } from './cube-adapter.ts';
import { QueryRefused, checkQuery, jsonNestingDepth } from '../governance/query-guard.js';
import { GraphqlRefused, checkGraphqlDocument } from './graphql-guard.ts';
import { TokenRejected, tokenFromHeader } from './jwt-verifier.ts';
import { firstIssue, graphqlRequest, loadRequest } from './query-schema.ts';

export const API_BASE = '/cubejs-api';

export interface GatewayOptions {
  cube: CubeAdapter;
  policy: AccessPolicy;
  verifyToken: (token: string) => Promise<JWTPayload>;
  /** Requests per minute for one token. */
  rateLimit: number;
  /** Largest body accepted, in bytes. */
  bodyLimit: number;
  /** Answers of /v1/load kept for repeated queries (see answer-cache.ts); none when absent. */
  answers?: AnswerCache;
  /** No token needed: every request runs with `devClaims`. Only when asked for. */
  dev?: { claims: Record<string, unknown> };
  log?: (line: string) => void;
}

interface Caller {
  /** Who the caller is for the rate limit: the verified claims, not the token's text. */
  identity: string;
  claims: Record<string, unknown>;
  access: CallerAccess;
}
type GatewayRequest = Request & { caller?: Caller; requestId?: string };

/** Routes that take a Cube query, in the query string (GET) or the body (POST). */
const QUERY_ROUTES = ['/v1/load', '/v1/sql', '/v1/dry-run'].map((p) => API_BASE + p);
const LOAD_ROUTE = `${API_BASE}/v1/load`;
/** Says whether an answer of /v1/load came from the gateway's answer cache ("cache") or from Cube ("cube"). */
export const ANSWER_SOURCE_HEADER = 'x-seglayer-answer';
const ROUTES: Record<string, string[]> = {
  '/livez': ['GET'],
  '/readyz': ['GET'],
  [`${API_BASE}/v1/meta`]: ['GET'],
  [`${API_BASE}/graphql`]: ['POST'],
  ...Object.fromEntries(QUERY_ROUTES.map((route) => [route, ['GET', 'POST']])),
};
const PUBLIC_ROUTES = new Set(['/livez', '/readyz']);
/** Routes that show generated SQL (internal table names, rollup SQL across all rows). */
const INSPECTION_ROUTES = new Set([`${API_BASE}/v1/sql`, `${API_BASE}/v1/dry-run`]);
/** Deepest JSON nesting accepted in a body or a query parameter (a filter 8 levels deep needs about 20). */
const MAX_JSON_DEPTH = 32;

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export async function createGateway(options: GatewayOptions): Promise<express.Express> {
  const log = options.log ?? (() => {});
  const app = express();
  app.disable('x-powered-by');
  // Flat string parameters only (no `a[b]=` objects), on plain objects as Cube expects.
  app.set('query parser', (text: string) => Object.fromEntries(new URLSearchParams(text)));

  // Every JSON answer leaves without a stack; a 5xx leaves without its internals at all.
  app.use((req: GatewayRequest, res, next) => {
    req.requestId = randomUUID();
    res.setHeader('x-request-id', req.requestId);
    const json = res.json.bind(res);
    res.json = (body: any) => {
      if (body && typeof body === 'object' && !Array.isArray(body)) {
        const { stack: _stack, plainError: _plain, ...rest } = body;
        if (res.statusCode >= 500) {
          log(`error ${req.method} ${req.path} (${req.requestId}): ${String(body.error ?? '')}`);
          return json({ error: `internal error; request id ${req.requestId}` });
        }
        return json(rest);
      }
      return json(body);
    };
    next();
  });

  app.use((req, _res, next) => {
    const methods = ROUTES[req.path];
    if (!methods) return next(new HttpError(404, `unknown route ${req.method} ${req.path}`));
    if (!methods.includes(req.method)) return next(new HttpError(405, `${req.method} not allowed on ${req.path}; use ${methods.join(' or ')}`));
    next();
  });

  // The nesting is checked on the raw text, before JSON.parse or any schema walks it.
  app.use(express.json({
    limit: options.bodyLimit,
    strict: true,
    verify: (_req, _res, buffer) => {
      const depth = jsonNestingDepth(buffer.toString('utf8'));
      if (depth > MAX_JSON_DEPTH) throw new HttpError(400, `request body nests ${depth} levels deep; at most ${MAX_JSON_DEPTH}`);
    },
  }));
  // Cube's POST routes run their own body-parser (1.x), which skips a body only when
  // `req._body` says it was read; Express 5's parser does not set it, so without this
  // Cube reads the drained stream again and every JSON POST fails ("stream is not readable").
  app.use((req, _res, next) => {
    if (req.body !== undefined) (req as Request & { _body?: boolean })._body = true;
    next();
  });

  app.use(async (req: GatewayRequest, _res, next) => {
    if (PUBLIC_ROUTES.has(req.path)) return next();
    try {
      let claims: Record<string, unknown>;
      if (options.dev && !req.headers.authorization) {
        claims = options.dev.claims;
      } else {
        claims = await options.verifyToken(tokenFromHeader(req.headers.authorization));
      }
      // Keyed on the signed claims: re-encoding a token's text gives no fresh budget.
      const identity = createHash('sha256').update(JSON.stringify(claims)).digest('base64url');
      req.caller = { identity, claims, access: accessFor(options.policy, claims) };
      next();
    } catch (error) {
      if (error instanceof TokenRejected) return next(new HttpError(401, error.message));
      if (error instanceof AccessDenied) return next(new HttpError(403, (error as Error).message));
      next(error);
    }
  });

  const rateStore = new MemoryStore();
  const rateLimitMessage = `rate limit: at most ${options.rateLimit} requests per minute per token`;
  app.use(
    rateLimit({
      windowMs: 60_000,
      limit: options.rateLimit,
      standardHeaders: 'draft-7',
      legacyHeaders: false,
      store: rateStore,
      skip: (req: GatewayRequest) => !req.caller,
      keyGenerator: (req: GatewayRequest) => req.caller!.identity,
      handler: (_req, res) => {
        res.status(429).json({ error: rateLimitMessage });
      },
    }),
  );

  // SQL and query plans show internal tables and rollups across every row: operators only.
  app.use((req: GatewayRequest, _res, next) => {
    if (INSPECTION_ROUTES.has(req.path) && !req.caller!.access.canInspect) {
      return next(new HttpError(403, `${req.path} shows generated SQL; role "${req.caller!.access.role}" may not use it (governance.yml: can_inspect)`));
    }
    next();
  });

  // Asked each time: Cube caches its compiled model, and recompiles after a build changes schema/.
  const visibleMembers = (): Promise<Map<string, VisibleMember>> => options.cube.visibleMembers();

  app.use(QUERY_ROUTES, async (req: GatewayRequest, res, next) => {
    try {
      const raw = req.method === 'GET' ? parseQueryString(req.query as Record<string, unknown>) : req.body;
      const parsed = loadRequest.safeParse(raw);
      if (!parsed.success) throw new HttpError(400, `invalid query: ${firstIssue(parsed.error)}`);
      const queries = Array.isArray(parsed.data.query) ? parsed.data.query : [parsed.data.query];
      const known = await visibleMembers();
      for (const query of queries) {
        checkQuery(options.policy.queries, req.caller!.access, query);
        for (const member of membersOf(query)) {
          if (!known.has(member)) throw new HttpError(400, `unknown member ${member}; see ${API_BASE}/v1/meta`);
          if (isHidden(req.caller!.access, member)) throw new HttpError(403, refusalOfMembers(req.caller!.access.role, [member]));
        }
      }
      const answers = options.answers;
      const wantsFresh = parsed.data.cache === 'no-cache' || parsed.data.cache === 'must-revalidate' || queries.some((q) => q.renewQuery);
      if (req.baseUrl !== LOAD_ROUTE || !answers?.enabled || wantsFresh) return next();
      // The access policy's rewrite (row filters) runs here on every request and makes the key.
      const claims = req.caller!.claims;
      const rewritten = queries.map((query) => rewriteQuery(options.policy, query, claims));
      let key: string;
      try {
        key = await answers.keyOf({ queries: rewritten, queryType: parsed.data.queryType }, claims);
      } catch (error) {
        // Without the build stamp no kept answer is safe to use or keep: Cube answers.
        log(`answer cache: could not read the newest build (${(error as Error).message}); asking Cube`);
        return next();
      }
      const answer = answers.get(key);
      if (answer !== undefined) {
        res.setHeader(ANSWER_SOURCE_HEADER, 'cache');
        res.type('application/json').send(answer);
        return;
      }
      res.setHeader(ANSWER_SOURCE_HEADER, 'cube');
      const json = res.json.bind(res);
      res.json = (body: any) => {
        const result = json(body);
        if (res.statusCode === 200 && body && typeof body === 'object' && !('error' in body) && !('stack' in body)) answers.set(key, JSON.stringify(body));
        return result;
      };
      next();
    } catch (error) {
      next(error instanceof QueryRefused ? new HttpError(400, error.message) : error instanceof AccessDenied ? new HttpError(403, error.message) : error);
    }
  });

  app.post(`${API_BASE}/graphql`, async (req: GatewayRequest, res, next) => {
    const parsed = graphqlRequest.safeParse(req.body);
    if (!parsed.success) return next(new HttpError(400, `invalid GraphQL request: ${firstIssue(parsed.error)}`));
    try {
      const { queries } = checkGraphqlDocument(parsed.data.query, parsed.data.variables, req.caller!.access, options.policy.queries);
      // One request was counted already; each further `cube` field is one more query run.
      for (let i = 1; i < queries; i++) {
        const { totalHits } = await rateStore.increment(req.caller!.identity);
        if (totalHits > options.rateLimit) throw new HttpError(429, rateLimitMessage);
      }
    } catch (error) {
      return next(error instanceof GraphqlRefused ? new HttpError(error.status, error.message) : error);
    }
    // Cube's resolvers hand every failure to express-graphql as a bare message, which it
    // answers with a 500 when there is no data. A failure Cube itself judged the caller's
    // (a UserError, a refusal of hidden members) leaves as a 4xx with its message; a real
    // failure is logged with its message and path and leaves scrubbed.
    const access = req.caller!.access;
    const json = res.json.bind(res);
    res.json = (body: any) => {
      const errors: any[] | undefined = Array.isArray(body?.errors) ? body.errors : undefined;
      if (errors && res.statusCode >= 500 && body?.data == null && errors.length > 0) {
        const userErrors = new Set(options.cube.userErrorsOf(req));
        const refused = errors.every((error) => isRefusal(access, error?.message));
        // An error without a path is a request error (a variable that does not fit its type):
        // GraphQL raises those before anything executes.
        const isUserError = (error: any) => error?.path === undefined || isRefusal(access, error?.message) || userErrors.has(error?.message);
        if (refused || errors.every(isUserError)) {
          res.status(refused ? 403 : 400);
          log(`graphql ${res.statusCode} (${req.requestId}): ${describeErrors(errors)}`);
          return json({ data: null, errors: errors.map((error) => ({ message: error.message, path: error.path })) });
        }
        log(`error POST ${req.path} (${req.requestId}): ${describeErrors(errors)}`);
      } else if (errors && res.statusCode >= 400) {
        log(`graphql ${res.statusCode} (${req.requestId}): ${describeErrors(errors)}`);
      }
      // GraphQL's "Did you mean ...?" would name fields hidden from this role.
      if (errors && !access.canInspect) {
        return json({ ...body, errors: errors.map((error) => ({ ...error, message: String(error?.message ?? '').replace(/ Did you mean .*\?$/, '') })) });
      }
      return json(body);
    };
    next();
  });

  // /v1/meta shows a role only what it may query.
  app.get(`${API_BASE}/v1/meta`, (req: GatewayRequest, res, next) => {
    const json = res.json.bind(res);
    res.json = (body: any) => json(res.statusCode === 200 ? hideMembers(body, req.caller!.access) : body);
    next();
  });

  // Errors raised above (routes, body, token, rate, schema, policy) are answered here:
  // Cube's routes end in Cube's own error handler, which would answer each with a 500.
  const answerError = (error: any, req: GatewayRequest, res: Response, _next: NextFunction) => {
    if (res.headersSent) return; // Cube answered already (and its answer was scrubbed)
    const status = error instanceof HttpError ? error.status
      : error?.type === 'entity.too.large' ? 413
      : error?.type === 'entity.parse.failed' ? 400
      : typeof error?.status === 'number' && error.status >= 400 && error.status < 500 ? error.status
      : 500;
    const message = status === 413 ? `request body larger than ${options.bodyLimit} bytes`
      : error?.type === 'entity.parse.failed' ? 'request body is not valid JSON'
      : error instanceof HttpError || status < 500 ? error.message
      : 'internal error';
    if (status >= 500) log(`error ${req.method} ${req.path} (${req.requestId}): ${error?.stack ?? error}`);
    // GraphQL clients read `errors`; everyone else reads `error`.
    res.status(status).json(req.path === `${API_BASE}/graphql` ? { error: message, data: null, errors: [{ message }] } : { error: message });
  };
  app.use(answerError);

  await options.cube.mount(app);

  app.use((req, _res, next) => next(new HttpError(404, `unknown route ${req.method} ${req.path}`)));
  app.use(answerError);
  return app;
}

/** GraphQL errors for the server log: each message with the path it failed at. */
function describeErrors(errors: any[]): string {
  return errors.map((error) => `${error?.message} at ${(error?.path ?? []).join('.') || '(request)'}`).join('; ');
}

/** Whether a GraphQL error is queryRewrite's refusal of members this caller may not use. */
function isRefusal(access: CallerAccess, message: unknown): boolean {
  const prefix = refusalOfMembers(access.role, []);
  if (typeof message !== 'string' || !message.startsWith(prefix)) return false;
  const members = message.slice(prefix.length).split(', ');
  return members.every((member) => isHidden(access, member));
}

/** GET /v1/load?query=<json>&queryType=multi, as @cubejs-client/core sends it. */
function parseQueryString(params: Record<string, unknown>): unknown {
  const out: Record<string, unknown> = { ...params };
  if (typeof params.query !== 'string') throw new HttpError(400, 'invalid query: the query parameter must be JSON');
  try {
    out.query = JSON.parse(params.query);
  } catch {
    throw new HttpError(400, 'invalid query: the query parameter is not valid JSON');
  }
  return out;
}

function hideMembers(body: any, access: CallerAccess): any {
  if (!body || !Array.isArray(body.cubes)) return body;
  const keep = (member: { name: string }) => !isHidden(access, member.name);
  return {
    ...body,
    cubes: body.cubes
      .map((cube: any) => ({
        ...cube,
        measures: cube.measures?.filter(keep),
        dimensions: cube.dimensions?.filter(keep),
        segments: cube.segments?.filter(keep),
      }))
      // A view whose every member is hidden is not shown at all.
      .filter((cube: any) => (cube.measures?.length ?? 0) + (cube.dimensions?.length ?? 0) + (cube.segments?.length ?? 0) > 0),
  };
}
