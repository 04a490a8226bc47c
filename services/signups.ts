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
import { normalizeInviteCode } from '../domain/invite-flavors.ts';
import { findReferrer } from '../db/graph.ts';
import { findInviteCode } from '../db/invite-codes.ts';
import {
  admissionOf,
  findSignupByKey,
  grantHeadStart,
  insertSignup,
  EmailTakenError,
  type UserRow,
} from '../db/users.ts';
import { postTransaction } from '../db/ledger.ts';
import { refreshStanding } from '../db/standing.ts';
import { linkInviteePosting } from '../domain/credits.ts';
import { DEFAULT_LINK_GRANTS, linkInviteeGrant, type LinkGrants } from '../domain/seats.ts';
import { findEdgeByReferee, type EdgeRow, type EdgeToWrite } from '../db/edges.ts';
import { assertReferrerUsable, edgeFrom, refSource } from './edge-from-referrer.ts';
import { conflict, invalid, ServiceError } from './errors.ts';
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
  /**
   * The request's idempotency digest (api/route.ts), when it came with an Idempotency-Key: kept on
   * the user row, so a retry whose first answer was lost after the commit finds the user it made.
   */
  signupKey?: string | null | undefined;
};

export type SignupResult = {
  user: UserRow;
  edge: EdgeRow | null;
  redemption: Redemption | null;
  /** A retry of a signup that committed but whose answer was lost: its user, edge and redemption. */
  replayed?: true;
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

/**
 * The signup a retry under the same Idempotency-Key and body made before its answer was lost: the
 * user (as they are now), their edge and, for an invite code, the redemption it made (the code's
 * uses as they are now). Null when this email was signed up by another request.
 */
async function signupOfRetry(
  deps: SignupDeps,
  email: string,
  signupKey: string,
  code: string | undefined,
): Promise<SignupResult | null> {
  const user = await findSignupByKey(deps.db, email, signupKey);
  if (!user) return null;
  const edge = await findEdgeByReferee(deps.db, user.id);
  const redeemed = code === undefined ? null : await findInviteCode(deps.db, normalizeInviteCode(code));
  if (!redeemed) return { user, edge, redemption: null, replayed: true };
  const admission = await admissionOf(deps.db, user.id);
  const seated = admission?.admitted_via === 'invite';
  return {
    user,
    edge,
    redemption: {
      // A new user's tenant is never a partner yet, so the signup's redemption was a redemption.
      status: 'redeemed',
      code: redeemed,
      creditsGranted: redeemed.credits,
      edge,
      attribution: edge ? 'edge_written' : null,
      partnerUpgraded: redeemed.flavor === 'partner',
      landingPage: deps.flavors[redeemed.flavor].landingPage,
      // Not part of the signup's answer (redemptionView); as the user's admission records it.
      seat: {
        admitted: seated,
        decision: seated ? 'admit' : 'no_seat_flavor',
        seatOwnerId: admission?.seat_owner_id ?? null,
      },
      headStart: 0,
      user,
    },
    replayed: true,
  };
}

export async function signUp(deps: SignupDeps, input: SignupInput): Promise<SignupResult> {
  const { db, activationWindowDays } = deps;
  const email = canonicalEmail(input.email);
  try {
    input = { ...input, ...(await signupReferral(deps, input)) }; // listings and hand-offs (services/listings.ts)
  } catch (err) {
    // A hand-off token is spent once: a retry of a signup whose answer was lost finds it spent.
    const retried =
      err instanceof ServiceError && err.code === 'handoff_used' && input.signupKey
        ? await signupOfRetry(deps, email, input.signupKey, input.code)
        : null;
    if (retried) return retried;
    throw err;
  }
  const user = {
    id: randomUUID(),
    tenantId: randomUUID(),
    email,
    inbox: inboxOf(email),
    referralCode: referralCodeFrom(randomBytes(REFERRAL_CODE_LENGTH)),
    createdAt: new Date(),
    signupKey: input.signupKey ?? null,
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
    if (err instanceof EmailTakenError) {
      // The same request (same Idempotency-Key and body) committed before and its answer was lost.
      const retried = input.signupKey ? await signupOfRetry(deps, email, input.signupKey, input.code) : null;
      if (retried) return retried;
      throw conflict('email_taken', 'A user with this email already exists.', 'email');
    }
    throw err;
  }
}
