// The edge a referrer's link or code makes: who the referrer is (a partner's code, a user's link,
// a listing), whether they may attribute at all, and what kind of edge that is.
import { randomUUID } from 'node:crypto';
import { edgeKindFor, type EdgeSource } from '../domain/edge.ts';
import type { Referrer } from '../db/graph.ts';
import type { EdgeToWrite } from '../db/edges.ts';
import { invalid } from './errors.ts';

/** The edge a referrer's link or code writes. */
export function edgeFrom(
  referrer: Referrer,
  source: EdgeSource,
  code: string | null,
  activationWindowDays: number,
): EdgeToWrite {
  const isPartner = referrer.partner_tenant_id !== null && referrer.partner_approved && referrer.partner_active;
  const kind = edgeKindFor({ phase: referrer.phase, source, referrerIsApprovedPartner: isPartner });
  return { id: randomUUID(), referrerId: referrer.id, source, kind, phase: referrer.phase, code, activationWindowDays };
}

/** How a ref reached the referee: a partner's code (kept on the edge), a listing's share link, or a plain link. */
export function refSource(
  referrer: Referrer,
  ref: string,
  listingId: string | undefined,
): { source: EdgeSource; code: string | null } {
  if (referrer.via_partner_code) return { source: 'partner_code', code: ref };
  return listingId ? { source: 'listing', code: listingId } : { source: 'link', code: null };
}

/** Partner codes only attribute while their partner is approved and active. */
export function assertReferrerUsable(referrer: Referrer): void {
  if (referrer.via_partner_code && !(referrer.partner_approved && referrer.partner_active)) {
    throw invalid('referrer_not_approved', 'This partner code is not active: its partner is not approved.', 'ref');
  }
}
