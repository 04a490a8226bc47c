// The ledger transactions an edge's money moves through, as pure data. Accounts: a partner
// tenant's earnings move pending (inside the holding period) -> payable -> paid, against the
// platform's commission expense; credit commission goes to the referrer's credits, issued by the
// platform. A positive balance is what the platform owes the account's owner. Every posting has a
// business key, so posting it twice writes it once.

export type Currency = 'USD' | 'CREDIT';
export type AccountRef = {
  ownerType: 'user' | 'tenant' | 'platform';
  ownerId: string;
  purpose: string;
  currency: Currency;
};
export type LedgerEntry = AccountRef & { amount: number };
export type LedgerPosting = { key: string; kind: string; metadata?: Record<string, unknown>; entries: LedgerEntry[] };

export type EarningsStage = 'pending' | 'payable' | 'paid';
/** An account without its owner: what every owner of that kind of account has (SQL over many owners filters by it). */
export type AccountKind = Omit<AccountRef, 'ownerId'>;

// The only place account names are spelled: the database keys accounts by these strings, so a
// second spelling elsewhere would silently read or write a different account.
const EARNINGS_PURPOSE: Record<EarningsStage, string> = {
  pending: 'earnings_pending',
  payable: 'earnings_payable',
  paid: 'earnings_paid',
};

export const partnerEarningsKind = (stage: EarningsStage): AccountKind => ({
  ownerType: 'tenant',
  purpose: EARNINGS_PURPOSE[stage],
  currency: 'USD',
});
export const partnerEarnings = (tenantId: string, stage: EarningsStage): AccountRef => ({
  ...partnerEarningsKind(stage),
  ownerId: tenantId,
});
export const userCredits = (userId: string): AccountRef => ({
  ownerType: 'user',
  ownerId: userId,
  purpose: 'credits',
  currency: 'CREDIT',
});
export const creditsIssued: AccountRef = {
  ownerType: 'platform',
  ownerId: 'platform',
  purpose: 'credits_issued',
  currency: 'CREDIT',
};
export const commissionExpense: AccountRef = {
  ownerType: 'platform',
  ownerId: 'platform',
  purpose: 'commission_expense',
  currency: 'USD',
};

/**
 * Who pays a payment's commission out: our payout cycles ('ours', through earnings pending ->
 * payable -> paid) or Whop, which pays its affiliate itself ('whop'): then the ledger mirrors the
 * commission on the partner's earnings_whop account, which no payout cycle reads, so it is never
 * paid twice. Refunds, voids and forfeits take it back from the account it went to.
 */
export type Rail = 'ours' | 'whop';
export const RAILS: readonly Rail[] = ['ours', 'whop'];
export const whopEarningsKind: AccountKind = { ownerType: 'tenant', purpose: 'earnings_whop', currency: 'USD' };
export const partnerWhopEarnings = (tenantId: string): AccountRef => ({ ...whopEarningsKind, ownerId: tenantId });
const railMeta = (rail: Rail | undefined) => (rail === 'whop' ? { rail } : {});

/** Who an edge's commission goes to: cash to the referrer's tenant, credits to the referrer. */
export type Beneficiary = { tenantId: string; referrerUserId: string };
export type Amounts = { cash: number; credits: number };

/** The kinds of posting that move a payment's commission (the release only moves it from pending to payable). */
export const COMMISSION_KINDS = ['commission', 'clawback', 'void', 'forfeit'] as const;

/** Entries moving `amount` from one account to another (none for a zero amount). */
function move(from: AccountRef, to: AccountRef, amount: number): LedgerEntry[] {
  if (amount === 0) return [];
  return [
    { ...from, amount: -amount },
    { ...to, amount },
  ];
}

function posting(
  key: string,
  kind: string,
  metadata: Record<string, unknown>,
  entries: LedgerEntry[],
): LedgerPosting | null {
  return entries.length === 0 ? null : { key, kind, metadata, entries };
}

/** A payment's commission: cash into the partner's pending earnings, credits to the referrer. */
export function commissionPosting(p: {
  paymentId: string;
  edgeId: string;
  to: Beneficiary;
  earned: Amounts;
  rail?: Rail;
}): LedgerPosting | null {
  const cashTo = p.rail === 'whop' ? partnerWhopEarnings(p.to.tenantId) : partnerEarnings(p.to.tenantId, 'pending');
  return posting(
    `commission:${p.paymentId}`,
    'commission',
    { paymentId: p.paymentId, edgeId: p.edgeId, ...railMeta(p.rail) },
    [
      ...move(commissionExpense, cashTo, p.earned.cash),
      ...move(creditsIssued, userCredits(p.to.referrerUserId), p.earned.credits),
    ],
  );
}

/** The key of a payment's release: posted once, it is also the record that the commission was released. */
export const releaseKey = (paymentId: string) => `release:${paymentId}`;

