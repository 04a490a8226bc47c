// The OpenAPI document, generated from the same route definitions that validate requests.
import { z } from 'zod';
import type { RouteDef } from './route.ts';
import { errorBody } from './errors.ts';

type JsonSchema = Record<string, unknown>;

function toSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    reused: 'inline',
  }) as JsonSchema;
  return rest;
}

function parametersOf(route: RouteDef) {
  const parameters: unknown[] = [];
  for (const [location, schema] of [
    ['path', route.params],
    ['query', route.query],
  ] as const) {
    if (!schema) continue;
    const json = toSchema(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, property] of Object.entries(json.properties ?? {})) {
      parameters.push({
        name,
        in: location,
        required: location === 'path' || (json.required ?? []).includes(name),
        schema: property,
      });
    }
  }
  return parameters;
}

function securityOf(route: RouteDef) {
  if ('public' in route.access) return [];
  const schemes: Record<string, string[]>[] = [];
  if (route.access.roles?.length) schemes.push({ apiKey: [] });
  if (route.access.users) schemes.push({ bearerToken: [] }, { sessionCookie: [] });
  return schemes;
}

function accessNote(route: RouteDef): string {
  if ('public' in route.access) return 'Access: public.';
  const who = [
    ...(route.access.roles ?? []).map((r) => `${r} API key`),
    ...(route.access.users ? ['user session or bearer token'] : []),
  ];
  return `Access: ${who.join(', ')}.`;
}

export function openApiDocument(routes: readonly RouteDef[], info: { title: string; version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.schema
          ? { content: { 'application/json': { schema: toSchema(response.schema, 'output') } } }
          : {}),
      };
    }
    responses.default = {
      description: 'An error',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
    (paths[route.path] ??= {})[route.method] = {
      operationId: route.operationId,
      summary: route.summary,
      description: [route.description, accessNote(route)].filter(Boolean).join('\n\n'),
      tags: route.tags,
      parameters: parametersOf(route),
      security: securityOf(route),
      ...(route.body
        ? {
            requestBody: { required: true, content: { 'application/json': { schema: toSchema(route.body, 'input') } } },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      ...info,
      description:
        'Who brought whom, and what that earns. Errors are `{ "error": { "type", "code", "message", "param"? } }`; creating calls accept an `Idempotency-Key` header; unknown fields are rejected.',
    },
    paths,
    components: {
      schemas: { Error: toSchema(errorBody, 'output') },
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          description: 'A server-to-server API key with a role (admin, finance, server, partner).',
        },
        bearerToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'A user token (HS256) as returned at signup.',
        },
        sessionCookie: { type: 'apiKey', in: 'cookie', name: 'session' },
      },
    },
  };
}

/** A readable reference page over the document, served with the app's own copy of Swagger UI. */
export const REFERENCE_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>API reference</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body></html>`;

export const REFERENCE_INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui', deepLinking: true });`;
