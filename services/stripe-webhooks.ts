// Stripe's webhooks: each signed event handled once, keeping the Connect account status our payout
// rule reads current.
import type { DatabasePool } from 'slonik';
import type Stripe from 'stripe';
import { recordStripeEvent, setStripeAccountStatus } from '../db/payouts.ts';
import { invalid } from './errors.ts';

/** The Connect account status our payout rule reads, from Stripe's account object. */
export function connectStatus(
  account: Pick<Stripe.Account, 'payouts_enabled' | 'details_submitted' | 'requirements'>,
): string {
  if (account.payouts_enabled) return 'enabled';
  if (account.requirements?.disabled_reason)
    return account.requirements.disabled_reason.startsWith('rejected') ? 'disabled' : 'restricted';
  return account.details_submitted ? 'restricted' : 'pending';
}

export type WebhookDeps = { db: DatabasePool; stripe: Stripe | null; webhookSecret: string | null };

/** A Stripe webhook: signature checked, each event id handled once, account status kept current. */
export async function handleStripeWebhook(
  deps: WebhookDeps,
  rawBody: Buffer,
  signature: string | undefined,
): Promise<{ eventId: string; duplicate: boolean }> {
  if (!deps.stripe || !deps.webhookSecret)
    throw invalid(
      'webhooks_not_configured',
      'Stripe webhooks are not configured (STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET).',
    );
  if (!signature) throw invalid('signature_missing', 'The Stripe-Signature header is missing.');
  let event: Stripe.Event;
  try {
    event = deps.stripe.webhooks.constructEvent(rawBody, signature, deps.webhookSecret);
  } catch (err) {
    throw invalid('signature_invalid', `The Stripe signature does not verify: ${(err as Error).message}`);
  }
  return deps.db.transaction(async (tx) => {
    if (!(await recordStripeEvent(tx, event.id, event.type))) return { eventId: event.id, duplicate: true };
    if (event.type === 'account.updated') {
      const account = event.data.object as Stripe.Account;
      await setStripeAccountStatus(tx, account.id, connectStatus(account));
    }
    return { eventId: event.id, duplicate: false };
  });
}
