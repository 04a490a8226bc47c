import { describe, expect, it } from '@jest/globals';
import type { Client } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import { apiRoutes } from '../../api/app.ts';
import { openApiDocument } from '../../api/openapi.ts';
import { createLogger } from '../../platform/logger.ts';
import { testConfig } from '../support/app.ts';

// The routes are built with stand-ins for PostgreSQL and Temporal: only their schemas are read.
const routes = apiRoutes({
  config: testConfig('postgres://u:p@localhost/db'),
  db: {} as DatabasePool,
  temporal: {} as Client,
  log: createLogger('silent', 'test'),
});
const doc = openApiDocument(routes, { title: 't', version: '1' }) as any;

describe('OpenAPI document', () => {
  it('documents every route, once, with an operation id', () => {
    const operations = routes.map((r) => doc.paths[r.path]?.[r.method]);
    expect(operations.every(Boolean)).toBe(true);
    const ids = operations.map((o) => o.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("closes every request body to unknown fields, as the validator does (provider webhooks carry the provider's whole event)", () => {
    const ours = routes.filter((r) => r.body && !r.path.startsWith('/webhooks/'));
    expect(ours.length).toBeGreaterThan(10);
    for (const route of ours) {
      const schema = doc.paths[route.path][route.method].requestBody.content['application/json'].schema;
      expect(schema.additionalProperties).toBe(false);
    }
  });

  it('describes the signup body from the same schema the route validates', () => {
    const schema = doc.paths['/v1/signups'].post.requestBody.content['application/json'].schema;
    expect(schema.required).toEqual(['email']);
    expect(Object.keys(schema.properties).sort()).toEqual(['code', 'deviceId', 'email', 'handoff', 'listingId', 'ref']);
  });

  it('names who may call each route', () => {
    expect(doc.paths['/v1/activations'].post.security).toEqual([{ apiKey: [] }]);
    expect(doc.paths['/v1/signups'].post.security).toEqual([]);
    expect(doc.components.schemas.Error.properties.error.required).toEqual(['type', 'code', 'message']);
  });
});
