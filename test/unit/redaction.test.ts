// What a log line may hold of a request: credentials replaced, the rest kept; and a NUL found at
// any depth of a body without recursion.
import { describe, expect, it } from '@jest/globals';
import { findNul } from '../../api/request-guards.ts';
import { createLogger, REDACTED, redactHeaders, redactUrl } from '../../platform/logger.ts';

describe('header redaction', () => {
  it('replaces credentials and keeps the rest', () => {
    expect(
      redactHeaders({
        authorization: 'Bearer k',
        'proxy-authorization': 'Basic x',
        cookie: 'session=t',
        'set-cookie': ['session=t'],
        'stripe-signature': 't=1,v1=abc',
        'x-whop-signature': 's',
        'webhook-signature': 's',
        'x-api-key': 'k',
        'x-session-token': 't',
        'content-type': 'application/json',
        'x-request-id': 'r1',
        'user-agent': 'curl',
      }),
    ).toEqual({
      authorization: REDACTED,
      'proxy-authorization': REDACTED,
      cookie: REDACTED,
      'set-cookie': REDACTED,
      'stripe-signature': REDACTED,
      'x-whop-signature': REDACTED,
      'webhook-signature': REDACTED,
      'x-api-key': REDACTED,
      'x-session-token': REDACTED,
      'content-type': 'application/json',
      'x-request-id': 'r1',
      'user-agent': 'curl',
    });
  });
});

describe('URL redaction', () => {
  it.each([
    ['/r/abc?ref=x&listing=1', '/r/abc?ref=x&listing=1'],
    ['/cb?token=abc&x=1', `/cb?token=${REDACTED}&x=1`],
    ['/cb?access_token=abc', `/cb?access_token=${REDACTED}`],
    ['/cb?api_key=abc&sig=zz', `/cb?api_key=${REDACTED}&sig=${REDACTED}`],
    ['/cb?Session=abc', `/cb?Session=${REDACTED}`],
    ['/cb?%74oken=abc', `/cb?%74oken=${REDACTED}`],
    ['/plain', '/plain'],
  ])('%s -> %s', (url, redacted) => {
    expect(redactUrl(url)).toBe(redacted);
  });
});

describe('logger', () => {
  it('redacts token, secret and password fields near the top of a logged object', () => {
    const lines: string[] = [];
    const log = createLogger('info', 't', { write: (l: string) => void lines.push(l) });
    log.info({ token: 'T1', user: { token: 'T2', password: 'P1' }, a: { b: { secret: 'S1' } }, keep: 'ok' }, 'm');
    const text = lines.join('');
    for (const secret of ['T1', 'T2', 'P1', 'S1']) expect(text).not.toContain(`"${secret}"`);
    expect(text).toContain('"keep":"ok"');
  });
});

describe('findNul', () => {
  it('finds a NUL in a value or a key, at any depth', () => {
    expect(findNul({ a: 'x' })).toBe(false);
    expect(findNul({ a: ['x', { b: 'y\u0000' }] })).toBe(true);
    expect(findNul({ ['k\u0000']: 1 })).toBe(true);
    expect(findNul('\u0000')).toBe(true);
    expect(findNul([1, true, null, 2.5])).toBe(false);
  });

  it('walks a deeply nested body without overflowing the stack', () => {
    let deep: unknown = 'x\u0000';
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(findNul(deep)).toBe(true);
  });
});
