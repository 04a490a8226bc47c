// Payout cycles, payouts and what each cycle decided per partner.
import { sql, UniqueIntegrityConstraintViolationError } from 'slonik';
import { z } from 'zod';
import { PAYOUT_FREQUENCIES, PAYOUT_METHODS, type PayoutFrequency } from '../domain/partner-settings.ts';
import { partnerEarningsKind } from '../domain/ledger-postings.ts';
import type { PartnerPayoutSnapshot } from '../domain/payouts.ts';
import type { Db } from './pool.ts';

export const cycleRow = z.object({
  id: z.string(),
  frequencies: z.array(z.enum(PAYOUT_FREQUENCIES)),
  trigger: z.enum(['schedule', 'manual']),
  requested_by: z.string(),
  status: z.enum(['running', 'completed', 'failed']),
  partners_seen: z.number(),
  started_at: z.date(),
  completed_at: z.date().nullable(),
});
export type CycleRow = z.infer<typeof cycleRow>;
const cycleColumns = sql.fragment`id, frequencies, trigger, requested_by, status, partners_seen, started_at, completed_at`;

/** Opens a cycle unless another is running (answered instead). A known id answers itself. */
export async function openCycle(
  db: Db,
  c: { id: string; frequencies: PayoutFrequency[]; trigger: 'schedule' | 'manual'; requestedBy: string },
): Promise<{ opened: CycleRow } | { running: CycleRow }> {
  try {
    const row = await db.maybeOne(sql.type(cycleRow)`
      INSERT INTO payout_cycles (id, frequencies, trigger, requested_by) VALUES (${c.id}, ${sql.array(c.frequencies, 'text')}, ${c.trigger}, ${c.requestedBy})
      ON CONFLICT (id) DO NOTHING RETURNING ${cycleColumns}`);
    return { opened: row ?? (await findCycle(db, c.id))! };
  } catch (err) {
    if (err instanceof UniqueIntegrityConstraintViolationError) {
      const running = await runningCycle(db);
      if (running) return { running };
    }
    throw err;
  }
}

export async function runningCycle(db: Db): Promise<CycleRow | null> {
  return db.maybeOne(sql.type(cycleRow)`SELECT ${cycleColumns} FROM payout_cycles WHERE status = 'running'`);
}

export async function findCycle(db: Db, id: string): Promise<CycleRow | null> {
  return db.maybeOne(sql.type(cycleRow)`SELECT ${cycleColumns} FROM payout_cycles WHERE id = ${id}`);
}

/** Completes the cycle (a completed one stays as it was); false when there is no such cycle. */
export type CycleEnd = 'completed' | 'failed';

/** Ends a cycle; a cycle ended before keeps how it ended. False: no such cycle. */
export async function closeCycle(db: Db, id: string, end: CycleEnd): Promise<boolean> {
  const result = await db.query(sql.unsafe`
    UPDATE payout_cycles SET status = CASE WHEN status = 'running' THEN ${end} ELSE status END, completed_at = coalesce(completed_at, now())
    WHERE id = ${id}`);
  return result.rowCount > 0;
}

const snapshotRow = z.object({
  tenant_id: z.uuid(),
  payout_method: z.enum(PAYOUT_METHODS),
  payout_threshold_cents: z.number(),
  payout_frequency: z.enum(PAYOUT_FREQUENCIES),
  stripe_account_id: z.string().nullable(),
  stripe_account_status: z.string(),
  payable: z.number(),
  in_flight: z.number(),
  period: z.string(),
  this_period_status: z.enum(['processing', 'awaiting_manual', 'paid', 'failed']).nullable(),
});

/** A partner a cycle pays this period, with what the payout rule decides on. */
export type PartnerDue = { tenantId: string; period: string; snapshot: PartnerPayoutSnapshot };

/**
 * One page (by tenant id) of approved, active partners whose frequency the cycle pays, each with
 * its payable balance, what is already on its way from earlier periods, and this period's payout.
 */
