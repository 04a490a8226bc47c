// The OpenAPI document, generated from the same route definitions that validate requests.
// Rules JSON Schema cannot express (a refinement such as "must not be in the future", trimming)
// are stated in the field's description, from the same checks that enforce them.
import { z } from 'zod';
import { isEmail } from '../domain/email.ts';
import type { RouteDef } from './route.ts';
import { errorBody } from './errors.ts';

type JsonSchema = Record<string, unknown>;
type Check = { _zod: { def: { check?: string; fn?: unknown; tx?: unknown; error?: (issue: unknown) => unknown } } };

/** The source of zod's own trim, to recognise `.trim()` among a string's checks. */
const TRIM_SOURCE = String((z.string().trim()._zod.def.checks![0] as unknown as Check)._zod.def.tx);

const EMAIL_RULE =
  'an address local@domain.tld without spaces, control, zero-width or bidi characters; compared case-insensitively';

function messageOf(check: Check): string | null {
  try {
    const message = check._zod.def.error?.({ code: 'custom', input: undefined });
    return typeof message === 'string' ? message : null;
  } catch {
    return null;
  }
}

/** The checks of a schema and of what it wraps (optional, nullable, default, a pipe's input). */
function checksOf(schema: z.core.$ZodType): Check[] {
  const checks: Check[] = [];
  for (let at: z.core.$ZodType | undefined = schema, depth = 0; at && depth < 8; depth++) {
    const def = at._zod.def as z.core.$ZodTypeDef & { innerType?: z.core.$ZodType; in?: z.core.$ZodType };
    checks.push(...((def.checks ?? []) as unknown as Check[]));
    at = def.innerType ?? def.in;
  }
  return checks;
}

/**
 * No request string may hold a NUL character (api/request-guards.ts refuses it for every route), so
 * a free string's schema says so; strings with a format, a pattern or fixed values already exclude it.
 */
export const NO_NUL_PATTERN = '^[^\\u0000]*$';

/** Adds to a request field's schema the rules its checks enforce beyond what JSON Schema says. */
function stateRules(zodSchema: z.core.$ZodType, json: JsonSchema): void {
  if (json.type === 'string' && !json.pattern && !json.format && !json.enum && json.const === undefined)
    json.pattern = NO_NUL_PATTERN;
  const rules: string[] = [];
  for (const check of checksOf(zodSchema)) {
    const { def } = check._zod;
    if (def.check === 'custom') {
      if (def.fn === isEmail) {
        json.format = 'email';
        rules.push(EMAIL_RULE);
        continue;
      }
      const message = messageOf(check);
      if (message) rules.push(message);
    } else if (def.check === 'overwrite' && String(def.tx) === TRIM_SOURCE) {
      rules.push('surrounding whitespace is trimmed');
    }
  }
  if (rules.length === 0) return;
  const stated = `Rules: ${rules.join('; ')}.`;
  const own = typeof json.description === 'string' ? json.description : '';
  if (!own.includes(stated)) json.description = own ? `${own} ${stated}` : stated;
}

function toSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    reused: 'inline',
    ...(io === 'input' ? { override: (ctx) => stateRules(ctx.zodSchema, ctx.jsonSchema as JsonSchema) } : {}),
  }) as JsonSchema;
  return rest;
}

function parametersOf(route: RouteDef) {
  const parameters: unknown[] = [];
  if (route.signatureHeader)
    parameters.push({
      name: route.signatureHeader,
      in: 'header',
      required: true,
      description: "The provider's signature over the exact request body; a missing or wrong one is a 400.",
      schema: { type: 'string' },
    });
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
        'Who brought whom, and what that earns. Errors are `{ "error": { "type", "code", "message", "param"? } }`; creating calls accept an `Idempotency-Key` header; unknown fields are rejected; a NUL character (\\u0000) in any string of a body, query or path is a 400; a known path asked with a method it does not serve is a 405 with `Allow`; rate limits answer 429 with `Retry-After`.',
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
