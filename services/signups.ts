// A signup: the user, and when a referrer is named (ref, the referrer cookie, a listing's share
// token or an invite code), the one edge that says who brought them. Commits to PostgreSQL and
// returns; the edge's workflow follows from the outbox. A beta referral link gives the invitee
// credits (through the ledger, keyed by the edge) and a head start in the same transaction; an
// invite code gives what its redemption gives (services/invite-codes.ts), a seat included.
import { randomBytes, randomUUID } from 'node:crypto';
import type { DatabasePool } from 'slonik';
import { isSelfReferral } from '../domain/attribution.ts';
import { canonicalEmail, inboxOf } from '../domain/email.ts';
import type { FlavorTable } from '../domain/invite-flavors.ts';
import { referralCodeFrom, REFERRAL_CODE_LENGTH } from '../domain/referral-code.ts';
import { findReferrer } from '../db/graph.ts';
import { grantHeadStart, insertSignup, EmailTakenError, type UserRow } from '../db/users.ts';
import { postTransaction } from '../db/ledger.ts';
import { refreshStanding } from '../db/standing.ts';
import { linkInviteePosting } from '../domain/credits.ts';
import { DEFAULT_LINK_GRANTS, linkInviteeGrant, type LinkGrants } from '../domain/seats.ts';
import type { EdgeRow, EdgeToWrite } from '../db/edges.ts';
import { assertReferrerUsable, edgeFrom, refSource } from './edge-from-referrer.ts';
import { conflict, invalid } from './errors.ts';
import { redeemInTransaction, type Redemption } from './invite-codes.ts';
import { clientSightings, type SignalSettings } from './fraud-signals.ts';
import { signupReferral, type SignupReferralDeps } from './listings.ts';

export type SignupDeps = {
  db: DatabasePool;
  activationWindowDays: number;
  flavors: FlavorTable;
  /** Whether the client's device and address are recorded as fraud signals (default: yes). */
  fraud?: SignalSettings;
  /** What a referral link gives its invitee (LINK_INVITEE_CREDITS, LINK_HEAD_START_POINTS); the defaults when left out. */
  links?: LinkGrants;
  /** SEAT_INVITES_PER_USER, for an invite code redeemed with the signup. */
  seatInvitesPerUser?: number;
  /** Cross-domain hand-off tokens (services/handoff.ts). */
  handoff?: SignupReferralDeps['handoff'];
};
export type SignupInput = {
  email: string;
  ref?: string | undefined;
  /** An invite code: redeemed with the signup, in the same transaction. */
  code?: string | undefined;
  /** The listing whose share link brought the user (source `listing`). */
  listingId?: string | undefined;
  /**
   * The ref came from the referrer cookie, not from the caller: when it no longer names a usable
   * referrer (unknown, unapproved partner, the user themself) the signup goes on without an edge.
   */
  refFromCookie?: boolean;
  /** The client's device id, opaque (a fraud signal). */
  deviceId?: string | undefined;
  /** The address the client called from (a fraud signal, with its network). */
  ip?: string | undefined;
  /** A hand-off token from another domain (GET /r/{code}?to=), spent once. */
  handoff?: string | undefined;
};

async function edgeForRef(
  db: DatabasePool,
  ref: string,
  listingId: string | undefined,
  referee: { id: string; email: string },
  activationWindowDays: number,
): Promise<EdgeToWrite> {
  const referrer = await findReferrer(db, ref);
  if (!referrer) throw invalid('referrer_not_found', `No user or partner is named by ref "${ref}".`, 'ref');
  assertReferrerUsable(referrer);
  if (isSelfReferral(referrer, referee)) throw invalid('self_referral', 'A user cannot refer themselves.', 'ref');
  const { source, code } = refSource(referrer, ref, listingId);
  return edgeFrom(referrer, source, code, activationWindowDays);
}

export async function signUp(
  deps: SignupDeps,
  input: SignupInput,
): Promise<{ user: UserRow; edge: EdgeRow | null; redemption: Redemption | null }> {
  const { db, activationWindowDays } = deps;
  input = { ...input, ...(await signupReferral(deps, input)) }; // listings and hand-offs (services/listings.ts)
  const email = canonicalEmail(input.email);
  const user = {
    id: randomUUID(),
    tenantId: randomUUID(),
    email,
    inbox: inboxOf(email),
    referralCode: referralCodeFrom(randomBytes(REFERRAL_CODE_LENGTH)),
    createdAt: new Date(),
  };
  let edge: EdgeToWrite | null = null;
  // An invite code names its own referrer; a ref alongside it is ignored (first touch: the code).
  if (input.ref !== undefined && input.code === undefined) {
    try {
      edge = await edgeForRef(db, input.ref, input.listingId, { id: user.id, email }, activationWindowDays);
    } catch (err) {
      if (!input.refFromCookie) throw err;
    }
  }
  const sightings = await clientSightings(deps.fraud, { deviceId: input.deviceId, ip: input.ip });
  try {
    if (input.code === undefined) {
      const grant = edge ? linkInviteeGrant(edge, deps.links ?? DEFAULT_LINK_GRANTS) : null;
      if (!edge || !grant || (grant.credits === 0 && grant.headStart === 0))
        return { ...(await insertSignup(db, user, edge, sightings)), redemption: null };
      const linked = edge;
      return await db.transaction(async (tx) => {
        const created = await insertSignup(tx, user, linked, sightings);
        const credits = linkInviteePosting({ edgeId: linked.id, userId: user.id, credits: grant.credits });
        if (credits) await postTransaction(tx, credits);
        if (await grantHeadStart(tx, user.id, grant.headStart, linked.id))
          await refreshStanding(tx, user.id, 'head start (referral link)');
        return { ...created, redemption: null };
      });
    }
    const code = input.code;
    return await db.transaction(async (tx) => {
      const created = await insertSignup(tx, user, null, sightings);
      const redemption = await redeemInTransaction(tx, deps, { code, user: created.user });
      return { user: redemption.user ?? created.user, edge: redemption.edge, redemption };
    });
  } catch (err) {
    if (err instanceof EmailTakenError)
      throw conflict('email_taken', 'A user with this email already exists.', 'email');
    throw err;
  }
}
