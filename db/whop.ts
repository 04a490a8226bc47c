// Whop's side of the graph in PostgreSQL: the referrer's affiliate and overrides (minted once, under
// a per-referrer lock), the checkouts we created, Whop's events (each once), memberships that map
// renewals back to a buyer, payments that arrived through Whop (on the `whop` rail), the
// reconciliation's cursors and what it could not explain.
import { sql, type DatabasePool, type DatabaseTransactionConnection } from 'slonik';
import { z } from 'zod';
import { RAILS, whopEarningsKind, type Rail } from '../domain/ledger-postings.ts';
import { buyerOfMetadata } from '../domain/whop.ts';
import type { WhopPayment, WhopRefund } from '../platform/whop.ts';
import { insertPayment, type PaymentRow } from './payments.ts';
import { insertRefund } from './refunds.ts';
import type { Db } from './pool.ts';

/** The rail of each payment (absent: no such payment). */
export async function railsOf(db: Db, paymentIds: readonly string[]): Promise<Map<string, Rail>> {
  if (paymentIds.length === 0) return new Map();
  const rows = await db.any(sql.type(z.object({ id: z.string(), rail: z.enum(RAILS as [Rail, ...Rail[]]) }))`
    SELECT id, rail FROM payments WHERE id = ANY(${sql.array([...paymentIds], 'text')})`);
  return new Map(rows.map((r) => [r.id, r.rail]));
}

export async function railOf(db: Db, paymentId: string): Promise<Rail> {
  return (await railsOf(db, [paymentId])).get(paymentId) ?? 'ours';
}

const buyerEdgeRow = z.object({
  edge_id: z.uuid(),
  referrer_id: z.uuid(),
  referrer_email: z.string(),
  held: z.boolean(),
  voided: z.boolean(),
});
export type BuyerEdge = z.infer<typeof buyerEdgeRow>;

/** The buyer's edge (they are its referee) with its referrer and whether it is held or voided; null: none. */
export async function buyerEdge(db: Db, buyerId: string): Promise<BuyerEdge | null> {
  return db.maybeOne(sql.type(buyerEdgeRow)`
    SELECT e.id AS edge_id, e.referrer_id, r.email AS referrer_email,
           e.held_at IS NOT NULL AS held, e.voided_at IS NOT NULL AS voided
    FROM edges e JOIN users r ON r.id = e.referrer_id WHERE e.referee_id = ${buyerId}`);
}

export async function userExists(db: Db, userId: string): Promise<boolean> {
  return (
    (await db.maybeOneFirst(
      sql.type(z.object({ ok: z.boolean() }))`SELECT true AS ok FROM users WHERE id = ${userId}`,
    )) !== null
  );
}

/** Serializes minting for one referrer until the transaction ends (two racing checkouts: one mint). */
export async function lockReferrerMint(tx: DatabaseTransactionConnection, referrerId: string): Promise<void> {
  await tx.query(sql.unsafe`SELECT pg_advisory_xact_lock(hashtext(${`whop-affiliate:${referrerId}`}))`);
}

const affiliateRow = z.object({ user_id: z.uuid(), affiliate_id: z.string(), code: z.string().nullable() });
export type AffiliateRow = z.infer<typeof affiliateRow>;

export async function findAffiliate(db: Db, userId: string): Promise<AffiliateRow | null> {
  return db.maybeOne(
    sql.type(affiliateRow)`SELECT user_id, affiliate_id, code FROM whop_affiliates WHERE user_id = ${userId}`,
  );
}

export async function insertAffiliate(db: Db, a: { userId: string; affiliateId: string; code: string | null }) {
  await db.query(sql.unsafe`
    INSERT INTO whop_affiliates (user_id, affiliate_id, code) VALUES (${a.userId}, ${a.affiliateId}, ${a.code})
    ON CONFLICT (user_id) DO NOTHING`);
}

const overrideRow = z.object({
  override_id: z.string(),
  commission_percent: z.coerce.number(),
  applies_to_payments: z.enum(['first_payment', 'all_payments']),
});
export type OverrideRow = z.infer<typeof overrideRow>;

export async function findOverride(db: Db, userId: string, planId: string): Promise<OverrideRow | null> {
  return db.maybeOne(sql.type(overrideRow)`
    SELECT override_id, commission_percent, applies_to_payments FROM whop_overrides WHERE user_id = ${userId} AND plan_id = ${planId}`);
}

