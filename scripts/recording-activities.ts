// Stand-in activities for scripts/record-histories.ts. Activities' side effects are not part of a
// history, only their results, so these answer as the real ones would, without PostgreSQL or Stripe.
import type { EdgeProgressActivities } from '../activities/edge-progress.ts';
import type { CommissionActivities } from '../activities/commission.ts';
import type { FraudActivities, ScreenResult } from '../activities/fraud.ts';
import type { WaveActivities } from '../activities/waves.ts';
import type { LaunchActivities } from '../activities/launch.ts';
import type { LateRefundActivities } from '../activities/late-refund.ts';
import type { PageResult, PayoutActivities } from '../activities/payouts.ts';
import type { FraudRingActivities } from '../activities/fraud-rings.ts';
import type { WhopActivities } from '../activities/whop.ts';
import { NO_CYCLE_TOTALS } from '../contracts/payout-cycle.ts';
import { DEFAULT_COMMISSION_SETTINGS, pricePayment } from '../domain/commission.ts';

// They answer as the real ones would for an affiliate edge at 20% cash and 5% credits, recurring 2 months.
const TERMS = { salesBps: 2_000, creditBps: 500, recurringMonths: 2 };
// The launch flip's stand-ins: five pages of two edges, one partner enrolled.
const LAUNCH_PAGES = [1, 2, 3, 4, 5].map((i) => `00000000-0000-4000-8000-00000000000${i}`);
const launchTotals = (pages: number) => ({ total: 10, converted: 2 * pages, skipped: 0, partnersEnrolled: 1 });
// The flip's admission stand-in: five users waiting, admitted `limit` at a time; the count starts
// again with each flip (its first run enrolls the partners).
const LAUNCH_WAITING = 5;
let launchAdmitted = 0;
// The payout cycle's stand-ins: pages of two partners by tenant id (one paid by Stripe, one rolled
// forward), then a last page of one awaiting a manual payout; a cycle named `busy-*` finds another running.
const PAYOUT_PAGES: PageResult[] = [
  {
    seen: 2,
    last: '00000000-0000-4000-8000-000000000011',
    paid: 1,
    paidCents: 12_345,
    failed: 0,
    awaitingManual: 0,
    rolledForward: 1,
    skipped: 0,
  },
  {
    seen: 2,
    last: '00000000-0000-4000-8000-000000000012',
    paid: 1,
    paidCents: 6_000,
    failed: 0,
    awaitingManual: 0,
    rolledForward: 1,
    skipped: 0,
  },
  {
    seen: 1,
    last: '00000000-0000-4000-8000-000000000013',
    paid: 0,
    paidCents: 0,
    failed: 0,
    awaitingManual: 1,
    rolledForward: 0,
    skipped: 0,
  },
];
const payoutActivities: PayoutActivities = {
  openPayoutCycle: async ({ cycleId }) =>
    cycleId.startsWith('busy-') ? { opened: false, runningCycleId: 'manual-running' } : { opened: true },
  payPage: async ({ after }) =>
    PAYOUT_PAGES[after === null ? 0 : PAYOUT_PAGES.findIndex((p) => p.last === after) + 1] ?? {
      ...NO_CYCLE_TOTALS,
      last: null,
    },
  closePayoutCycle: async () => {},
};
// The fraud rules' stand-in holds an edge when its referee activates and a payment whose id is
// `held`, with the verdict id the real screening writes; it allows everything else.
const screenEdge: FraudActivities['screenEdge'] = async ({ edgeId, stage, subject }): Promise<ScreenResult> =>
  stage === 'activation' || subject === 'held'
    ? {
        decision: 'hold',
        score: 100,
        reason: 'stand-in rule',
        rules: ['stand_in'],
        verdictId: `fraud:${stage}:${edgeId}:${subject ?? ''}`,
      }
    : { decision: 'allow', score: 0, reason: 'nothing found', rules: [], verdictId: null };
