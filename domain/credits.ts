// Credits people can use: the ledger postings of credits granted both ways (an invite's or a link's),
// taken back by a fraud void, and spent by the product on a build. Credits move between a user's
// credits account and the platform's credits issued (ledger-postings.ts spells the accounts); a
// spend retires them (never cash). Every posting has a business key, so it is written once. Pure.
import { creditsIssued, userCredits, type LedgerPosting } from './ledger-postings.ts';

const grant = (key: string, kind: string, userId: string, credits: number, metadata: Record<string, unknown>) =>
  credits <= 0
    ? null
    : ({
        key,
        kind,
        metadata: { userId, ...metadata },
        entries: [
          { ...creditsIssued, amount: -credits },
          { ...userCredits(userId), amount: credits },
        ],
      } satisfies LedgerPosting);

/** The inviter's grant when the invitee builds an app: once per edge. */
export const inviterGrantKey = (edgeId: string) => `invite-inviter:${edgeId}`;
export function inviterGrantPosting(p: { edgeId: string; userId: string; credits: number }): LedgerPosting | null {
  return grant(inviterGrantKey(p.edgeId), 'invite_inviter_credits', p.userId, p.credits, { edgeId: p.edgeId });
}

/** The invitee's grant at a signup through a referral link: once per edge. */
export const linkInviteeKey = (edgeId: string) => `link-invitee:${edgeId}`;
export function linkInviteePosting(p: { edgeId: string; userId: string; credits: number }): LedgerPosting | null {
  return grant(linkInviteeKey(p.edgeId), 'link_invitee_credits', p.userId, p.credits, { edgeId: p.edgeId });
}

/** A grant taken back by a fraud void, once per grant: what was left of it (the rest, spent, is the shortfall). */
export function grantReversalPosting(p: {
  grantKey: string;
  edgeId: string;
  userId: string;
  credits: number;
  shortfall: number;
}): LedgerPosting | null {
  if (p.credits <= 0) return null;
  return {
    key: `reversal:${p.grantKey}`,
    kind: 'invite_credits_reversal',
    metadata: { userId: p.userId, edgeId: p.edgeId, grantKey: p.grantKey, shortfall: p.shortfall },
    entries: [
      { ...userCredits(p.userId), amount: -p.credits },
      { ...creditsIssued, amount: p.credits },
    ],
  };
}

/** What a reversal takes back: all of the grant while the user still has it, else what is left (never below zero). */
export function takeBack(granted: number, balance: number): { credits: number; shortfall: number } {
  const credits = Math.max(0, Math.min(granted, balance));
  return { credits, shortfall: granted - credits };
}

/** A spend of a user's credits by the product: once per spend id. */
export const spendKey = (spendId: string) => `spend:${spendId}`;
export function spendPosting(p: {
  spendId: string;
  userId: string;
  credits: number;
  reason: string | null;
}): LedgerPosting {
  return {
    key: spendKey(p.spendId),
    kind: 'credit_spend',
    metadata: { userId: p.userId, spendId: p.spendId, ...(p.reason === null ? {} : { reason: p.reason }) },
    entries: [
      { ...userCredits(p.userId), amount: -p.credits },
      { ...creditsIssued, amount: p.credits },
    ],
  };
}

export type SpendOutcome = 'spent' | 'insufficient_credits';
/** A spend is taken whole or not at all: the balance never goes below zero. */
export const spendOutcome = (balance: number, credits: number): SpendOutcome =>
  credits <= balance ? 'spent' : 'insufficient_credits';

/** Two requests with one spend id are the same spend when they name the same user, amount and reason. */
export const sameSpend = (
  a: { userId: string; credits: number; reason: string | null },
  b: { userId: string; credits: number; reason: string | null },
): boolean => a.userId === b.userId && a.credits === b.credits && a.reason === b.reason;
