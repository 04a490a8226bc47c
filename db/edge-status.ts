// What support's view of one edge reads from PostgreSQL: the edge with whom it pays (the referrer's
// tenant), its fraud verdicts, its payments, and what its ledger transactions posted to given accounts.
import { sql } from 'slonik';
import { z } from 'zod';
import type { AccountRef } from '../domain/ledger-postings.ts';
import { edgeRow } from './edges.ts';
import { verdictRow, type VerdictRow } from './verdicts.ts';
import type { Db } from './pool.ts';

const edgeStatusRow = edgeRow.extend({
  referrer_tenant_id: z.uuid(),
  /** The referee's first activation, which the workflow is told about. */
  activated_at: z.date().nullable(),
  vested_at: z.date().nullable(),
  expired_at: z.date().nullable(),
  completed_at: z.date().nullable(),
  voided_at: z.date().nullable(),
});
export type EdgeStatusRow = z.infer<typeof edgeStatusRow>;

export async function findEdgeForStatus(db: Db, edgeId: string): Promise<EdgeStatusRow | null> {
  return db.maybeOne(sql.type(edgeStatusRow)`
    SELECT e.id, e.referrer_id, referrer.tenant_id AS referrer_tenant_id, e.referee_id, e.source, e.kind, e.phase_at_write, e.code,
           e.activation_window_days, e.created_at, referee.activated_at, e.vested_at, e.expired_at, e.completed_at, e.voided_at
    FROM edges e
    JOIN users referrer ON referrer.id = e.referrer_id
    JOIN users referee ON referee.id = e.referee_id
    WHERE e.id = ${edgeId}`);
}

/** Every verdict on the edge, newest first (a handful at most: each is an admin's decision). */
export async function edgeVerdicts(db: Db, edgeId: string): Promise<readonly VerdictRow[]> {
  return db.any(sql.type(verdictRow)`
    SELECT id, edge_id, verdict, reason, decided_by, created_at FROM edge_verdicts WHERE edge_id = ${edgeId} ORDER BY created_at DESC, id DESC`);
}

/**
 * What the edge's workflow has made of a payment's commission (payments.commission_status):
 * `forfeited` is a beta-seeded commission its retention gate took back (commission_reason says why).
 */
export const COMMISSION_STATUSES = ['pending', 'earned', 'not_eligible', 'forfeited'] as const;
const commissionStatus = z.enum(COMMISSION_STATUSES);
const paymentSummaryRow = z.object({
  id: z.string(),
  amount_cents: z.number(),
  paid_at: z.date(),
  commission_status: commissionStatus,
  commission_reason: z.string().nullable(),
});
export type EdgePaymentSummary = {
  counts: Partial<Record<z.infer<typeof commissionStatus>, number>>;
  recent: readonly z.infer<typeof paymentSummaryRow>[];
};

/** How many payments reached the edge, by commission status, and the latest `limit` of them. */
export async function edgePayments(db: Db, edgeId: string, limit: number): Promise<EdgePaymentSummary> {
  const [counts, recent] = await Promise.all([
    db.any(sql.type(z.object({ commission_status: commissionStatus, n: z.number() }))`
      SELECT commission_status, count(*)::int AS n FROM payments WHERE edge_id = ${edgeId} GROUP BY commission_status`),
    db.any(sql.type(paymentSummaryRow)`
      SELECT id, amount_cents, paid_at, commission_status, commission_reason FROM payments WHERE edge_id = ${edgeId} ORDER BY paid_at DESC, id DESC LIMIT ${limit}`),
  ]);
  return { counts: Object.fromEntries(counts.map((c) => [c.commission_status, c.n])), recent };
}

/**
 * The sum of the entries the edge's ledger transactions posted to each named account (0 for an
 * account they never touched). The edge's transactions are those whose metadata names the edge;
 * each of them also names its payment, so they are found through the edge's payments and the
 * ledger's payment index rather than by scanning every transaction for its edgeId.
 */
export async function edgeLedgerSums<K extends string>(
  db: Db,
  edgeId: string,
  accounts: Record<K, AccountRef>,
): Promise<Record<K, number>> {
  const named = Object.entries(accounts) as [K, AccountRef][];
  const rows = await db.any(sql.type(z.object({ name: z.string(), total: z.number() }))`
    WITH wanted AS (
      SELECT * FROM unnest(
        ${sql.array(
          named.map(([name]) => name),
          'text',
        )}, ${sql.array(
          named.map(([, a]) => a.ownerType),
          'text',
        )},
        ${sql.array(
          named.map(([, a]) => a.ownerId),
          'text',
        )}, ${sql.array(
          named.map(([, a]) => a.purpose),
          'text',
        )},
        ${sql.array(
          named.map(([, a]) => a.currency),
          'text',
        )}) AS w(name, owner_type, owner_id, purpose, currency)
    ), edge_transactions AS (
      SELECT t.id FROM payments p
      JOIN ledger_transactions t ON t.metadata ? 'paymentId' AND t.metadata ->> 'paymentId' = p.id
      WHERE p.edge_id = ${edgeId} AND t.metadata ->> 'edgeId' = ${edgeId}
    )
    SELECT w.name, coalesce(sum(e.amount), 0)::int8 AS total
    FROM wanted w
    LEFT JOIN ledger_accounts a ON a.owner_type = w.owner_type AND a.owner_id = w.owner_id AND a.purpose = w.purpose AND a.currency = w.currency
    LEFT JOIN ledger_entries e ON e.account_id = a.id AND e.transaction_id IN (SELECT id FROM edge_transactions)
    GROUP BY w.name`);
  const totals = new Map(rows.map((r) => [r.name, r.total]));
  return Object.fromEntries(named.map(([name]) => [name, totals.get(name) ?? 0])) as Record<K, number>;
}