const whopPages: Record<string, number> = {};
export const recordingActivities: EdgeProgressActivities &
  FraudActivities &
  CommissionActivities &
  WaveActivities &
  LaunchActivities &
  LateRefundActivities &
  PayoutActivities &
  FraudRingActivities &
  WhopActivities = {
  ...payoutActivities,
  screenEdge,
  // A scan that found one ring of five accounts and held its four edges.
  scanFraudRings: async ({ scanId }) => ({
    scanId,
    accounts: 5,
    referrals: 4,
    components: 1,
    rings: 1,
    ringEdges: 4,
    verdictsRecorded: 4,
    held: 4,
    alreadyHeldOrVoided: 0,
    clearedBefore: 0,
    ignoredValues: 0,
    readMs: 3,
    findMs: 1,
    recordMs: 5,
  }),
  enrollLaunchPartners: async () => {
    launchAdmitted = 0;
    return launchTotals(0);
  },
  admitLaunchPage: async ({ limit }) => {
    const admitted = Math.min(limit, LAUNCH_WAITING - launchAdmitted);
    launchAdmitted += admitted;
    return { admitted, waitlistAdmitted: launchAdmitted, done: admitted < limit };
  },
  tellLaunchPage: async ({ after }) => {
    const page = after === null ? 0 : LAUNCH_PAGES.indexOf(after) + 1;
    if (page === LAUNCH_PAGES.length) return { ...launchTotals(page), done: true, last: after, told: 0 };
    return { ...launchTotals(page + 1), done: false, last: LAUNCH_PAGES[page]!, told: 2 };
  },
  finishLaunchFlip: async () => launchTotals(LAUNCH_PAGES.length),
  releaseDueWaves: async () => [{ waveId: 'wave', name: 'Wave 1', admittedNow: 200, admittedCount: 200, seatCap: 200 }],
  planWaves: async () => ({ planned: false, reason: 'not_due_yet' }),
  nextWave: async () => null,
  recordEdgeVested: async () => {},
  recordEdgeExpired: async () => {},
  recordEdgeCompleted: async () => {},
  recordEdgeVoided: async () => {},
  pricePayments: async (input) => {
    let first = input.firstPaymentAt;
    return input.payments.map((payment) => {
      const pricing = pricePayment({
        kind: 'intentional',
        phase: 'beta',
        partner: {
          salesCommissionBps: TERMS.salesBps,
          creditCommissionBps: TERMS.creditBps,
          recurring: true,
          recurringMonths: TERMS.recurringMonths,
        },
        selfPurchase: false,
        amountCents: payment.amountCents,
        paidAt: new Date(payment.paidAt),
        firstPaymentAt: first ? new Date(first) : null,
        settings: DEFAULT_COMMISSION_SETTINGS,
      });
      if (pricing.status !== 'earned') return pricing;
      first ??= payment.paidAt;
      return { ...pricing, beneficiary: { tenantId: 'tenant', referrerUserId: 'referrer' } };
    });
  },
  releaseCommission: async () => {},
  // A beta-seeded commission's gate: payments named `kept-*` are retained, any other is forfeited.
  settleRetentionGate: async ({ paymentId }) =>
    paymentId.startsWith('kept') ? { status: 'released' } : { status: 'forfeited', reason: 'referee_cancelled' },
  clawBackCommission: async () => {},
  markPaymentsNotEligible: async () => {},
  // The Whop reconciliation's pages: two of payments (the first records two, the second finds one known
  // and one it cannot map), one of refunds that records one, then the overrides (one window closed).
  reconcileWhopPage: async ({ stream }) => {
    const page = (whopPages[stream] = (whopPages[stream] ?? 0) + 1);
    if (stream === 'refunds') return { stream, items: 1, recorded: 1, known: 0, issues: 0, done: true };
    if (stream === 'overrides') return { stream, items: 2, recorded: 1, known: 1, issues: 0, done: true };
    return page === 1
      ? { stream, items: 2, recorded: 2, known: 0, issues: 0, done: false }
      : { stream, items: 2, recorded: 0, known: 1, issues: 1, done: true };
  },
  // A refund of 2,000 of a 4,999 payment at 20% and 5%: 599 cash and 149 credits kept, 400 and 100 back.
  takeBackLateRefund: async ({ refundId }) => ({
    refundId,
    paymentId: 'm2',
    outcome: 'taken_back',
    takenBack: { cash: 400, credits: 100 },
    from: 'payable',
  }),
};