export async function saveOverride(
  db: Db,
  o: { userId: string; planId: string; overrideId: string; percent: number; appliesTo: string },
): Promise<void> {
  await db.query(sql.unsafe`
    INSERT INTO whop_overrides (user_id, plan_id, override_id, commission_percent, applies_to_payments)
    VALUES (${o.userId}, ${o.planId}, ${o.overrideId}, ${o.percent}, ${o.appliesTo})
    ON CONFLICT (user_id, plan_id) DO UPDATE SET commission_percent = EXCLUDED.commission_percent,
      applies_to_payments = EXCLUDED.applies_to_payments, updated_at = now()`);
}

export async function insertCheckout(
  db: Db,
  c: {
    id: string;
    buyerId: string;
    edgeId: string | null;
    planId: string;
    affiliateCode: string | null;
    noCodeReason: string | null;
  },
): Promise<void> {
  await db.query(sql.unsafe`
    INSERT INTO whop_checkouts (id, buyer_id, edge_id, plan_id, affiliate_code, no_code_reason)
    VALUES (${c.id}, ${c.buyerId}, ${c.edgeId}, ${c.planId}, ${c.affiliateCode}, ${c.noCodeReason})`);
}

export async function completeCheckout(db: Db, id: string, whopId: string, purchaseUrl: string): Promise<void> {
  await db.query(
    sql.unsafe`UPDATE whop_checkouts SET whop_checkout_id = ${whopId}, purchase_url = ${purchaseUrl} WHERE id = ${id}`,
  );
}

/** Records a Whop event once; false when it was handled before. */
export async function recordWhopEvent(db: Db, id: string, type: string): Promise<boolean> {
  const row = await db.maybeOne(
    sql.type(z.object({ id: z.string() }))`
      INSERT INTO whop_events (id, type) VALUES (${id}, ${type}) ON CONFLICT (id) DO NOTHING RETURNING id`,
  );
  return row !== null;
}

/** Forgets an event whose handling failed, so Whop's retry handles it again. */
export async function forgetWhopEvent(db: Db, id: string): Promise<void> {
  await db.query(sql.unsafe`DELETE FROM whop_events WHERE id = ${id}`);
}

/**
 * Which of our users a Whop payment is: the buyer our metadata names, else the buyer of the
 * checkout configuration we created, else the buyer of the membership (renewals). Null: none.
 */
export async function buyerOfWhop(
  db: Db,
  w: { metadataBuyer: string | null; checkoutConfigurationId: string | null; membershipId: string | null },
): Promise<string | null> {
  return db.maybeOneFirst(sql.type(z.object({ user_id: z.uuid() }))`
    SELECT user_id FROM (
      SELECT id AS user_id, 1 AS rank FROM users WHERE id = ${w.metadataBuyer}::uuid
      UNION ALL
      SELECT buyer_id, 2 FROM whop_checkouts WHERE whop_checkout_id = ${w.checkoutConfigurationId}::text
      UNION ALL
      SELECT user_id, 3 FROM whop_memberships WHERE membership_id = ${w.membershipId}::text
    ) found ORDER BY rank LIMIT 1`);
}

/**
 * A paid Whop payment as our payment (idempotent by Whop's payment id), on the `whop` rail, in one
 * transaction with its membership and what Whop said of it; a payment we already knew keeps its
 * rail (it was priced on it). Null: no such user.
 */
export async function ingestWhopPayment(
  db: DatabasePool,
  p: { payment: WhopPayment; userId: string; amountCents: number; paidAt: Date },
): Promise<{ row: PaymentRow; created: boolean } | null> {
  return db.transaction(async (tx) => {
    const written = await insertPayment(
      tx,
      { id: p.payment.id, userId: p.userId, amountCents: p.amountCents, currency: 'USD', paidAt: p.paidAt },
      { recordCard: false },
    );
    if (!written) return null;
    if (written.created) await tx.query(sql.unsafe`UPDATE payments SET rail = 'whop' WHERE id = ${p.payment.id}`);
    if (p.payment.membershipId)
      await tx.query(sql.unsafe`
        INSERT INTO whop_memberships (membership_id, user_id) VALUES (${p.payment.membershipId}, ${p.userId})
        ON CONFLICT (membership_id) DO NOTHING`);
    await tx.query(sql.unsafe`
      INSERT INTO whop_payments (payment_id, checkout_configuration_id, membership_id)
      VALUES (${p.payment.id}, ${p.payment.checkoutConfigurationId}, ${p.payment.membershipId})
      ON CONFLICT (payment_id) DO NOTHING`);
    return written;
  });
}