/** Pending commission that passed its holding period becomes payable. */
export function releasePosting(p: {
  paymentId: string;
  edgeId: string;
  to: Beneficiary;
  cash: number;
  rail?: Rail;
}): LedgerPosting | null {
  // Whop pays its rail's commission itself: there is nothing of ours to release.
  if (p.rail === 'whop') return null;
  return posting(
    releaseKey(p.paymentId),
    'commission_release',
    { paymentId: p.paymentId, edgeId: p.edgeId },
    move(partnerEarnings(p.to.tenantId, 'pending'), partnerEarnings(p.to.tenantId, 'payable'), p.cash),
  );
}

/**
 * Takes back commission: from pending while the payment's commission is held, else from payable
 * (which may go negative: later payouts net it off). `reason` names the refund or the void.
 */
export type ClawbackOf = {
  key: string;
  kind: 'clawback' | 'void';
  paymentId: string;
  edgeId: string;
  to: Beneficiary;
  amounts: Amounts;
  released: boolean;
  rail?: Rail;
};

export function clawbackPosting(p: ClawbackOf): LedgerPosting | null {
  const from =
    p.rail === 'whop'
      ? partnerWhopEarnings(p.to.tenantId)
      : partnerEarnings(p.to.tenantId, p.released ? 'payable' : 'pending');
  return posting(p.key, p.kind, { paymentId: p.paymentId, edgeId: p.edgeId, ...railMeta(p.rail) }, [
    ...move(from, commissionExpense, p.amounts.cash),
    ...move(userCredits(p.to.referrerUserId), creditsIssued, p.amounts.credits),
  ]);
}

/**
 * A beta-seeded commission forfeited at its retention gate (its referee cancelled, refunded or
 * charged back by then): what it still keeps goes back from pending, once per payment.
 */
export function forfeitPosting(p: {
  paymentId: string;
  edgeId: string;
  to: Beneficiary;
  amounts: Amounts;
  reason: string;
  rail?: Rail;
}): LedgerPosting | null {
  const from = p.rail === 'whop' ? partnerWhopEarnings(p.to.tenantId) : partnerEarnings(p.to.tenantId, 'pending');
  const meta = { paymentId: p.paymentId, edgeId: p.edgeId, reason: p.reason, ...railMeta(p.rail) };
  return posting(`forfeit:${p.paymentId}`, 'forfeit', meta, [
    ...move(from, commissionExpense, p.amounts.cash),
    ...move(userCredits(p.to.referrerUserId), creditsIssued, p.amounts.credits),
  ]);
}

/** A payout sent: the partner's payable earnings become paid, with the payout id as the key. */
export function payoutPosting(p: { payoutId: string; tenantId: string; amountCents: number }): LedgerPosting | null {
  return posting(
    `payout:${p.payoutId}`,
    'payout',
    { payoutId: p.payoutId },
    move(partnerEarnings(p.tenantId, 'payable'), partnerEarnings(p.tenantId, 'paid'), p.amountCents),
  );
}

/**
 * The key of a rung's grant: the rung and, from its second grant on (it was revoked, then reached
 * again), which grant. The first grant's key is the one grants had before revocation existed.
 */
const grantKey = (userId: string, rung: number, grant: number) =>
  grant === 1 ? `${userId}:${rung}` : `${userId}:${rung}:${grant}`;

/** The credits a milestone rung grants a referrer, once per grant: the rung and the grant are in the key. */
export function milestonePosting(p: {
  userId: string;
  rung: number;
  credits: number;
  grant?: number;
}): LedgerPosting | null {
  const grant = p.grant ?? 1;
  return posting(
    `milestone:${grantKey(p.userId, p.rung, grant)}`,
    'milestone_credits',
    { userId: p.userId, rung: p.rung, grant },
    move(creditsIssued, userCredits(p.userId), p.credits),
  );
}

/**
 * A revoked grant's credits taken back, once per grant: `credits` is what is taken (what was left
 * of them), `shortfall` what had been spent already and could not be.
 */
export function milestoneReversalPosting(p: {
  userId: string;
  rung: number;
  grant: number;
  credits: number;
  shortfall: number;
}): LedgerPosting | null {
  return posting(
    `milestone-reversal:${p.userId}:${p.rung}:${p.grant}`,
    'milestone_credits_reversal',
    { userId: p.userId, rung: p.rung, grant: p.grant, shortfall: p.shortfall },
    move(userCredits(p.userId), creditsIssued, p.credits),
  );
}

/** The credits an invite code grants its redeemer, once per redemption: the redemption is the key. */
export function inviteCreditsPosting(p: {
  redemptionId: string;
  codeId: string;
  userId: string;
  credits: number;
}): LedgerPosting | null {
  return posting(
    `redemption:${p.redemptionId}`,
    'invite_credits',
    { codeId: p.codeId, userId: p.userId },
    move(creditsIssued, userCredits(p.userId), p.credits),
  );
}
