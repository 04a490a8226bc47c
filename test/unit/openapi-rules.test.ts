// The OpenAPI document states the rules the server enforces beyond JSON Schema's words: the email
// check, "not in the future", trimming, the webhook signature header, currency in either case.
import { describe, expect, it } from '@jest/globals';
import type { Client } from '@temporalio/client';
import type { DatabasePool } from 'slonik';
import { apiRoutes } from '../../api/app.ts';
import { NO_NUL_PATTERN, openApiDocument } from '../../api/openapi.ts';
import { createLogger } from '../../platform/logger.ts';
import { testConfig } from '../support/app.ts';

const routes = apiRoutes({
  config: testConfig('postgres://u:p@localhost/db'),
  db: {} as DatabasePool,
  temporal: {} as Client,
  log: createLogger('silent', 'test'),
});
const doc = openApiDocument(routes, { title: 't', version: '1' }) as any;
const body = (path: string, method = 'post') => doc.paths[path][method].requestBody.content['application/json'].schema;

describe('OpenAPI rules', () => {
  it('says free strings hold no NUL character (the server refuses one in any field)', () => {
    const reason = body('/v1/admin/edges/{id}/archive').properties.reason;
    expect(reason.pattern).toBe(NO_NUL_PATTERN);
    expect(new RegExp(reason.pattern).test('fraud ring')).toBe(true);
    expect(new RegExp(reason.pattern).test('fraud\u0000ring')).toBe(false);
  });

  it('marks email fields and states the email rule', () => {
    const email = body('/v1/signups').properties.email;
    expect(email.format).toBe('email');
    expect(email.description).toMatch(/zero-width or bidi/);
    expect(body('/v1/admin/invite-codes').properties.emails.items.format).toBe('email');
  });

  it('states "not in the future" and "in the future" on the dates that must be', () => {
    expect(body('/v1/payments').properties.paidAt.description).toMatch(
      /When it was paid.*Rules:.*must not be in the future/,
    );
    expect(body('/v1/refunds').properties.refundedAt.description).toMatch(/must not be in the future/);
    expect(body('/v1/admin/invite-codes').properties.expiresAt.description).toMatch(/must be in the future/);
  });

  it('states trimming', () => {
    expect(body('/v1/admin/waves').properties.name.description).toMatch(/whitespace is trimmed/);
  });

  it('requires the signature header on the Stripe webhook', () => {
    expect(doc.paths['/webhooks/stripe'].post.parameters).toEqual([
      expect.objectContaining({ name: 'Stripe-Signature', in: 'header', required: true }),
    ]);
  });

  it('takes the currency in either case', () => {
    expect(body('/v1/payments').properties.currency.enum).toEqual(['USD', 'usd']);
  });

  it('documents the session routes', () => {
    expect(doc.paths['/v1/sessions/sign-out'].post.responses['204']).toBeDefined();
    expect(doc.paths['/v1/sessions/refresh'].post.security).toEqual([{ bearerToken: [] }, { sessionCookie: [] }]);
  });
});
