// The invite-credit posting and the account kinds SQL filters by, as pure data.
import { describe, expect, it } from '@jest/globals';
import {
  creditsIssued,
  inviteCreditsPosting,
  partnerEarnings,
  partnerEarningsKind,
  userCredits,
} from '../../domain/ledger-postings.ts';

describe('inviteCreditsPosting', () => {
  it("grants the code's credits to the redeemer from credits issued, keyed by the redemption", () => {
    const posting = inviteCreditsPosting({ redemptionId: 'r1', codeId: 'c1', userId: 'u1', credits: 500 });
    expect(posting).toEqual({
      key: 'redemption:r1',
      kind: 'invite_credits',
      metadata: { codeId: 'c1', userId: 'u1' },
      entries: expect.arrayContaining([
        { ...userCredits('u1'), amount: 500 },
        { ...creditsIssued, amount: -500 },
      ]),
    });
    expect(posting!.entries).toHaveLength(2);
    expect(posting!.entries.reduce((sum, e) => sum + e.amount, 0)).toBe(0);
  });

  it('a code granting no credits posts nothing', () => {
    expect(inviteCreditsPosting({ redemptionId: 'r2', codeId: 'c1', userId: 'u1', credits: 0 })).toBeNull();
  });
});

describe('account kinds', () => {
  it("a partner's earnings account is its stage's kind with the tenant as owner, one purpose per stage", () => {
    for (const stage of ['pending', 'payable', 'paid'] as const) {
      const { ownerId, ...kind } = partnerEarnings('t1', stage);
      expect(ownerId).toBe('t1');
      expect(kind).toEqual(partnerEarningsKind(stage));
    }
    expect(new Set((['pending', 'payable', 'paid'] as const).map((s) => partnerEarningsKind(s).purpose)).size).toBe(3);
  });
});
