// The milestone ladder: what a referrer's vested referrals earn, rung by rung (credits through the
// ledger, entitlements, badges), and what a rung's grant gives back when the count falls below it
// again (a referral voided, or held). Pure: no I/O.

// ---- Milestone ladder -------------------------------------------------------------------------

export type Reward =
  | { kind: 'credits'; amount: number }
  | { kind: 'badge'; name: string }
  | { kind: 'position_jump' }
  | { kind: 'pro_preview'; days: number }
  | { kind: 'pro'; days: number; vestsOnActivation: boolean }
  | { kind: 'studio'; days: number }
  | { kind: 'wave_skip' }
  | { kind: 'founding_price_lock' }
  | { kind: 'name_on_wall' }
  | { kind: 'founder_community' }
  | { kind: 'founder_calls' }
  | { kind: 'affiliate_revenue_share' };

export type Rung = { at: number; title: string | null; label: string; rewards: readonly Reward[] };

const MONTH_DAYS = 30;

/** The ladder of PRODUCT.md, exactly: vested referrals -> rewards, each rung granted once. */
export const LADDER: readonly Rung[] = [
  {
    at: 1,
    title: null,
    label: 'a badge, 250 credits and a jump up the list',
    rewards: [{ kind: 'badge', name: 'first-referral' }, { kind: 'credits', amount: 250 }, { kind: 'position_jump' }],
  },
  {
    at: 3,
    title: null,
    label: '1,000 credits and a 7-day Pro preview',
    rewards: [
      { kind: 'credits', amount: 1000 },
      { kind: 'pro_preview', days: 7 },
    ],
  },
  {
    at: 5,
    title: null,
    label: 'a skip to the next wave and the "Builder" badge',
    rewards: [{ kind: 'wave_skip' }, { kind: 'badge', name: 'Builder' }],
  },
  {
    at: 10,
    title: null,
    label: '1 month of Pro (starts when you build an app) and the founding price lock',
    rewards: [{ kind: 'pro', days: MONTH_DAYS, vestsOnActivation: true }, { kind: 'founding_price_lock' }],
  },
  {
    at: 25,
    title: 'Founder',
    label: '3 months of Pro, your name on the wall and the founder community',
    rewards: [
      { kind: 'pro', days: 3 * MONTH_DAYS, vestsOnActivation: false },
      { kind: 'name_on_wall' },
      { kind: 'founder_community' },
    ],
  },
  {
    at: 50,
    title: 'Champion',
    label: '6 months of Pro and build-with-founders calls',
    rewards: [{ kind: 'pro', days: 6 * MONTH_DAYS, vestsOnActivation: false }, { kind: 'founder_calls' }],
  },
  {
    at: 100,
    title: 'Legend',
    label: '1 year of Studio and a real affiliate revenue share',
    rewards: [{ kind: 'studio', days: 365 }, { kind: 'affiliate_revenue_share' }],
  },
];

/** Rungs reached with this many vested referrals. */
export function rungsReached(vested: number): Rung[] {
  return LADDER.filter((r) => vested >= r.at);
}

/**
 * The next rung still to earn: not yet reached, and not held now. A rung is held once per reach: a
 * grant revoked when the count fell below it is earned again by reaching it again.
 */
export function nextRung(vested: number, granted: ReadonlySet<number> = new Set()): Rung | null {
  return LADDER.find((r) => vested < r.at && !granted.has(r.at)) ?? null;
}

/** Whether a user with these grants is in the next wave regardless of score. */
export function hasWaveSkip(vested: number): boolean {
  return rungsReached(vested).some((r) => r.rewards.some((w) => w.kind === 'wave_skip'));
}

/** Where a grant's entitlements come from: the rung and, from its second grant on, which grant. */
export function grantSource(rung: number, grant: number): string {
  return grant === 1 ? `milestone:${rung}` : `milestone:${rung}:${grant}`;
}

/**
 * What a revoked grant takes back of its credits: all of them while the user still has them; of
 * credits already spent, what is left (the balance never goes below zero), the rest recorded as the
 * shortfall.
 */
export function creditsToTakeBack(granted: number, balance: number): { takeBack: number; shortfall: number } {
  const takeBack = Math.max(0, Math.min(granted, balance));
  return { takeBack, shortfall: granted - takeBack };
}

export function creditsOf(rung: Rung): number {
  return rung.rewards.reduce((sum, r) => sum + (r.kind === 'credits' ? r.amount : 0), 0);
}

/** An entitlement row a rung grants (credits go to the ledger instead; the jump is the score itself). */
export type EntitlementGrant = {
  kind: string;
  detail: string;
  durationDays: number | null;
  vestsOnActivation: boolean;
};

export function entitlementsOf(rung: Rung): EntitlementGrant[] {
  return rung.rewards.flatMap((r): EntitlementGrant[] => {
    switch (r.kind) {
      case 'credits':
      case 'position_jump':
        return [];
      case 'badge':
        return [{ kind: 'badge', detail: r.name, durationDays: null, vestsOnActivation: false }];
      case 'pro_preview':
        return [{ kind: 'pro_preview', detail: '', durationDays: r.days, vestsOnActivation: false }];
      case 'pro':
        return [{ kind: 'pro', detail: '', durationDays: r.days, vestsOnActivation: r.vestsOnActivation }];
      case 'studio':
        return [{ kind: 'studio', detail: '', durationDays: r.days, vestsOnActivation: false }];
      default:
        return [{ kind: r.kind, detail: '', durationDays: null, vestsOnActivation: false }];
    }
  });
}

// ---- Legend graduates -----------------------------------------------------------------------

/** Whether reaching this rung makes the referrer a partner (the Legend rung's real affiliate revenue share). */
export function graduatesToPartner(rung: Rung): boolean {
  return rung.rewards.some((r) => r.kind === 'affiliate_revenue_share');
}

/**
 * Who approved a partner a graduation enrolled, and why, as its `approvedBy` says: the rung that
 * graduated them (its first grant: a later grant of it enrolls nobody again).
 */
export function graduationSource(rung: number): string {
  return grantSource(rung, 1);
}

export type GraduationOutcome = 'enrolled' | 'raised' | 'kept';
