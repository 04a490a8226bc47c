import { describe, expect, it } from '@jest/globals';
import { DEFAULT_COMMISSION_SETTINGS, pricePayment, termsFor } from '../../domain/commission.ts';
import { edgeKindFor } from '../../domain/edge.ts';
import { betaReferrerTerms, launchStatus, publicPhaseEvent } from '../../domain/launch.ts';
import { launchFlipWorkflowId } from '../../contracts/launch-flip.ts';

describe('the launch flip', () => {
  it('is `launch-flip` on the default task queue, and apart per task queue otherwise', () => {
    expect(launchFlipWorkflowId('referral-graph')).toBe('launch-flip');
    expect(launchFlipWorkflowId('launch-1a2b')).toBe('launch-flip:launch-1a2b');
  });

  it('tells every edge the same event, so a repeat is a no-op', () => {
    expect(publicPhaseEvent('2026-01-01T00:00:00.000Z')).toEqual({
      eventId: 'phase:public',
      phase: 'public',
      changedAt: '2026-01-01T00:00:00.000Z',
    });
  });

  it('reports its status from the record', () => {
    expect(launchStatus(null)).toBe('not_started');
    expect(launchStatus({ workflowStarted: false, finishedAt: null })).toBe('starting');
    expect(launchStatus({ workflowStarted: true, finishedAt: null })).toBe('running');
    expect(launchStatus({ workflowStarted: true, finishedAt: new Date() })).toBe('completed');
  });

  it('enrolls a beta referrer at the beta tier, so its intentional edges after the flip earn what its beta edges earn', () => {
    for (const bps of [1_000, 1_250, 1_500]) {
      const terms = betaReferrerTerms(bps);
      expect(terms).toMatchObject({
        salesCommissionBps: bps,
        creditCommissionBps: 0,
        recurring: false,
        payoutMethod: 'stripe',
        payoutFrequency: 'monthly',
      });
      // After the flip every new edge is intentional and earns its partner's rates.
      expect(edgeKindFor({ phase: 'public', source: 'link', referrerIsApprovedPartner: true })).toBe('intentional');
      expect(termsFor('intentional', 'public', terms)).toEqual(termsFor('beta_auto', 'public', null, bps));
    }
    const settings = DEFAULT_COMMISSION_SETTINGS;
    const partner = betaReferrerTerms(settings.betaAutoBps);
    const price = (firstPaymentAt: Date | null) =>
      pricePayment({
        kind: 'intentional',
        phase: 'public',
        partner,
        selfPurchase: false,
        amountCents: 9_999,
        paidAt: new Date(),
        firstPaymentAt,
        settings,
      });
    expect(price(null)).toMatchObject({
      status: 'earned',
      earned: { cash: 999, credits: 0 },
      holdDays: settings.holdingPeriodDays,
    });
    expect(price(new Date(Date.now() - 1_000))).toEqual({ status: 'not_eligible', reason: 'outside_window' });
  });
});
