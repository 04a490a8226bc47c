// Whop: a buyer's checkout carrying their referrer's affiliate code (from the graph, not a cookie;
// the referrer's affiliate and its override minted once, when first needed), and Whop's signed
// webhooks turned into the payments and refunds POST /v1/payments and POST /v1/refunds record.
import { randomUUID } from 'node:crypto';
import type { DatabasePool } from 'slonik';
import { termsFor, type CommissionSettings } from '../domain/commission.ts';
import {
  checkoutAttribution,
  checkoutMetadata,
  isDisputeLost,
  overrideTerms,
  type NoCodeReason,
} from '../domain/whop.ts';
import { pricingContext } from '../db/pricing.ts';
import {
  buyerEdge,
  completeCheckout,
  findAffiliate,
  findOverride,
  forgetWhopEvent,
  ingestPaymentOfWhop,
  ingestRefundOfWhop,
  insertAffiliate,
  insertCheckout,
  lockReferrerMint,
  recordWhopEvent,
  saveOverride,
  type PaymentIngest,
  type RefundIngest,
} from '../db/whop.ts';
import { whopPaymentOf, whopRefundOf, WhopSignatureInvalid, type WhopClient } from '../platform/whop.ts';
import { invalid } from './errors.ts';

export type WhopDeps = { db: DatabasePool; whop: WhopClient | null; commission: CommissionSettings };

export type CheckoutResult = {
  checkoutId: string;
  whopCheckoutId: string;
  purchaseUrl: string;
  planId: string;
  edgeId: string | null;
  affiliateCode: string | null;
  noCodeReason: NoCodeReason | null;
};

function configured(deps: WhopDeps): WhopClient {
  if (!deps.whop) throw invalid('whop_not_configured', 'Whop is not configured (WHOP_API_KEY, WHOP_COMPANY_ID).');
  return deps.whop;
}

/**
 * The referrer's affiliate code for a plan, minting what is missing under the referrer's lock: the
 * affiliate (create-or-find by email at Whop, recorded on the referrer) and the plan's override with
 * our terms (updated when they changed). Two racing checkouts: one affiliate, one override.
 */
async function affiliateCodeFor(
  deps: WhopDeps,
  whop: WhopClient,
  referrer: { id: string; email: string },
  planId: string,
  terms: ReturnType<typeof overrideTerms>,
): Promise<string | null> {
  return deps.db.transaction(async (tx) => {
    await lockReferrerMint(tx, referrer.id);
    let affiliate = await findAffiliate(tx, referrer.id);
    if (!affiliate) {
      const minted = await whop.createOrFindAffiliate(referrer.email);
      await insertAffiliate(tx, { userId: referrer.id, affiliateId: minted.id, code: minted.code });
      affiliate = { user_id: referrer.id, affiliate_id: minted.id, code: minted.code };
    }
    const override = await findOverride(tx, referrer.id, planId);
    const want = { planId, percent: terms.percent, appliesTo: terms.appliesTo };
    if (!override) {
      const created = await whop.createOverride(affiliate.affiliate_id, want);
      await saveOverride(tx, { userId: referrer.id, planId, overrideId: created.id, ...terms });
    } else if (override.commission_percent !== terms.percent || override.applies_to_payments !== terms.appliesTo) {
      await whop.updateOverride(affiliate.affiliate_id, override.override_id, want);
      await saveOverride(tx, { userId: referrer.id, planId, overrideId: override.override_id, ...terms });
    }
    return affiliate.code;
  });
}

/**
 * A Whop checkout for the buyer: with their referrer's affiliate code when their edge earns now
 * (not held, not voided, eligible in the current phase), without one otherwise; our checkout id,
 * the buyer and the edge in Whop's metadata; our checkout id as Whop's idempotency key.
 */
