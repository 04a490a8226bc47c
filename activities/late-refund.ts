// The side effect of a late refund (contracts/late-refund.ts): one PostgreSQL transaction that reads
// what the refund's payment keeps in the ledger, under the payment's lock, and posts the clawback
// the rule in domain/late-refund.ts answers, keyed `clawback:<refundId>` like the edge's own. A
// retry, a second start or a refund the edge took back itself finds the key and posts nothing.
// A payment on the whop rail takes back from the partner's earnings_whop, where its commission was
// mirrored (Whop claws back its own affiliate fee): never from our pending or payable.
import { ApplicationFailure } from '@temporalio/common';
import type { DatabasePool } from 'slonik';
import type { LateRefundOutcome } from '../contracts/late-refund.ts';
import { lateClawback, NOTHING, refundClawbackKey } from '../domain/late-refund.ts';
import { clawbackPosting } from '../domain/ledger-postings.ts';
import { lateRefundLedger } from '../db/late-refunds.ts';
import { postTransaction } from '../db/ledger.ts';
import { railOf, whopRailKept } from '../db/whop.ts';

/** The refund the outbox named is not in PostgreSQL: no retry can mend that (non-retryable). */
export const REFUND_NOT_RECORDED = 'RefundNotRecorded';

export type LateRefundActivities = ReturnType<typeof createLateRefundActivities>;

export function createLateRefundActivities({ db }: { db: DatabasePool }) {
  return {
    async takeBackLateRefund({ refundId }: { refundId: string }): Promise<LateRefundOutcome> {
      return db.transaction(async (tx) => {
        const facts = await lateRefundLedger(tx, refundId);
        if (!facts) throw ApplicationFailure.nonRetryable(`refund ${refundId} is not recorded`, REFUND_NOT_RECORDED);
        const answer = (outcome: LateRefundOutcome['outcome']): LateRefundOutcome => ({
          refundId,
          paymentId: facts.paymentId,
          outcome,
          takenBack: NOTHING,
          from: null,
        });
        if (facts.takenBack) return answer('already_taken_back');
        if (!facts.earned || !facts.edgeId) return answer('nothing_earned');
        const rail = await railOf(tx, facts.paymentId);
        const keptCash =
          rail === 'whop' ? await whopRailKept(tx, facts.paymentId) : facts.pendingCents + facts.payableCents;
        const amounts = lateClawback({
          amountCents: facts.amountCents,
          refundedCents: facts.refundedCents,
          terms: facts.earned.terms,
          kept: { cash: keptCash, credits: facts.credits },
        });
        // Out of pending while the commission is held there, else out of payable (which may go
        // negative: the next payouts net it off, domain/payouts.ts).
        const released = rail === 'ours' && amounts.cash > facts.pendingCents;
        const posting = clawbackPosting({
          key: refundClawbackKey(refundId),
          kind: 'clawback',
          paymentId: facts.paymentId,
          edgeId: facts.edgeId,
          to: facts.earned.beneficiary,
          amounts,
          released,
          rail,
        });
        if (!posting) return answer('nothing_left');
        await postTransaction(tx, posting);
        return {
          ...answer('taken_back'),
          takenBack: amounts,
          from: amounts.cash === 0 ? null : rail === 'whop' ? 'whop' : released ? 'payable' : 'pending',
        };
      });
    },
  };
}
