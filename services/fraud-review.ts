// Admins review what the fraud rules (or other admins) held: the holds newest first, a clear or a
// void of one with the reason and the reviewer recorded, and the archive authority that voids an
// edge under the terms. Every decision is a verdict on the edge, written with its outbox message
// (db/verdicts.ts), so the edge's workflow acts on it: a clear lets it vest and earn again, a void
// takes back everything it earned and ends it.
import { createHash } from 'node:crypto';
import type { DatabasePool } from 'slonik';
import { partnerEarnings, userCredits } from '../domain/ledger-postings.ts';
import { edgeLedgerSums, findEdgeForStatus } from '../db/edge-status.ts';
import {
  findArchive,
  findHold,
  listHolds,
  lockEdge,
  noteArchive,
  type ArchiveRow,
  type HoldRow,
  type HoldStatus,
} from '../db/fraud-holds.ts';
import { insertVerdict } from '../db/verdicts.ts';
import { conflict, invalid, notFound } from './errors.ts';

export type ReviewDeps = { db: DatabasePool };
export type Decision = 'clear' | 'void';
export type HoldsPage = { data: readonly HoldRow[]; nextCursor: string | null };

/** Verdict ids are at most 200 characters: a long id is named by its digest. */
function verdictIdFor(prefix: string, of: string): string {
  const id = `${prefix}:${of}`;
  return id.length <= 200 ? id : `${prefix}:sha256:${createHash('sha256').update(of).digest('hex')}`;
}
export const resolutionId = (holdId: string, decision: Decision) => verdictIdFor(`review:${decision}`, holdId);
export const archiveId = (edgeId: string) => verdictIdFor('archive', edgeId);

/** A page of holds of one status (or all), newest first; the cursor names the last hold of the previous page. */
export async function holdsForReview(
  deps: ReviewDeps,
  input: { status: HoldStatus | 'all'; limit: number; cursor?: string | undefined },
): Promise<HoldsPage> {
  let after: HoldRow | null = null;
  if (input.cursor !== undefined) {
    after = await findHold(deps.db, Buffer.from(input.cursor, 'base64url').toString('utf8'));
    if (!after) throw invalid('cursor_invalid', 'The cursor is not one this API returned.', 'cursor');
  }
  const rows = await listHolds(deps.db, { status: input.status, after, limit: input.limit });
  const data = rows.slice(0, input.limit);
  const last = data.at(-1);
  return {
    data,
    nextCursor: rows.length > input.limit && last ? Buffer.from(last.id, 'utf8').toString('base64url') : null,
  };
}

export async function getHold(deps: ReviewDeps, holdId: string): Promise<HoldRow> {
  const hold = await findHold(deps.db, holdId);
  if (!hold) throw notFound('hold_not_found', `No hold ${holdId}.`);
  return hold;
}

/**
 * A reviewer's decision on a hold: a verdict on its edge that names the hold. Clearing a cleared
 * hold, or voiding a voided one, answers the resolution it has (`created` false); voiding a cleared
 * hold is a new decision; a voided hold cannot be cleared (its edge is void). Decisions on one
 * edge are taken one at a time (its row is locked), so a clear never lands after a void unseen.
 */
export async function decideHold(
  deps: ReviewDeps,
  holdId: string,
  decision: Decision,
  input: { reason: string; reviewer: string },
): Promise<{ hold: HoldRow; created: boolean }> {
  const found = await getHold(deps, holdId);
  return deps.db.transaction(async (tx) => {
    await lockEdge(tx, found.edge_id);
    const hold = (await findHold(tx, holdId))!;
    if (hold.status === 'voided' && decision === 'clear')
      throw conflict(
        'hold_voided',
        `Hold ${holdId} was voided (${hold.resolution_id}) and its edge with it: it cannot be cleared.`,
      );
    if (hold.status === (decision === 'clear' ? 'cleared' : 'voided')) return { hold, created: false };
    const written = await insertVerdict(tx, {
      id: resolutionId(holdId, decision),
      edgeId: hold.edge_id,
      verdict: decision,
      reason: input.reason,
      decidedBy: input.reviewer,
      resolves: holdId,
    });
    return { hold: (await findHold(tx, holdId))!, created: written?.created ?? false };
  });
}

export type TakeBack = { asOf: Date; cashCents: number; pendingCents: number; payableCents: number; credits: number };
export type Archive = { verdict: ArchiveRow; terms: string | null; takeBack: TakeBack };

/**
 * Archives an edge under the terms: a void decided by the admin, which the edge's workflow acts on
 * by taking back everything its payments still keep (cash pending and payable, credits). Once per
 * edge: a repeat answers the first archive (`created` false). An edge already voided, or whose
 * workflow has ended (completed or expired), cannot be archived: nothing could be taken back.
 */
export async function archiveEdge(
  deps: ReviewDeps,
  edgeId: string,
  input: { reason: string; terms: string | null; reviewer: string },
): Promise<Archive & { created: boolean }> {
  const id = archiveId(edgeId);
  const { verdict, created } = await deps.db.transaction(async (tx) => {
    if (!(await lockEdge(tx, edgeId))) throw notFound('edge_not_found', `No edge ${edgeId}.`);
    const existing = await findArchive(tx, id);
    if (existing) return { verdict: existing, created: false };
    const edge = (await findEdgeForStatus(tx, edgeId))!;
    if (edge.voided_at) throw conflict('edge_voided', `Edge ${edgeId} is already void.`);
    if (edge.completed_at || edge.expired_at)
      throw conflict(
        'edge_closed',
        `Edge ${edgeId} ${edge.completed_at ? 'completed' : 'expired'}: its workflow has ended, so nothing it earned could be taken back.`,
      );
    const written = await insertVerdict(tx, {
      id,
      edgeId,
      verdict: 'void',
      reason: input.reason,
      decidedBy: input.reviewer,
    });
    if (!written?.created) throw conflict('verdict_conflict', `Verdict ${id} was already recorded as another verdict.`);
    await noteArchive(tx, id, input.terms);
    return { verdict: (await findArchive(tx, id))!, created: true };
  });
  const terms = typeof verdict.evidence?.terms === 'string' ? verdict.evidence.terms : null;
  return { verdict, terms, takeBack: await keptByEdge(deps, edgeId), created };
}

/** What the edge's payments keep in the ledger now: cash on the referrer's tenant, credits on the referrer. */
async function keptByEdge(deps: ReviewDeps, edgeId: string): Promise<TakeBack> {
  const asOf = new Date();
  const edge = (await findEdgeForStatus(deps.db, edgeId))!;
  const sums = await edgeLedgerSums(deps.db, edgeId, {
    pending: partnerEarnings(edge.referrer_tenant_id, 'pending'),
    payable: partnerEarnings(edge.referrer_tenant_id, 'payable'),
    credits: userCredits(edge.referrer_id),
  });
  return {
    asOf,
    cashCents: sums.pending + sums.payable,
    pendingCents: sums.pending,
    payableCents: sums.payable,
    credits: sums.credits,
  };
}