export async function createCheckout(
  deps: WhopDeps,
  input: { buyerId: string; planId: string; redirectUrl?: string | undefined },
): Promise<CheckoutResult> {
  const whop = configured(deps);
  const edge = await buyerEdge(deps.db, input.buyerId);
  const context = edge ? await pricingContext(deps.db, edge.edge_id) : null;
  const terms = context
    ? termsFor(
        context.kind,
        context.phase,
        context.partner,
        deps.commission.betaAutoBps,
        deps.commission.maxTotalRewardBps,
      )
    : null;
  const decision = checkoutAttribution(edge ? { held: edge.held, voided: edge.voided, terms } : null);
  let affiliateCode: string | null = null;
  let noCodeReason: NoCodeReason | null = decision.attributed ? null : decision.reason;
  if (decision.attributed && edge) {
    affiliateCode = await affiliateCodeFor(
      deps,
      whop,
      { id: edge.referrer_id, email: edge.referrer_email },
      input.planId,
      overrideTerms(decision.terms),
    );
    if (!affiliateCode) noCodeReason = 'no_username';
  }
  const checkoutId = randomUUID();
  const edgeId = edge?.edge_id ?? null;
  await insertCheckout(deps.db, {
    id: checkoutId,
    buyerId: input.buyerId,
    edgeId,
    planId: input.planId,
    affiliateCode,
    noCodeReason,
  });
  const created = await whop.createCheckout({
    planId: input.planId,
    affiliateCode,
    metadata: checkoutMetadata({ buyerId: input.buyerId, edgeId, checkoutId }),
    redirectUrl: input.redirectUrl,
    idempotencyKey: checkoutId,
  });
  await completeCheckout(deps.db, checkoutId, created.id, created.purchaseUrl);
  return {
    checkoutId,
    whopCheckoutId: created.id,
    purchaseUrl: created.purchaseUrl,
    planId: input.planId,
    edgeId,
    affiliateCode,
    noCodeReason,
  };
}

export type WebhookOutcome = PaymentIngest | RefundIngest | 'ignored';

/** A Whop refund whose payment we have not seen yet: the payment is fetched and recorded first. */
export async function refundWithPayment(
  db: DatabasePool,
  whop: WhopClient,
  refund: Parameters<typeof ingestRefundOfWhop>[1],
): Promise<RefundIngest> {
  const first = await ingestRefundOfWhop(db, refund);
  if (first !== 'unknown_payment' || !refund.paymentId) return first;
  const ingested = await ingestPaymentOfWhop(db, await whop.retrievePayment(refund.paymentId));
  if (ingested !== 'recorded' && ingested !== 'already_recorded') return 'unknown_payment';
  return ingestRefundOfWhop(db, refund);
}

/**
 * A Whop webhook: Standard Webhooks signature checked on the raw body (headers always passed),
 * each event id handled once; payment.succeeded, refund.created|updated and dispute.* go the way of
 * our payments and refunds. A failure forgets the event, so Whop's retry handles it again.
 */
export async function handleWhopWebhook(
  deps: Pick<WhopDeps, 'db' | 'whop'>,
  rawBody: Buffer,
  headers: { id: string | undefined; timestamp: string | undefined; signature: string | undefined },
): Promise<{ eventId: string; duplicate: boolean; outcome: WebhookOutcome | null }> {
  if (!deps.whop)
    throw invalid('webhooks_not_configured', 'Whop webhooks are not configured (WHOP_API_KEY, WHOP_WEBHOOK_SECRET).');
  let event;
  try {
    event = deps.whop.unwrapWebhook(rawBody, headers);
  } catch (err) {
    if (err instanceof WhopSignatureInvalid) throw invalid('signature_invalid', err.message);
    throw err;
  }
  if (!(await recordWhopEvent(deps.db, event.id, event.type)))
    return { eventId: event.id, duplicate: true, outcome: null };
  try {
    return { eventId: event.id, duplicate: false, outcome: await handleEvent(deps.db, deps.whop, event) };
  } catch (err) {
    await forgetWhopEvent(deps.db, event.id);
    throw err;
  }
}

async function handleEvent(
  db: DatabasePool,
  whop: WhopClient,
  event: { type: string; data: Record<string, unknown> },
): Promise<WebhookOutcome> {
  if (event.type === 'payment.succeeded') return ingestPaymentOfWhop(db, whopPaymentOf(event.data));
  if (event.type === 'refund.created' || event.type === 'refund.updated')
    return refundWithPayment(db, whop, whopRefundOf(event.data));
  if (event.type.startsWith('dispute.')) {
    // A dispute the payer won takes the money back: a chargeback, by the dispute's id.
    if (!isDisputeLost(event.data.status)) return 'ignored';
    const d = whopRefundOf(event.data);
    return refundWithPayment(db, whop, { ...d, status: 'succeeded', chargeback: true });
  }
  return 'ignored';
}
