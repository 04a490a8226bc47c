import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { isSelfReferral } from '../../domain/attribution.ts';
import {
  DEFAULT_FLAVORS,
  INVITE_CODE_BODY_LENGTH,
  inviteCodeFor,
  normalizeInviteCode,
  personalCodeCredits,
  whyUnusable,
} from '../../domain/invite-flavors.ts';
import { affiliateLink } from '../../domain/partner-settings.ts';

describe('invite codes', () => {
  it("carry their flavor's prefix and an unambiguous body", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const code = inviteCodeFor(DEFAULT_FLAVORS.og, bytes);
        return (
          code.startsWith('OG-') &&
          /^[A-HJKMNP-Z2-9]+$/.test(code.slice(3)) &&
          code.length === 3 + INVITE_CODE_BODY_LENGTH
        );
      }),
    );
  });

  it('match regardless of case and spaces', () => {
    expect(normalizeInviteCode('  beta-ab12cd34 ')).toBe('BETA-AB12CD34');
  });

  it('are unusable when expired (at the instant) or out of uses', () => {
    const now = new Date('2026-06-01T00:00:00Z');
    expect(whyUnusable({ uses: 0, maxUses: 1, expiresAt: null }, now)).toBeNull();
    expect(whyUnusable({ uses: 0, maxUses: 1, expiresAt: now }, now)).toBe('expired');
    expect(whyUnusable({ uses: 1, maxUses: 1, expiresAt: null }, now)).toBe('exhausted');
    expect(whyUnusable({ uses: 1, maxUses: 1, expiresAt: new Date(0) }, now)).toBe('expired');
  });

  it('never let a personal code grant more than the flavor default', () => {
    fc.assert(
      fc.property(
        fc.option(fc.nat(), { nil: undefined }),
        (requested) => personalCodeCredits(DEFAULT_FLAVORS.beta, requested) <= DEFAULT_FLAVORS.beta.defaultCredits,
      ),
    );
    expect(personalCodeCredits(DEFAULT_FLAVORS.beta, 20)).toBe(20);
    expect(personalCodeCredits(DEFAULT_FLAVORS.beta, undefined)).toBe(500);
  });
});

describe('attribution', () => {
  const a = { id: 'a', email: 'jane.doe@gmail.com' };
  it('refuses self-referral by id or by the same inbox', () => {
    expect(isSelfReferral(a, a)).toBe(true);
    expect(isSelfReferral(a, { id: 'b', email: 'JaneDoe+x@googlemail.com' })).toBe(true);
    expect(isSelfReferral(a, { id: 'b', email: 'jane.doe@example.com' })).toBe(false);
  });
});

describe('affiliate link', () => {
  it('points at the referral redirect on the public URL', () => {
    expect(affiliateLink('https://x.example/', 'abc23')).toBe('https://x.example/r/abc23');
  });
});
