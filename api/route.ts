// One definition per route: its schemas validate the request and the response and generate the
// OpenAPI document (api/openapi.ts), so what is documented is what is accepted.
import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import { createHash } from 'node:crypto';
import type { DatabasePool } from 'slonik';
import { claimIdempotencyKey, releaseKey, storeAnswer } from '../db/idempotency.ts';
import { authorize, principalLabel, type Access, type Authenticator, type Principal } from './auth.ts';
import { ApiError, fromZodError, toApiError } from './errors.ts';
import { addressBucket, principalBucket, type RateLimiter, type RateLimits } from './rate-limit.ts';

export type HttpMethod = 'get' | 'post' | 'patch' | 'put' | 'delete';

export type Reply = { status: number; body?: unknown; headers?: Record<string, string> };

export type RouteInput<P, Q, B> = {
  params: P;
  query: Q;
  body: B;
  principal: Principal | null;
  req: Request;
  res: Response;
  /**
   * On an idempotent route called with an Idempotency-Key: a digest of the key, its scope and the
   * request, the same for exactly the retries the idempotency store would replay; null otherwise.
   * A route that must answer a retry whose first answer was lost after its commit records it with
   * the effect (the signup does).
   */
  idempotency: string | null;
};

export type RouteDef<P = unknown, Q = unknown, B = unknown> = {
  method: HttpMethod;
  /** OpenAPI-style path: /v1/users/{id} */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  access: Access;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** Honours Idempotency-Key: the same key and body replays the first answer; another body is a 409. */
  idempotent?: boolean;
  /**
   * What the idempotency store keeps of a successful reply, and so what a replay answers. A reply
   * that hands out a credential (a session token) drops it here: a credential is handed out once
   * and never stored.
   */
  replayBody?: (body: unknown) => unknown;
  /** Public routes with a group are limited per client address; routes of one group share a budget. */
  rateLimitGroup?: string;
  /** A provider webhook: the header carrying the provider's signature over the raw body (required). */
  signatureHeader?: string;
  /** Documented responses; a reply whose status has a schema is checked against it. */
  responses: Record<number, { description: string; schema?: z.ZodType }>;
  handle(input: RouteInput<P, Q, B>): Promise<Reply>;
};

export function defineRoute<P = Record<string, never>, Q = Record<string, never>, B = undefined>(
  def: RouteDef<P, Q, B>,
): RouteDef {
  return def as unknown as RouteDef;
}

const expressPath = (path: string) => path.replace(/\{(\w+)\}/g, ':$1');

function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, location: 'body' | 'query' | 'path'): T {
  if (!schema) return undefined as T;
  const result = schema.safeParse(value);
  if (!result.success) throw fromZodError(result.error, location, value);
  return result.data;
}

export type MountDeps = { auth: Authenticator; db: DatabasePool; limiter: RateLimiter; limits: RateLimits };

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export function mountRoutes(
  router: Router,
  routes: readonly RouteDef[],
  { auth, db, limiter, limits }: MountDeps,
): void {
  for (const route of routes) {
    const isPublic = 'public' in route.access;
    router[route.method](expressPath(route.path), async (req, res) => {
      if (isPublic && route.rateLimitGroup)
        await limiter.take(addressBucket(limits, req.ip ?? 'unknown', route.rateLimitGroup));
      const principal = await auth.principalOf(req, { public: isPublic });
      authorize(route.access, principal);
      if (!isPublic && principal) await limiter.take(principalBucket(limits, principal));
      if (route.signatureHeader && !req.get(route.signatureHeader))
        throw new ApiError(
          400,
          'invalid_request_error',
          'signature_missing',
          `The ${route.signatureHeader} header is missing.`,
        );
      if (route.body && !req.is('application/json')) {
        throw new ApiError(
          415,
          'invalid_request_error',
          'unsupported_media_type',
          'Send the body as application/json.',
        );
      }
      const input = {
        params: parse(route.params, { ...req.params }, 'path'),
        query: parse(route.query, { ...(req.query as object) }, 'query'),
        body: parse(route.body, req.body ?? {}, 'body'),
        principal,
        req,
        res,
      };
      const key = req.get('idempotency-key');
      const reply =
        route.idempotent && key !== undefined
          ? await idempotently(
              db,
              route,
              key,
              principal ?? { ip: req.ip },
              // The query too where the route reads one (the launch's has no body): another query is another request.
              { params: input.params, body: input.body, ...(route.query ? { query: input.query } : {}) },
              (idempotency) => route.handle({ ...input, idempotency }),
            )
          : await route.handle({ ...input, idempotency: null });
      send(res, route, reply);
    });
  }
}

function send(res: Response, route: RouteDef, reply: Reply): void {
  if (!route.responses[reply.status] && reply.status < 400)
    throw new Error(`${route.operationId} replied ${reply.status}, which it does not document`);
  const schema = reply.status < 400 ? route.responses[reply.status]?.schema : undefined;
  const body = schema ? schema.parse(reply.body) : reply.body;
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
  if (body === undefined) res.status(reply.status).end();
  else res.status(reply.status).json(body);
}

/**
 * The first request under a key runs and its answer (success or client error) is stored; a repeat
 * with the same body gets that answer again, with another body a 409. A failure on our side frees
 * the key for a retry.
 */
/** How long a repeat waits for the first request under its key before answering 409 in progress. */
const IN_PROGRESS_WAIT_MS = 15_000;

async function idempotently(
  db: DatabasePool,
  route: RouteDef,
  key: string,
  who: Principal | { ip: string | undefined },
  request: unknown,
  run: (fingerprint: string) => Promise<Reply>,
): Promise<Reply> {
  if (!IDEMPOTENCY_KEY.test(key))
    throw new ApiError(
      400,
      'invalid_request_error',
      'idempotency_key_invalid',
      'Idempotency-Key must be 1-255 visible ASCII characters.',
    );
  const scope = `${route.operationId}|${'type' in who ? principalLabel(who) : `ip:${who.ip}`}`;
  const hash = createHash('sha256').update(JSON.stringify(request)).digest('hex');
  // A repeat that arrives while the first request runs waits for its answer (a client retrying a
  // slow call, or a burst of identical requests, gets the same answer, not a 409); the key is
  // claimed again meanwhile, so a first request that failed on our side lets this one run instead.
  const deadline = Date.now() + IN_PROGRESS_WAIT_MS;
  let stored = await claimIdempotencyKey(db, scope, key, hash);
  while (stored && stored.request_hash === hash && stored.status === null && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    stored = await claimIdempotencyKey(db, scope, key, hash);
  }
  if (stored) {
    if (stored.request_hash !== hash)
      throw new ApiError(
        409,
        'idempotency_error',
        'idempotency_key_reused',
        'This Idempotency-Key was used with a different request.',
      );
    if (stored.status === null)
      throw new ApiError(
        409,
        'idempotency_error',
        'idempotency_in_progress',
        'A request with this Idempotency-Key is still in progress.',
      );
    return { status: stored.status, body: stored.response, headers: { 'Idempotent-Replayed': 'true' } };
  }
  try {
    const reply = await run(createHash('sha256').update(`${scope}\n${key}\n${hash}`).digest('hex'));
    await storeAnswer(db, scope, key, reply.status, route.replayBody ? route.replayBody(reply.body) : reply.body);
    return reply;
  } catch (err) {
    const apiError = toApiError(err);
    if (apiError && apiError.status < 500) await storeAnswer(db, scope, key, apiError.status, apiError.body());
    else await releaseKey(db, scope, key);
    throw err;
  }
}
