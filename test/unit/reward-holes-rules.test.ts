// The pure rules behind holes 2, 4 and 5 of issue 14: what a revoked milestone grant takes back
// and under which keys a rung is granted again; who may make personal invite codes; how long after
// signup a user may still name their referrer.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { trackWindowOpen } from '../../domain/attribution.ts';
import { ConfigError, loadConfig } from '../../platform/env.ts';
import { countsAsTheOneInvite, DEFAULT_PERSONAL_CODE_LIMITS, whyNoPersonalCode } from '../../domain/invite-flavors.ts';
import { milestonePosting, milestoneReversalPosting, userCredits } from '../../domain/ledger-postings.ts';
import { creditsToTakeBack, grantSource, nextRung } from '../../domain/milestones.ts';

describe('hole 2: a revoked rung gives back its credits, once per grant, and is granted again when reached again', () => {
  it('takes back all the credits while the user has them, what is left when some were spent, never below zero', () => {
    expect(creditsToTakeBack(1_000, 5_000)).toEqual({ takeBack: 1_000, shortfall: 0 });
    expect(creditsToTakeBack(1_000, 300)).toEqual({ takeBack: 300, shortfall: 700 });
    expect(creditsToTakeBack(250, 0)).toEqual({ takeBack: 0, shortfall: 250 });
    fc.assert(
      fc.property(fc.nat(10_000), fc.integer({ min: -1_000, max: 100_000 }), (granted, balance) => {
        const { takeBack, shortfall } = creditsToTakeBack(granted, balance);
        expect(takeBack + shortfall).toBe(granted);
        expect(takeBack).toBeGreaterThanOrEqual(0);
        expect(balance - takeBack).toBeGreaterThanOrEqual(Math.min(balance, 0));
      }),
    );
  });

  it('keys each grant apart (the first keeps the key grants always had), and each reversal by its grant', () => {
    expect(milestonePosting({ userId: 'u', rung: 3, credits: 1_000 })!.key).toBe('milestone:u:3');
    expect(milestonePosting({ userId: 'u', rung: 3, credits: 1_000, grant: 2 })!.key).toBe('milestone:u:3:2');
    const reversal = milestoneReversalPosting({ userId: 'u', rung: 3, grant: 2, credits: 400, shortfall: 600 })!;
    expect(reversal).toMatchObject({ key: 'milestone-reversal:u:3:2', metadata: { shortfall: 600 } });
    expect(reversal.entries.find((e) => e.ownerId === 'u')).toEqual({ ...userCredits('u'), amount: -400 });
    expect(milestoneReversalPosting({ userId: 'u', rung: 1, grant: 1, credits: 0, shortfall: 250 })).toBeNull();
    expect([grantSource(10, 1), grantSource(10, 2)]).toEqual(['milestone:10', 'milestone:10:2']);
  });

  it('offers a revoked rung again: the next rung is the first one not held now', () => {
    expect(nextRung(2, new Set([1]))?.at).toBe(3); // rung 3 revoked: 1 more referral earns it again
    expect(nextRung(2, new Set([1, 3]))?.at).toBe(5);
  });
});

describe('hole 4: personal invite codes are for admitted users, a few each; a person redeems one invite', () => {
  it('refuses a waitlisted user, and an admitted one past the limit', () => {
    const limits = DEFAULT_PERSONAL_CODE_LIMITS;
    expect(limits).toEqual({ perUser: 3, maxUses: 10 });
    expect(whyNoPersonalCode({ status: 'waitlisted' }, 0, limits)).toBe('not_admitted');
    expect(whyNoPersonalCode({ status: 'active' }, 2, limits)).toBeNull();
    expect(whyNoPersonalCode({ status: 'active' }, 3, limits)).toBe('limit_reached');
    expect(whyNoPersonalCode({ status: 'active' }, 0, { perUser: 0, maxUses: 1 })).toBe('limit_reached');
  });

  it('counts every invite as the one but a partner invite (which sets up a tenant, once)', () => {
    expect((['beta', 'free', 'og', 'partner'] as const).map(countsAsTheOneInvite)).toEqual([true, true, true, false]);
  });
});

describe('hole 5: a user names their referrer only right after signup', () => {
  it('is open for the window after signup, its last instant included, and closed after', () => {
    const signedUp = new Date('2027-01-01T00:00:00Z');
    const at = (minutes: number) => new Date(signedUp.getTime() + minutes * 60_000);
    expect(trackWindowOpen(signedUp, at(0), 60)).toBe(true);
    expect(trackWindowOpen(signedUp, at(60), 60)).toBe(true);
    expect(trackWindowOpen(signedUp, new Date(at(60).getTime() + 1), 60)).toBe(false);
    expect(trackWindowOpen(signedUp, at(6), 5)).toBe(false);
  });
});

describe('the settings of holes 4, 5 and 6', () => {
  const valid = {
    DATABASE_URL: 'postgres://u:p@localhost:5432/db',
    API_KEYS: 'admin:aaaaaaaaaaaaaaaa1',
    SESSION_SECRET: 'x'.repeat(32),
  };

  it('default to a 60-minute track window, 3 personal codes of at most 10 uses, and a 50% cap', () => {
    const config = loadConfig(valid);
    expect(config.trackWindowMinutes).toBe(60);
    expect(config.personalCodes).toEqual({ perUser: 3, maxUses: 10 });
    expect(config.commission.maxTotalRewardBps).toBe(5_000);
    const set = loadConfig({
      ...valid,
      TRACK_WINDOW_MINUTES: '15',
      PERSONAL_CODES_PER_USER: '0',
      PERSONAL_CODE_MAX_USES: '25',
      MAX_TOTAL_REWARD_BPS: '3000',
    });
    expect([set.trackWindowMinutes, set.personalCodes, set.commission.maxTotalRewardBps]).toEqual([
      15,
      { perUser: 0, maxUses: 25 },
      3_000,
    ]);
  });

  it.each([
    ['TRACK_WINDOW_MINUTES', '0'],
    ['PERSONAL_CODES_PER_USER', '-1'],
    ['PERSONAL_CODE_MAX_USES', '0'],
    ['MAX_TOTAL_REWARD_BPS', '10001'],
  ])('stops on %s=%s, naming it', (name, value) => {
    expect(() => loadConfig({ ...valid, [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ ...valid, [name]: value })).toThrow(new RegExp(name));
  });
});