export async function partnerPage(
  db: Db,
  p: { periods: Partial<Record<PayoutFrequency, string>>; after: string | null; limit: number },
): Promise<PartnerDue[]> {
  const freqs = Object.keys(p.periods) as PayoutFrequency[];
  const periods = freqs.map((f) => p.periods[f]!);
  const payable = partnerEarningsKind('payable');
  // The page is picked first, by the partner index in tenant id order, then its balances joined:
  // the planner never computes balances for partners beyond the page.
  const rows = await db.any(sql.type(snapshotRow)`
    WITH page AS (
      SELECT p.tenant_id, p.payout_method, p.payout_threshold_cents, p.payout_frequency, p.stripe_account_id, p.stripe_account_status
      FROM partners p
      WHERE p.approved AND p.status = 'active' AND p.payout_frequency = ANY(${sql.array(freqs, 'text')})
        AND p.tenant_id > ${p.after ?? '00000000-0000-0000-0000-000000000000'}::uuid
      ORDER BY p.tenant_id
      LIMIT ${p.limit}
    )
    SELECT p.*,
           coalesce((SELECT a.balance FROM ledger_accounts a
                     WHERE a.owner_type = ${payable.ownerType} AND a.owner_id = p.tenant_id::text AND a.purpose = ${payable.purpose} AND a.currency = ${payable.currency}), 0)::int8 AS payable,
           coalesce((SELECT sum(o.amount_cents) FROM payouts o
                     WHERE o.tenant_id = p.tenant_id AND o.status IN ('processing', 'awaiting_manual') AND o.period <> f.period), 0)::int8 AS in_flight,
           f.period,
           (SELECT cur.status FROM payouts cur WHERE cur.tenant_id = p.tenant_id AND cur.period = f.period) AS this_period_status
    FROM page p
    JOIN unnest(${sql.array(freqs, 'text')}, ${sql.array(periods, 'text')}) AS f(freq, period) ON f.freq = p.payout_frequency
    ORDER BY p.tenant_id`);
  return rows.map((r) => ({
    tenantId: r.tenant_id,
    period: r.period,
    snapshot: {
      method: r.payout_method,
      thresholdCents: r.payout_threshold_cents,
      payableCents: r.payable,
      inFlightCents: r.in_flight,
      stripeAccountId: r.stripe_account_id,
      stripeAccountStatus: r.stripe_account_status,
      thisPeriod: r.this_period_status ? { status: r.this_period_status } : null,
    },
  }));
}

export const payoutRow = z.object({
  id: z.string(),
  cycle_id: z.string(),
  tenant_id: z.uuid(),
  period: z.string(),
  amount_cents: z.number(),
  method: z.enum(PAYOUT_METHODS),
  status: z.enum(['processing', 'awaiting_manual', 'paid', 'failed']),
  stripe_account_id: z.string().nullable(),
  stripe_account_status: z.string().nullable(),
  stripe_transfer_id: z.string().nullable(),
  reference: z.string().nullable(),
  failure_code: z.string().nullable(),
  failure_message: z.string().nullable(),
  marked_paid_by: z.string().nullable(),
  paid_at: z.date().nullable(),
  created_at: z.date(),
});
export type PayoutRow = z.infer<typeof payoutRow>;
const payoutColumns = sql.fragment`id, cycle_id, tenant_id, period, amount_cents, method, status, stripe_account_id, stripe_account_status, stripe_transfer_id, reference, failure_code, failure_message, marked_paid_by, paid_at, created_at`;

export type NewPayout = {
  id: string;
  cycleId: string;
  tenantId: string;
  period: string;
  amountCents: number;
  method: string;
  status: 'processing' | 'awaiting_manual';
  stripeAccountId: string | null;
  stripeAccountStatus: string | null;
};

/** Writes new payouts (a known id keeps its first row) and answers the rows. */
export async function insertPayouts(db: Db, payouts: readonly NewPayout[]): Promise<void> {
  if (payouts.length === 0) return;
  const col = <K extends keyof NewPayout>(k: K) => payouts.map((p) => p[k]);
  await db.query(sql.unsafe`
    INSERT INTO payouts (id, cycle_id, tenant_id, period, amount_cents, method, status, stripe_account_id, stripe_account_status)
    SELECT * FROM unnest(${sql.array(col('id'), 'text')}, ${sql.array(col('cycleId'), 'text')}, ${sql.array(col('tenantId'), 'uuid')},
      ${sql.array(col('period'), 'text')}, ${sql.array(col('amountCents'), 'int8')}, ${sql.array(col('method'), 'text')}, ${sql.array(col('status'), 'text')},
      ${sql.array(col('stripeAccountId') as string[], 'text')}, ${sql.array(col('stripeAccountStatus') as string[], 'text')})
    ON CONFLICT (id) DO NOTHING`);
}

export async function payoutsById(db: Db, ids: readonly string[]): Promise<readonly PayoutRow[]> {
  if (ids.length === 0) return [];
  return db.any(
    sql.type(
      payoutRow,
    )`SELECT ${payoutColumns} FROM payouts WHERE id = ANY(${sql.array([...ids], 'text')}) ORDER BY id`,
  );
}

export async function findPayout(db: Db, id: string, lock = false): Promise<PayoutRow | null> {
  return db.maybeOne(
    sql.type(
      payoutRow,
    )`SELECT ${payoutColumns} FROM payouts WHERE id = ${id} ${lock ? sql.fragment`FOR UPDATE` : sql.fragment``}`,
  );
}

export async function recordTransfer(db: Db, id: string, transferId: string): Promise<void> {
  await db.query(
    sql.unsafe`UPDATE payouts SET stripe_transfer_id = ${transferId}, updated_at = now() WHERE id = ${id} AND stripe_transfer_id IS NULL`,
  );
}

