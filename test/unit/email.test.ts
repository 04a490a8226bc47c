import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { canonicalEmail, inboxOf, isEmail } from '../../domain/email.ts';
import { REFERRAL_CODE, REFERRAL_CODE_LENGTH, referralCodeFrom } from '../../domain/referral-code.ts';

describe('email', () => {
  it('accepts addresses and refuses what is not one', () => {
    expect(isEmail('a@b.co')).toBe(true);
    for (const bad of ['', 'a', 'a@b', '@b.co', 'a b@c.de', `${'a'.repeat(250)}@b.co`])
      expect(isEmail(bad)).toBe(false);
  });

  it('folds case for uniqueness', () => {
    expect(canonicalEmail('  Alice@Example.COM ')).toBe('alice@example.com');
  });

  it('finds the inbox behind +tags and Gmail dots', () => {
    expect(inboxOf('A.lice+ref1@gmail.com')).toBe('alice@gmail.com');
    expect(inboxOf('alice@googlemail.com')).toBe('alice@gmail.com');
    expect(inboxOf('a.lice+x@example.com')).toBe('a.lice@example.com');
  });

  it('is idempotent', () => {
    fc.assert(fc.property(fc.emailAddress(), (email) => inboxOf(inboxOf(email)) === inboxOf(email)));
  });
});

describe('referral code', () => {
  it('is always in the unambiguous alphabet', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: REFERRAL_CODE_LENGTH, maxLength: REFERRAL_CODE_LENGTH }), (bytes) =>
        REFERRAL_CODE.test(referralCodeFrom(bytes)),
      ),
    );
  });
});