/** What Whop's affiliate fee on one of our payments came to (cents). */
export async function setAffiliateFee(db: Db, paymentId: string, cents: number): Promise<void> {
  await db.query(
    sql.unsafe`UPDATE whop_payments SET affiliate_fee_cents = ${cents}, seen_at = now() WHERE payment_id = ${paymentId}`,
  );
}

/** Something Whop reported that we cannot explain, once per (kind, Whop id). */
export async function recordIssue(db: Db, kind: string, whopId: string, detail: Record<string, unknown>) {
  await db.query(sql.unsafe`
    INSERT INTO whop_reconciliation_issues (kind, whop_id, detail) VALUES (${kind}, ${whopId}, ${sql.jsonb(detail as never)})
    ON CONFLICT (kind, whop_id) DO NOTHING`);
}

export type Stream = 'payments' | 'refunds' | 'affiliates';
const cursorRow = z.object({ after_cursor: z.string().nullable(), since: z.date().nullable() });

export async function readCursor(db: Db, stream: Stream): Promise<{ after: string | null; since: string | null }> {
  const row = await db.maybeOne(
    sql.type(cursorRow)`SELECT after_cursor, since FROM whop_reconciliation_cursors WHERE stream = ${stream}`,
  );
  return { after: row?.after_cursor ?? null, since: row?.since?.toISOString() ?? null };
}

export async function writeCursor(db: Db, stream: Stream, c: { after: string | null; since: string | null }) {
  await db.query(sql.unsafe`
    INSERT INTO whop_reconciliation_cursors (stream, after_cursor, since) VALUES (${stream}, ${c.after}, ${c.since}::timestamptz)
    ON CONFLICT (stream) DO UPDATE SET after_cursor = EXCLUDED.after_cursor, since = EXCLUDED.since, updated_at = now()`);
}

const issueRow = z.object({
  kind: z.string(),
  whop_id: z.string(),
  detail: z.record(z.string(), z.unknown()),
  created_at: z.date(),
});
export type IssueRow = z.infer<typeof issueRow>;

/**
 * What the reconciliation cannot explain, newest first: the issues recorded, and Whop payments whose
 * affiliate fee is more than the commission our ledger priced for them (whop_paid_beyond_terms).
 */
export async function reconciliationIssues(db: Db, limit: number): Promise<readonly IssueRow[]> {
  return db.any(sql.type(issueRow)`
    SELECT kind, whop_id, detail, created_at FROM whop_reconciliation_issues
    UNION ALL
    SELECT 'whop_paid_beyond_terms', w.payment_id,
           jsonb_build_object('affiliateFeeCents', w.affiliate_fee_cents, 'ledgerCommissionCents', coalesce(c.cash, 0)),
           w.seen_at
    FROM whop_payments w JOIN payments p ON p.id = w.payment_id
    LEFT JOIN LATERAL (
      SELECT sum(e.amount) AS cash FROM ledger_transactions t
      JOIN ledger_entries e ON e.transaction_id = t.id
      JOIN ledger_accounts a ON a.id = e.account_id AND a.owner_type = 'tenant' AND a.currency = 'USD'
      WHERE t.metadata ->> 'paymentId' = w.payment_id AND t.kind = 'commission'
    ) c ON true
    WHERE w.affiliate_fee_cents IS NOT NULL AND p.priced_at IS NOT NULL AND w.affiliate_fee_cents > coalesce(c.cash, 0)
    ORDER BY created_at DESC LIMIT ${limit}`);
}

export type PaymentIngest = 'recorded' | 'already_recorded' | 'not_paid' | 'unmapped' | 'no_usd_amount' | 'conflict';

/**
 * A Whop payment into our payments (the path POST /v1/payments takes), whether it came by webhook
 * or by polling: paid ones only, mapped to our buyer, on the whop rail, once by Whop's id. What
 * cannot be mapped or read is recorded as an issue for ops.
 */
