// What pricing a payment on an edge reads, and where a payment's pricing is recorded: once, so a
// retried pricing answers the recorded one instead of pricing again.
import { sql } from 'slonik';
import { z } from 'zod';
import { EDGE_KINDS, PROGRAM_PHASES, type EdgeKind, type ProgramPhase } from '../domain/edge.ts';
import type { PartnerRates, Pricing } from '../domain/commission.ts';
import type { Db } from './pool.ts';

/** One query: the phase now, the edge, who referred and who buys, the partner's rates. */
const pricingContextRow = z.object({
  phase: z.enum(PROGRAM_PHASES),
  kind: z.enum(EDGE_KINDS),
  referrer_id: z.uuid(),
  referrer_inbox: z.string(),
  referrer_tenant_id: z.uuid(),
  referee_id: z.uuid(),
  referee_inbox: z.string(),
  sales_commission_bps: z.number().nullable(),
  credit_commission_bps: z.number().nullable(),
  recurring: z.boolean().nullable(),
  recurring_months: z.number().nullable(),
  partner_usable: z.boolean(),
});
type PricingContextRow = z.infer<typeof pricingContextRow>;

export type PricingContext = {
  phase: ProgramPhase;
  kind: EdgeKind;
  /**
   * `tenantId`: the tenant credited for the referral: the referrer's own, or, for a user of an
   * agency's sub-account, the agency (the sub-account's parent), whose partner earns the commission.
   */
  referrer: { id: string; inbox: string; tenantId: string };
  /** The payer: an edge's payments are its referee's. */
  referee: { id: string; inbox: string };
  /** Null: the referrer's tenant has no partner that may earn now (none, not approved, or inactive). */
  partner: PartnerRates | null;
};

/** The rate columns come from a LEFT JOIN: null exactly when there is no partner, and then it is not usable. */
function partnerRates(row: PricingContextRow): PartnerRates | null {
  if (!row.partner_usable) return null;
  return {
    salesCommissionBps: row.sales_commission_bps!,
    creditCommissionBps: row.credit_commission_bps!,
    recurring: row.recurring!,
    recurringMonths: row.recurring_months!,
  };
}

export async function pricingContext(db: Db, edgeId: string): Promise<PricingContext | null> {
  const row = await db.maybeOne(sql.type(pricingContextRow)`
    SELECT prog.phase, e.kind, e.referrer_id, referrer.inbox AS referrer_inbox, coalesce(rt.parent_tenant_id, referrer.tenant_id) AS referrer_tenant_id,
           e.referee_id, referee.inbox AS referee_inbox,
           p.sales_commission_bps, p.credit_commission_bps, p.recurring, p.recurring_months,
           coalesce(p.approved AND p.status = 'active', false) AS partner_usable
    FROM edges e
    JOIN users referrer ON referrer.id = e.referrer_id
    JOIN users referee ON referee.id = e.referee_id
    JOIN tenants rt ON rt.id = referrer.tenant_id
    LEFT JOIN partners p ON p.tenant_id = coalesce(rt.parent_tenant_id, referrer.tenant_id)
    CROSS JOIN program prog
    WHERE e.id = ${edgeId}`);
  if (!row) return null;
  return {
    phase: row.phase,
    kind: row.kind,
    referrer: { id: row.referrer_id, inbox: row.referrer_inbox, tenantId: row.referrer_tenant_id },
    referee: { id: row.referee_id, inbox: row.referee_inbox },
    partner: partnerRates(row),
  };
}

/**
 * Locks the payments and answers the pricing each already has (a retried pricing answers it instead of pricing again);
 * missing ids are absent.
 */
export async function lockPaymentPricings(db: Db, paymentIds: readonly string[]): Promise<Map<string, unknown>> {
  const rows = await db.any(sql.type(z.object({ id: z.string(), pricing: z.unknown() }))`
    SELECT id, pricing FROM payments WHERE id = ANY(${sql.array([...paymentIds], 'text')}) ORDER BY id FOR UPDATE`);
  return new Map(rows.map((r) => [r.id, r.pricing ?? null]));
}

export async function recordPaymentPricings(
  db: Db,
  pricings: readonly { paymentId: string; pricing: Pricing & { beneficiary?: unknown } }[],
): Promise<void> {
  if (pricings.length === 0) return;
  await db.query(sql.unsafe`
    UPDATE payments p SET pricing = x.pricing, commission_status = x.pricing ->> 'status', commission_reason = x.pricing ->> 'reason', priced_at = now()
    FROM unnest(${sql.array(
      pricings.map((x) => x.paymentId),
      'text',
    )}, ${sql.array(
      pricings.map((x) => JSON.stringify(x.pricing)),
      'jsonb',
    )}) AS x(id, pricing)
    WHERE p.id = x.id AND p.pricing IS NULL`);
}

/** Payments that will never be priced (their edge expired or was voided first). */
export async function markPaymentsNotEligible(db: Db, paymentIds: readonly string[], reason: string): Promise<void> {
  if (paymentIds.length === 0) return;
  await db.query(sql.unsafe`
    UPDATE payments SET commission_status = 'not_eligible', commission_reason = ${reason}, priced_at = now(),
      pricing = jsonb_build_object('status', 'not_eligible', 'reason', ${reason}::text)
    WHERE id = ANY(${sql.array([...paymentIds], 'text')}) AND pricing IS NULL`);
}
