// Stripe's webhooks: each signed event handled once, keeping the Connect account status our payout
// rule reads current.
import type { DatabasePool } from 'slonik';
import type Stripe from 'stripe';
import { z } from 'zod';
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

/** What an event must hold for us to act on it; a signed event without it is refused (400), not a 500. */
const eventShape = z.object({
  id: z.string().min(1).max(255),
  type: z.string().min(1).max(255),
  // Unix seconds; Stripe always sends it (an event without it counts as created when received).
  created: z.number().int().nonnegative().max(4_102_444_800).nullish(),
});
const accountShape = z.object({
  id: z.string().min(1).max(255),
  payouts_enabled: z.boolean().nullish(),
  details_submitted: z.boolean().nullish(),
  requirements: z.object({ disabled_reason: z.string().nullish() }).nullish(),
});

export type WebhookDeps = { db: DatabasePool; stripe: Stripe | null; webhookSecret: string | null };

/**
 * How far in the future a signature's timestamp or an event's `created` may be (clock skew), in seconds; older
 * signatures than the SDK's tolerance (also 300 s) are refused by the SDK.
 */
export const FUTURE_TOLERANCE_SECONDS = 300;

/** The signature's timestamp, read as the SDK reads it (the last `t=`); null when there is none. */
function signatureTimestamp(header: string): number | null {
  let timestamp: number | null = null;
  for (const item of header.split(',')) {
    const [key, value] = item.split('=');
    if (key === 't') timestamp = Number.parseInt(value ?? '', 10);
  }
  return timestamp !== null && Number.isFinite(timestamp) ? timestamp : null;
}

/**
 * A Stripe webhook: signature checked (neither older than the SDK's tolerance nor from the future), each event id
 * handled once, account status kept at the newest event's whatever the order of delivery.
 */
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
  // The SDK refuses signatures older than its tolerance but takes any from the future, which would
  // let a captured delivery be replayed for as long as its timestamp lies ahead.
  const now = Math.floor(Date.now() / 1000);
  const signedAt = signatureTimestamp(signature);
  if (signedAt === null || signedAt > now + FUTURE_TOLERANCE_SECONDS)
    throw invalid('signature_invalid', 'The Stripe signature does not verify: its timestamp is in the future.');
  const shape = eventShape.safeParse(event);
  const account = event.type === 'account.updated' ? accountShape.safeParse(event.data?.object) : null;
  if (!shape.success || (account && !account.success))
    throw invalid('event_malformed', 'The Stripe event is signed but does not have the shape of a Stripe event.');
  const created = shape.data.created ?? now;
  if (created > now + FUTURE_TOLERANCE_SECONDS)
    throw invalid('event_from_future', 'The Stripe event is created in the future.');
  return deps.db.transaction(async (tx) => {
    if (!(await recordStripeEvent(tx, event.id, event.type))) return { eventId: event.id, duplicate: true };
    if (account?.success) {
      // An event older than the one the status came from is handled and changes nothing.
      const checked = event.data.object as Stripe.Account;
      await setStripeAccountStatus(tx, checked.id, connectStatus(checked), { id: event.id, created });
    }
    return { eventId: event.id, duplicate: false };
  });
}
