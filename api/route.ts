// One definition per route: its schemas validate the request and the response and generate the
// OpenAPI document (api/openapi.ts), so what is documented is what is accepted.
import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import { authorize, type Access, type Authenticator, type Principal } from './auth.ts';
import { ApiError, fromZodError } from './errors.ts';

export type HttpMethod = 'get' | 'post' | 'patch' | 'put' | 'delete';

export type Reply = { status: number; body?: unknown; headers?: Record<string, string> };

export type RouteInput<P, Q, B> = { params: P; query: Q; body: B; principal: Principal | null; req: Request; res: Response };

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
  /** Documented responses; a reply whose status has a schema is checked against it. */
  responses: Record<number, { description: string; schema?: z.ZodType }>;
  handle(input: RouteInput<P, Q, B>): Promise<Reply>;
};

export function defineRoute<P = Record<string, never>, Q = Record<string, never>, B = undefined>(def: RouteDef<P, Q, B>): RouteDef {
  return def as unknown as RouteDef;
}

const expressPath = (path: string) => path.replace(/\{(\w+)\}/g, ':$1');

function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, location: 'body' | 'query' | 'path'): T {
  if (!schema) return undefined as T;
  const result = schema.safeParse(value);
  if (!result.success) throw fromZodError(result.error, location, value);
  return result.data;
}

export function mountRoutes(router: Router, routes: readonly RouteDef[], auth: Authenticator): void {
  for (const route of routes) {
    router[route.method](expressPath(route.path), async (req, res) => {
      const principal = await auth.principalOf(req);
      authorize(route.access, principal);
      if (route.body && !req.is('application/json')) {
        throw new ApiError(415, 'invalid_request_error', 'unsupported_media_type', 'Send the body as application/json.');
      }
      const reply = await route.handle({
        params: parse(route.params, { ...req.params }, 'path'),
        query: parse(route.query, { ...(req.query as object) }, 'query'),
        body: parse(route.body, req.body ?? {}, 'body'),
        principal,
        req,
        res,
      });
      const schema = route.responses[reply.status]?.schema;
      if (!route.responses[reply.status]) throw new Error(`${route.operationId} replied ${reply.status}, which it does not document`);
      const body = schema ? schema.parse(reply.body) : reply.body;
      for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
      if (body === undefined) res.status(reply.status).end();
      else res.status(reply.status).json(body);
    });
  }
}