export async function ingestPaymentOfWhop(db: DatabasePool, payment: WhopPayment): Promise<PaymentIngest> {
  if (payment.status !== 'paid') return 'not_paid';
  if (payment.amountCents === null || payment.amountCents <= 0) {
    await recordIssue(db, 'payment_without_usd_amount', payment.id, { currency: payment.currency });
    return 'no_usd_amount';
  }
  const buyer = await buyerOfWhop(db, {
    metadataBuyer: buyerOfMetadata(payment.metadata),
    checkoutConfigurationId: payment.checkoutConfigurationId,
    membershipId: payment.membershipId,
  });
  const written = buyer
    ? await ingestWhopPayment(db, {
        payment,
        userId: buyer,
        amountCents: payment.amountCents,
        paidAt: new Date(payment.paidAt ?? payment.createdAt),
      })
    : null;
  if (!written) {
    await recordIssue(db, 'unmapped_payment', payment.id, {
      checkoutConfigurationId: payment.checkoutConfigurationId,
      membershipId: payment.membershipId,
      billingReason: payment.billingReason,
      amountCents: payment.amountCents,
    });
    return 'unmapped';
  }
  if (written.created) return 'recorded';
  if (written.row.amount_cents !== payment.amountCents || written.row.user_id !== buyer) {
    await recordIssue(db, 'payment_conflict', payment.id, {
      whopAmountCents: payment.amountCents,
      recordedAmountCents: written.row.amount_cents,
    });
    return 'conflict';
  }
  return 'already_recorded';
}

export type RefundIngest =
  'recorded' | 'already_recorded' | 'not_succeeded' | 'unknown_payment' | 'exceeds_payment' | 'conflict';

/**
 * A Whop refund (or a lost dispute: `chargeback`) into our refunds (the path POST /v1/refunds
 * takes), once by its id: the edge's workflow claws back what it reversed, from the rail the
 * commission went to (Whop's own clawback is mirrored, not doubled).
 */
export async function ingestRefundOfWhop(
  db: DatabasePool,
  refund: Pick<WhopRefund, 'id' | 'paymentId' | 'amountCents' | 'status' | 'createdAt'> & { chargeback?: boolean },
): Promise<RefundIngest> {
  if (refund.status !== 'succeeded') return 'not_succeeded';
  if (!refund.paymentId) {
    await recordIssue(db, 'refund_without_payment', refund.id, {});
    return 'unknown_payment';
  }
  const outcome = await insertRefund(db, {
    id: refund.id,
    paymentId: refund.paymentId,
    amountCents: refund.amountCents,
    refundedAt: new Date(refund.createdAt),
    chargeback: refund.chargeback ?? false,
  });
  if (outcome.kind === 'unknown_payment') return 'unknown_payment';
  if (outcome.kind === 'exceeds_payment') {
    await recordIssue(db, 'refund_exceeds_payment', refund.id, {
      paymentId: refund.paymentId,
      amountCents: refund.amountCents,
      alreadyRefundedCents: outcome.refundedCents,
    });
    return 'exceeds_payment';
  }
  if (outcome.kind === 'existing') {
    if (outcome.row.amount_cents !== refund.amountCents || outcome.row.payment_id !== refund.paymentId) {
      await recordIssue(db, 'refund_conflict', refund.id, { amountCents: refund.amountCents });
      return 'conflict';
    }
    return 'already_recorded';
  }
  return 'recorded';
}

const overrideEdgeRow = z.object({
  user_id: z.uuid(),
  affiliate_id: z.string(),
  plan_id: z.string(),
  override_id: z.string(),
  commission_percent: z.coerce.number(),
  edge_id: z.uuid().nullable(),
  first_earned_at: z.date().nullable(),
  recurring_months: z.number().nullable(),
  voided: z.boolean().nullable(),
});
export type OverrideEdgeRow = z.infer<typeof overrideEdgeRow>;

/**
 * Overrides that pay all payments, each with the edges of its referrer that checked out on its plan:
 * when the edge's first earning payment was, and its window's months (from that payment's pricing).
 */
export async function recurringOverrides(db: Db): Promise<readonly OverrideEdgeRow[]> {
  return db.any(sql.type(overrideEdgeRow)`
    SELECT o.user_id, a.affiliate_id, o.plan_id, o.override_id, o.commission_percent,
           e.id AS edge_id, first.paid_at AS first_earned_at,
           (first.pricing -> 'terms' ->> 'recurringMonths')::int AS recurring_months,
           e.voided_at IS NOT NULL AS voided
    FROM whop_overrides o
    JOIN whop_affiliates a ON a.user_id = o.user_id
    LEFT JOIN LATERAL (
      SELECT DISTINCT c.edge_id FROM whop_checkouts c
      JOIN edges ce ON ce.id = c.edge_id AND ce.referrer_id = o.user_id
      WHERE c.plan_id = o.plan_id AND c.affiliate_code IS NOT NULL
    ) c ON true
    LEFT JOIN edges e ON e.id = c.edge_id
    LEFT JOIN LATERAL (
      SELECT p.paid_at, p.pricing FROM payments p
      WHERE p.edge_id = e.id AND p.commission_status = 'earned' ORDER BY p.paid_at, p.id LIMIT 1
    ) first ON true
    WHERE o.applies_to_payments = 'all_payments'
    ORDER BY o.user_id, o.plan_id`);
}

