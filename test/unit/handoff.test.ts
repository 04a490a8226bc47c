// The cross-domain hand-off's pure rules: which hosts a hand-off may go to, the URL it makes, and
// the token: signed, tamper-evident, expiring.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  handoffAllowed,
  handoffHost,
  handoffUrl,
  readHandoff,
  signHandoff,
  type HandoffClaims,
} from '../../domain/handoff.ts';

const key = Buffer.alloc(32, 7);
const now = new Date('2026-06-01T12:00:00Z');
const claims: HandoffClaims = {
  id: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
  ref: 'abcdefghjk',
  listing: 'b1a3c2d4-0000-4000-8000-000000000001',
  host: 'shop.example.com',
  exp: now.getTime() / 1000 + 300,
};

describe('handoff hosts', () => {
  it('takes plain host names only, lower-cased', () => {
    expect(handoffHost('Shop.Example.COM')).toBe('shop.example.com');
    expect(handoffHost('a-b.example.co.uk')).toBe('a-b.example.co.uk');
    for (const bad of [
      'https://shop.example.com',
      'shop.example.com/path',
      'shop.example.com:8443',
      'user@shop.example.com',
      'shop.example.com.',
      '.example.com',
      'localhost',
      '127.0.0.1',
      '[::1]',
      'shop.example.com\\@evil.com',
      'shop.example.com?x=1',
      'shop.example.com#x',
      'evil.com%2f.example.com',
      '-shop.example.com',
      'shop..example.com',
      'xn--e1afmkfd.xn--p1ai\n',
      ' shop.example.com',
      '',
    ])
      expect(handoffHost(bad)).toBeNull();
  });

  it('allows an exact match only', () => {
    const allowed = ['shop.example.com'];
    expect(handoffAllowed('shop.example.com', allowed)).toBe(true);
    expect(handoffAllowed('evil.shop.example.com', allowed)).toBe(false);
    expect(handoffAllowed('example.com', allowed)).toBe(false);
    expect(handoffAllowed('shop.example.com.evil.com', allowed)).toBe(false);
  });

  it('sends the visitor to the host itself over https, whatever text is given', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (to) => {
        const host = handoffHost(to);
        if (host === null) return;
        const url = new URL(handoffUrl(host, 'tok.en'));
        expect(url.protocol).toBe('https:');
        expect(url.host).toBe(host);
        expect(url.username + url.password + url.port).toBe('');
      }),
    );
    expect(handoffUrl('shop.example.com', 'a.b')).toBe('https://shop.example.com/?rg_handoff=a.b');
  });
});

describe('handoff tokens', () => {
  it('reads back what was signed, until it expires', () => {
    const token = signHandoff(key, claims);
    expect(readHandoff(key, token, now)).toEqual({ ok: true, claims });
    expect(readHandoff(key, token, new Date(claims.exp * 1000))).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses a token signed with another key, altered, or malformed', () => {
    const token = signHandoff(key, claims);
    const [text, mac] = token.split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ ...claims, ref: 'someoneelse' })).toString('base64url');
    for (const bad of [
      signHandoff(Buffer.alloc(32, 8), claims),
      `${forged}.${mac}`,
      `${text}.${mac.slice(0, -2)}`,
      `${text}.`,
      text,
      `${token}.x`,
      `${Buffer.from('not json').toString('base64url')}.${mac}`,
    ])
      expect(readHandoff(key, bad, now)).toEqual({ ok: false, reason: 'invalid' });
    const noRef = signHandoff(key, { ...claims, ref: '' });
    expect(readHandoff(key, noRef, now)).toEqual({ ok: false, reason: 'invalid' });
  });
});
