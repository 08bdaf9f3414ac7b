/**
 * The gateway in front of Cube's routes (see ../shared/ARCHITECTURE.md, "Cube version"):
 * known routes only, bounded bodies, strict JWT, a per-token rate limit, query bodies
 * checked against a schema and the access policy before Cube sees them, and errors that
 * never carry a stack trace.
 */
import { createHash, randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { JWTPayload } from 'jose';
import { AccessDenied, accessFor, isHidden, membersOf, refusalOfMembers, type AccessPolicy, type CallerAccess } from '../governance/access-policy.js';
import type { CubeAdapter, VisibleMember } from './cube-adapter.ts';
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
  /** No token needed: every request runs with `devClaims`. Only when asked for. */
  dev?: { claims: Record<string, unknown> };
  log?: (line: string) => void;
}

interface Caller {
  token: string;
  claims: Record<string, unknown>;
  access: CallerAccess;
}
type GatewayRequest = Request & { caller?: Caller; requestId?: string };

/** Routes that take a Cube query, in the query string (GET) or the body (POST). */
const QUERY_ROUTES = ['/v1/load', '/v1/sql', '/v1/dry-run'].map((p) => API_BASE + p);
const ROUTES: Record<string, string[]> = {
  '/livez': ['GET'],
  '/readyz': ['GET'],
  [`${API_BASE}/v1/meta`]: ['GET'],
  [`${API_BASE}/graphql`]: ['POST'],
  ...Object.fromEntries(QUERY_ROUTES.map((route) => [route, ['GET', 'POST']])),
};
const PUBLIC_ROUTES = new Set(['/livez', '/readyz']);

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

  app.use(express.json({ limit: options.bodyLimit, strict: true }));
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
      let token: string;
      let claims: Record<string, unknown>;
      if (options.dev && !req.headers.authorization) {
        token = 'dev';
        claims = options.dev.claims;
      } else {
        token = tokenFromHeader(req.headers.authorization);
        claims = await options.verifyToken(token);
      }
      req.caller = { token, claims, access: accessFor(options.policy, claims) };
      next();
    } catch (error) {
      if (error instanceof TokenRejected) return next(new HttpError(401, error.message));
      if (error instanceof AccessDenied) return next(new HttpError(403, (error as Error).message));
      next(error);
    }
  });

  app.use(
    rateLimit({
      windowMs: 60_000,
      limit: options.rateLimit,
      standardHeaders: 'draft-7',
      legacyHeaders: false,
      skip: (req: GatewayRequest) => !req.caller,
      keyGenerator: (req: GatewayRequest) => createHash('sha256').update(req.caller!.token).digest('base64url'),
      handler: (_req, res) => {
        res.status(429).json({ error: `rate limit: at most ${options.rateLimit} requests per minute per token` });
      },
    }),
  );

  let visible: Map<string, VisibleMember> | undefined;
  const visibleMembers = async () => (visible ??= await options.cube.visibleMembers());

  app.use(QUERY_ROUTES, async (req: GatewayRequest, _res, next) => {
    try {
      const raw = req.method === 'GET' ? parseQueryString(req.query as Record<string, unknown>) : req.body;
      const parsed = loadRequest.safeParse(raw);
      if (!parsed.success) throw new HttpError(400, `invalid query: ${firstIssue(parsed.error)}`);
      const queries = Array.isArray(parsed.data.query) ? parsed.data.query : [parsed.data.query];
      const known = await visibleMembers();
      for (const query of queries) {
        for (const member of membersOf(query)) {
          if (!known.has(member)) throw new HttpError(400, `unknown member ${member}; see ${API_BASE}/v1/meta`);
          if (isHidden(req.caller!.access, member)) throw new HttpError(403, refusalOfMembers(req.caller!.access.role, [member]));
        }
      }
      next();
    } catch (error) {
      next(error);
    }
  });

  app.post(`${API_BASE}/graphql`, (req: GatewayRequest, res, next) => {
    const parsed = graphqlRequest.safeParse(req.body);
    if (!parsed.success) return next(new HttpError(400, `invalid GraphQL request: ${firstIssue(parsed.error)}`));
    // Cube's resolvers get queryRewrite's refusal only as a message, and express-graphql
    // answers any result without data with a 500 (which the wrapper above would scrub):
    // a refusal of this caller's hidden members leaves as a 403 that names them.
    const json = res.json.bind(res);
    res.json = (body: any) => {
      const errors: unknown[] | undefined = body?.errors;
      if (res.statusCode >= 500 && body?.data == null && Array.isArray(errors) && errors.length > 0
        && errors.every((error: any) => isRefusal(req.caller!.access, error?.message))) {
        res.status(403);
        return json({ data: null, errors: errors.map((error: any) => ({ message: error.message, path: error.path })) });
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
    res.status(status).json({ error: message });
  };
  app.use(answerError);

  await options.cube.mount(app);

  app.use((req, _res, next) => next(new HttpError(404, `unknown route ${req.method} ${req.path}`)));
  app.use(answerError);
  return app;
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