const affiliateLedgerRow = z.object({
  affiliate_id: z.string(),
  user_id: z.uuid(),
  ledger_cents: z.coerce.number(),
  unpriced: z.coerce.number(),
});
export type AffiliateLedgerRow = z.infer<typeof affiliateLedgerRow>;

/**
 * For each of our affiliates among `affiliateIds`: what the ledger mirrors on the whop rail for the
 * payments of their referees (the earnings_whop entries of those payments' transactions: commission
 * net of clawbacks and voids), and how many of those payments are not priced yet. Absent: not ours.
 */
export async function affiliateLedger(db: Db, affiliateIds: readonly string[]): Promise<readonly AffiliateLedgerRow[]> {
  if (affiliateIds.length === 0) return [];
  return db.any(sql.type(affiliateLedgerRow)`
    SELECT a.affiliate_id, a.user_id,
      coalesce((SELECT sum(e.amount) FROM edges ed
        JOIN payments p ON p.edge_id = ed.id AND p.rail = 'whop'
        JOIN ledger_transactions t ON t.metadata ? 'paymentId' AND t.metadata ->> 'paymentId' = p.id
        JOIN ledger_entries e ON e.transaction_id = t.id
        JOIN ledger_accounts la ON la.id = e.account_id AND la.owner_type = ${whopEarningsKind.ownerType}
          AND la.purpose = ${whopEarningsKind.purpose} AND la.currency = ${whopEarningsKind.currency}
        WHERE ed.referrer_id = a.user_id), 0)::int8 AS ledger_cents,
      (SELECT count(*) FROM edges ed JOIN payments p ON p.edge_id = ed.id AND p.rail = 'whop'
        WHERE ed.referrer_id = a.user_id AND p.priced_at IS NULL)::int8 AS unpriced
    FROM whop_affiliates a WHERE a.affiliate_id = ANY(${sql.array([...affiliateIds], 'text')})`);
}

/** The affiliate's referees' Whop payments whose affiliate fee Whop has not been asked for, oldest first. */
export async function affiliatePaymentsWithoutFee(db: Db, userId: string, limit: number): Promise<readonly string[]> {
  return db.anyFirst(sql.type(z.object({ id: z.string() }))`
    SELECT p.id FROM edges ed JOIN payments p ON p.edge_id = ed.id AND p.rail = 'whop'
    LEFT JOIN whop_payments w ON w.payment_id = p.id
    WHERE ed.referrer_id = ${userId} AND w.affiliate_fee_cents IS NULL
    ORDER BY p.paid_at, p.id LIMIT ${limit}`);
}

/** What an affiliate's Whop aggregate and our ledger say when they disagree (replaced on each pass). */
export async function recordAffiliateMismatch(db: Db, affiliateId: string, detail: Record<string, unknown>) {
  await db.query(sql.unsafe`
    INSERT INTO whop_reconciliation_issues (kind, whop_id, detail)
    VALUES ('affiliate_earnings_mismatch', ${affiliateId}, ${sql.jsonb(detail as never)})
    ON CONFLICT (kind, whop_id) DO UPDATE SET detail = EXCLUDED.detail, created_at = now()`);
}

/** The affiliate's aggregate agrees again: its mismatch, if listed, is resolved. */
export async function resolveAffiliateMismatches(db: Db, affiliateIds: readonly string[]) {
  if (affiliateIds.length === 0) return;
  await db.query(sql.unsafe`
    DELETE FROM whop_reconciliation_issues
    WHERE kind = 'affiliate_earnings_mismatch' AND whop_id = ANY(${sql.array([...affiliateIds], 'text')})`);
}

/** What a payment's commission keeps on the whop rail (its entries on earnings_whop), in cents. */
export async function whopRailKept(db: Db, paymentId: string): Promise<number> {
  return db.oneFirst(sql.type(z.object({ cents: z.coerce.number() }))`
    SELECT coalesce(sum(e.amount), 0)::int8 AS cents FROM ledger_transactions t
    JOIN ledger_entries e ON e.transaction_id = t.id
    JOIN ledger_accounts a ON a.id = e.account_id AND a.owner_type = ${whopEarningsKind.ownerType}
      AND a.purpose = ${whopEarningsKind.purpose} AND a.currency = ${whopEarningsKind.currency}
    WHERE t.metadata ? 'paymentId' AND t.metadata ->> 'paymentId' = ${paymentId}`);
}
