// Invite = a seat: in beta, a beta or OG invite admits a waitlisted invitee at once, outside any
// wave's cap. Each user has an allowance of seat invites (SEAT_INVITES_PER_USER, and what milestone
// rungs add); an admin's code admits regardless of anyone's allowance. And credits both ways: what
// an invite or a referral link gives the invitee at once (credits, a head start) and the inviter
// when the invitee builds an app. Pure: no I/O.
import type { EdgeKind, EdgeSource, ProgramPhase } from './edge.ts';
import type { FlavorTable, InviteFlavor } from './invite-flavors.ts';
import { rungsReached } from './milestones.ts';

export const DEFAULT_SEAT_INVITES_PER_USER = 3;

/** The flavors whose redemption admits (partner invites set up a tenant; free invites grant credits only). */
export const SEAT_FLAVORS: readonly InviteFlavor[] = ['beta', 'og'];
export const isSeatFlavor = (flavor: InviteFlavor): boolean => SEAT_FLAVORS.includes(flavor);

/**
 * Seat invites a user has: the base allowance plus what the rungs they reached add. A rung adds
 * seats with a reward `{ kind: 'seat_invites', count }`; the ladder (domain/milestones.ts) has none
 * today, so the allowance is the base until one does.
 */
export function seatAllowance(vestedReferrals: number, base: number = DEFAULT_SEAT_INVITES_PER_USER): number {
  let extra = 0;
  for (const rung of rungsReached(vestedReferrals))
    for (const reward of rung.rewards) {
      const r = reward as { kind: string; count?: unknown };
      if (r.kind === 'seat_invites' && typeof r.count === 'number' && Number.isInteger(r.count) && r.count > 0)
        extra += r.count;
    }
  return base + extra;
}

/** Seats a user has left: never below zero (the allowance may shrink when a referral is voided). */
export const seatsLeft = (allowance: number, used: number): number => Math.max(0, allowance - used);

export type SeatFacts = {
  phase: ProgramPhase;
  flavor: InviteFlavor;
  /** The code was made with a seat (a personal code made when its owner's allowance was spent has none). */
  codeGrantsSeat: boolean;
  redeemerStatus: 'waitlisted' | 'active';
  /** An admin's code (not a personal one): it admits regardless of anyone's allowance. */
  adminCode: boolean;
  /** For a personal code: its owner's seats left now (under their row lock). */
  ownerSeatsLeft: number;
};

export type SeatDecision =
  'admit' | 'already_admitted' | 'not_in_beta' | 'no_seat_flavor' | 'code_has_no_seat' | 'allowance_spent';

/** Whether this redemption admits its redeemer, and if not, why not. */
export function seatDecision(f: SeatFacts): SeatDecision {
  if (f.redeemerStatus === 'active') return 'already_admitted';
  if (f.phase !== 'beta') return 'not_in_beta';
  if (!isSeatFlavor(f.flavor)) return 'no_seat_flavor';
  if (!f.codeGrantsSeat) return 'code_has_no_seat';
  if (f.adminCode) return 'admit';
  return f.ownerSeatsLeft > 0 ? 'admit' : 'allowance_spent';
}

// ---- Credits both ways ------------------------------------------------------------------------

/** What a referral link gives (LINK_INVITEE_CREDITS, LINK_INVITER_CREDITS, LINK_HEAD_START_POINTS). */
export type LinkGrants = { inviteeCredits: number; inviterCredits: number; headStart: number };
/** The friend gets credits and a head start; the inviter's side of a link is the ladder unless set. */
export const DEFAULT_LINK_GRANTS: LinkGrants = { inviteeCredits: 100, inviterCredits: 0, headStart: 5 };

/** Only beta rewards go both ways: an intentional (affiliate) edge earns commission instead. */
export const earnsInviteGrants = (kind: EdgeKind): boolean => kind === 'beta_auto';

/** The sources a link's settings apply to (a listing's share link is a link too). */
const LINK_SOURCES: readonly EdgeSource[] = ['link', 'listing'];

/**
 * What the inviter gets when the edge vests: for an invite code, its flavor's inviterCredits; for a
 * link, LINK_INVITER_CREDITS; nothing for a partner code or an intentional edge.
 */
export function inviterGrantFor(
  edge: { kind: EdgeKind; source: EdgeSource; flavor: InviteFlavor | null },
  flavors: FlavorTable,
  links: LinkGrants,
): number {
  if (!earnsInviteGrants(edge.kind)) return 0;
  if (edge.source === 'invite_code') return edge.flavor ? flavors[edge.flavor].inviterCredits : 0;
  if (LINK_SOURCES.includes(edge.source)) return links.inviterCredits;
  return 0;
}

/** What the invitee gets at a signup through a link: credits and a head start, for a beta edge only. */
export function linkInviteeGrant(
  edge: { kind: EdgeKind; source: EdgeSource },
  links: LinkGrants,
): { credits: number; headStart: number } {
  if (!earnsInviteGrants(edge.kind) || !LINK_SOURCES.includes(edge.source)) return { credits: 0, headStart: 0 };
  return { credits: links.inviteeCredits, headStart: links.headStart };
}
