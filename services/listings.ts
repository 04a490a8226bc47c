// Listings and creators: a signed-in creator makes a listing (title, optional custom domain); its
// share link (/r/<creator's code>?listing=<id>) attributes visitors to the creator, with the listing
// id on the edge. At signup, the hook below turns what the visitor brought (a hand-off token from
// another domain, the listing named or remembered by the share cookie) into the ref and listing the
// edge is written from.
import { randomUUID } from 'node:crypto';
import type { DatabasePool } from 'slonik';
import { handoffHost } from '../domain/handoff.ts';
import { findReferrer } from '../db/graph.ts';
import { CustomDomainTakenError, findListing, insertListing, type ListingRow } from '../db/listings.ts';
import { conflict, invalid, notFound } from './errors.ts';
import { exchangeHandoff, type HandoffSettings } from './handoff.ts';

export type ListingView = ListingRow & { share_link: string };

const shareLink = (publicBaseUrl: string, row: ListingRow) =>
  `${publicBaseUrl.replace(/\/+$/, '')}/r/${row.creator_referral_code}?listing=${row.id}`;

export async function createListing(
  deps: { db: DatabasePool; publicBaseUrl: string },
  input: { creatorId: string; title: string; customDomain?: string | undefined },
): Promise<ListingView> {
  let customDomain: string | null = null;
  if (input.customDomain !== undefined) {
    customDomain = handoffHost(input.customDomain);
    if (!customDomain)
      throw invalid(
        'invalid_custom_domain',
        'customDomain must be a plain host name (e.g. shop.example.com): no scheme, port or path.',
        'customDomain',
      );
  }
  try {
    const row = await insertListing(deps.db, {
      id: randomUUID(),
      creatorId: input.creatorId,
      title: input.title,
      customDomain,
    });
    if (!row) throw notFound('user_not_found', 'The signed-in user no longer exists.');
    return { ...row, share_link: shareLink(deps.publicBaseUrl, row) };
  } catch (err) {
    if (err instanceof CustomDomainTakenError)
      throw conflict('custom_domain_taken', 'Another listing is served on this custom domain.', 'customDomain');
    throw err;
  }
}

export async function getListing(deps: { db: DatabasePool; publicBaseUrl: string }, id: string): Promise<ListingView> {
  const row = await findListing(deps.db, id);
  if (!row) throw notFound('listing_not_found', `No listing ${id}.`);
  return { ...row, share_link: shareLink(deps.publicBaseUrl, row) };
}

export type SignupReferralDeps = { db: DatabasePool; handoff?: HandoffSettings | undefined };
export type SignupReferralInput = {
  ref?: string | undefined;
  code?: string | undefined;
  listingId?: string | undefined;
  refFromCookie?: boolean | undefined;
  /** A hand-off token from another domain (GET /r/{code}?to=). */
  handoff?: string | undefined;
};

/**
 * The ref and listing a signup's edge is written from (the signup hook).
 * - A hand-off token is spent (refused when altered, expired or spent already) and, unless the body
 *   names a ref or an invite code, stands in for the cookies: its referrer and listing are used, and
 *   a referrer no longer usable lets the signup go on without an edge, as a remembered one does.
 * - A listing is used only when it exists and its creator is the referrer; with no ref at all, the
 *   listing's creator is the referrer. Named in the body, an unknown listing is a 400
 *   `listing_not_found` and another creator's a 400 `listing_not_of_referrer`; remembered (cookie or
 *   hand-off), such a listing is dropped and the referral is a plain link.
 */
export async function signupReferral(
  deps: SignupReferralDeps,
  input: SignupReferralInput,
): Promise<{ ref?: string | undefined; listingId?: string | undefined; refFromCookie?: boolean | undefined }> {
  let { ref, listingId, refFromCookie } = input;
  let listingRemembered = refFromCookie === true;
  if (input.handoff !== undefined) {
    const handed = await exchangeHandoff(deps.db, deps.handoff, input.handoff);
    if ((ref === undefined || refFromCookie) && input.code === undefined) {
      ref = handed.ref;
      listingId = handed.listingId;
      refFromCookie = true;
      listingRemembered = true;
    }
  }
  if (listingId === undefined || input.code !== undefined) return { ref, listingId, refFromCookie };
  const listing = await findListing(deps.db, listingId);
  const drop = (code: string, message: string) => {
    if (listingRemembered) return { ref, listingId: undefined, refFromCookie };
    throw invalid(code, message, 'listingId');
  };
  if (!listing) return drop('listing_not_found', `No listing ${listingId}.`);
  if (ref === undefined) return { ref: listing.creator_id, listingId: listing.id, refFromCookie };
  const referrer = await findReferrer(deps.db, ref);
  if (!referrer || referrer.via_partner_code || referrer.id !== listing.creator_id)
    return drop('listing_not_of_referrer', "This listing is not the referrer's: name the listing's creator or no ref.");
  return { ref, listingId: listing.id, refFromCookie };
}