export async function markPayoutsPaid(
  db: Db,
  ids: readonly string[],
  by: { reference?: string; markedBy?: string } = {},
): Promise<void> {
  if (ids.length === 0) return;
  await db.query(sql.unsafe`
    UPDATE payouts SET status = 'paid', paid_at = coalesce(paid_at, now()), updated_at = now(),
      reference = coalesce(reference, ${by.reference ?? null}), marked_paid_by = coalesce(marked_paid_by, ${by.markedBy ?? null})
    WHERE id = ANY(${sql.array([...ids], 'text')}) AND status <> 'paid'`);
  await db.query(
    sql.unsafe`UPDATE payout_cycle_items SET outcome = 'paid', reason = NULL WHERE payout_id = ANY(${sql.array([...ids], 'text')})`,
  );
}

export async function markPayoutFailed(db: Db, id: string, code: string, message: string): Promise<void> {
  await db.query(sql.unsafe`
    UPDATE payouts SET status = 'failed', failure_code = ${code}, failure_message = ${message.slice(0, 1000)}, updated_at = now() WHERE id = ${id} AND status = 'processing'`);
  await db.query(
    sql.unsafe`UPDATE payout_cycle_items SET outcome = 'failed', reason = ${code} WHERE payout_id = ${id}`,
  );
}

export type CycleItem = {
  tenantId: string;
  outcome: 'paid' | 'awaiting_manual' | 'rolled_forward' | 'skipped' | 'failed';
  reason: string | null;
  amountCents: number;
  payoutId: string | null;
};

/** What the cycle decided per partner (a re-run page keeps the first decision). */
export async function recordItems(db: Db, cycleId: string, items: readonly CycleItem[]): Promise<void> {
  if (items.length === 0) return;
  await db.query(sql.unsafe`
    INSERT INTO payout_cycle_items (cycle_id, tenant_id, outcome, reason, amount_cents, payout_id)
    SELECT ${cycleId}, * FROM unnest(${sql.array(
      items.map((i) => i.tenantId),
      'uuid',
    )}, ${sql.array(
      items.map((i) => i.outcome),
      'text',
    )},
      ${sql.array(items.map((i) => i.reason) as string[], 'text')}, ${sql.array(
        items.map((i) => i.amountCents),
        'int8',
      )}, ${sql.array(items.map((i) => i.payoutId) as string[], 'text')})
    ON CONFLICT (cycle_id, tenant_id) DO NOTHING`);
}

const itemRow = z.object({
  tenant_id: z.uuid(),
  outcome: z.string(),
  reason: z.string().nullable(),
  amount_cents: z.number(),
  payout_id: z.string().nullable(),
  payout_status: z.string().nullable(),
  stripe_transfer_id: z.string().nullable(),
});
export type CycleItemRow = z.infer<typeof itemRow>;

export async function cycleItems(
  db: Db,
  cycleId: string,
  after: string | null,
  limit: number,
): Promise<readonly CycleItemRow[]> {
  return db.any(sql.type(itemRow)`
    SELECT i.tenant_id, i.outcome, i.reason, i.amount_cents, i.payout_id, o.status AS payout_status, o.stripe_transfer_id
    FROM payout_cycle_items i LEFT JOIN payouts o ON o.id = i.payout_id
    WHERE i.cycle_id = ${cycleId} AND (${after}::uuid IS NULL OR i.tenant_id > ${after}::uuid)
    ORDER BY i.tenant_id LIMIT ${limit}`);
}

export async function cycleTotals(
  db: Db,
  cycleId: string,
): Promise<readonly { outcome: string; partners: number; amount_cents: number }[]> {
  return db.any(sql.type(z.object({ outcome: z.string(), partners: z.number(), amount_cents: z.number() }))`
    SELECT outcome, count(*)::int AS partners, coalesce(sum(amount_cents), 0)::int8 AS amount_cents
    FROM payout_cycle_items WHERE cycle_id = ${cycleId} GROUP BY outcome ORDER BY outcome`);
}

/** Records a Stripe webhook event once; false when it was seen before. */
export async function recordStripeEvent(db: Db, id: string, type: string): Promise<boolean> {
  const row = await db.maybeOne(
    sql.type(
      z.object({ id: z.string() }),
    )`INSERT INTO stripe_events (id, type) VALUES (${id}, ${type}) ON CONFLICT (id) DO NOTHING RETURNING id`,
  );
  return row !== null;
}

/**
 * Sets the Connect status of the partners on this account from an `account.updated` event, unless
 * they already hold it from a newer event (by `created`, in seconds, then id in byte order): Stripe
 * delivers in no particular order. The number of partners changed.
 */
export async function setStripeAccountStatus(
  db: Db,
  accountId: string,
  status: string,
  event: { id: string; created: number },
): Promise<number> {
  const result = await db.query(sql.unsafe`
    UPDATE partners SET stripe_account_status = ${status}, stripe_status_event_created = to_timestamp(${event.created}),
                        stripe_status_event_id = ${event.id}, updated_at = now()
    WHERE stripe_account_id = ${accountId}
      AND (stripe_status_event_created IS NULL
           OR stripe_status_event_created < to_timestamp(${event.created})
           OR (stripe_status_event_created = to_timestamp(${event.created})
               AND stripe_status_event_id COLLATE "C" < ${event.id} COLLATE "C"))`);
  return result.rowCount;
}
