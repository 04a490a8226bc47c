// Invite codes: admins mint them in bulk (and mail them), admitted users make a few personal ones,
// and a person redeems one invite, ever. A redemption grants the code's credits to the redeemer
// through the ledger, writes the same edge a referral link would (the code's owner is the referrer)
// and, for a partner invite, upgrades the tenant. All of it in one transaction. In beta a beta or OG
// invite is a seat: it admits a waitlisted redeemer at once, outside any wave, within its owner's
// allowance of seat invites (an admin's code admits regardless); the redeemer also gets a head start
// (waitlist points, its own line in the score). The inviter gets nothing at redemption: their credits
// land when the invitee builds an app (the edge vests: activities/edge-progress.ts), and the referral
// counts on their ladder like any other.
import { randomBytes } from 'node:crypto';
import type { DatabasePool, DatabaseTransactionConnection } from 'slonik';
import { isSelfReferral, type EdgeAttribution } from '../domain/attribution.ts';
import { DEFAULT_PARTNER_TERMS } from '../domain/partner-settings.ts';
import {
  countsAsTheOneInvite,
  DEFAULT_PERSONAL_CODE_LIMITS,
  inviteCodeFor,
  normalizeInviteCode,
  personalCodeCredits,
  whyNoPersonalCode,
  whyUnusable,
  type FlavorTable,
  type InviteFlavor,
  type PersonalCodeLimits,
} from '../domain/invite-flavors.ts';
import { referralCodeFrom, REFERRAL_CODE_LENGTH } from '../domain/referral-code.ts';
import { inviteCreditsPosting } from '../domain/ledger-postings.ts';
import {
  DEFAULT_SEAT_INVITES_PER_USER,
  isSeatFlavor,
  seatAllowance,
  seatDecision,
  seatsLeft,
  type SeatDecision,
} from '../domain/seats.ts';
import { findReferrer } from '../db/graph.ts';
import { attributeExistingUser, type EdgeRow } from '../db/edges.ts';
import {
  consumeUse,
  findInviteCode,
  hasRedeemed,
  hasRedeemedAnInvite,
  insertInviteCodes,
  insertRedemption,
  insertSeat,
  inviteAdmissions,
  type InviteAdmissionRow,
  lockForSeat,
  lockPersonalCodes,
  seatsUsedBy,
  type InviteCodeRow,
} from '../db/invite-codes.ts';
import { postTransaction } from '../db/ledger.ts';
import { enqueueMail } from '../db/mail.ts';
import { insertPartner, tenantIsPartner, upgradeTenantToPartner } from '../db/partners.ts';
import type { Db } from '../db/pool.ts';
import type { UserRow } from '../db/users.ts';
import { admitByInvite, findUser, grantHeadStart, programPhase } from '../db/users.ts';
import { refreshStanding } from '../db/standing.ts';
import { findStanding } from '../db/waitlist.ts';
import { edgeFrom } from './edge-from-referrer.ts';
import { conflict, forbidden, gone, invalid, notFound } from './errors.ts';

export type InviteDeps = {
  db: DatabasePool;
  flavors: FlavorTable;
  activationWindowDays: number;
  publicBaseUrl?: string;
  /** PERSONAL_CODES_PER_USER and PERSONAL_CODE_MAX_USES; the defaults when left out. */
  personalCodes?: PersonalCodeLimits;
  /** SEAT_INVITES_PER_USER (3 when left out); milestone rungs may add more (domain/seats.ts). */
  seatInvitesPerUser?: number;
};

/** Whether a redemption admitted its redeemer (a seat), and if not, why not. */
export type SeatOutcome = {
  admitted: boolean;
  decision: SeatDecision;
  /** Whose allowance the seat used; null for an admin's code or when nothing was admitted. */
  seatOwnerId: string | null;
};

export type Redemption = {
  status: 'redeemed' | 'already_set_up';
  code: InviteCodeRow;
  creditsGranted: number;
  edge: EdgeRow | null;
  attribution: EdgeAttribution | null;
  partnerUpgraded: boolean;
  landingPage: string;
  seat: SeatOutcome;
  /** The head start (waitlist points) the redemption gave; 0 when none (or a larger one was held). */
  headStart: number;
  /** The redeemer as they are after the redemption (active when it admitted them). */
  user: UserRow | null;
};

const newCode = (flavors: FlavorTable, flavor: InviteFlavor) => inviteCodeFor(flavors[flavor], randomBytes(16));

export type MintInput = {
  count?: number | undefined;
  flavor: InviteFlavor;
  maxUses: number;
  credits?: number | undefined;
  expiresAt?: Date | undefined;
  metadata?: Record<string, unknown> | undefined;
  emails?: string[] | undefined;
  ownerUserId?: string | undefined;
  /** Only for personal codes: made when the owner's seats were spent, a code grants no seat. */
  grantsSeat?: boolean;
};

/** Mints `count` codes (one per address when emails are given) and queues their mails in the same transaction. */
export async function mintInviteCodes(
  deps: InviteDeps,
  input: MintInput,
  createdBy: string,
): Promise<readonly InviteCodeRow[]> {
  const emails = input.emails ?? [];
  if (emails.length && input.count !== undefined && input.count !== emails.length) {
    throw invalid(
      'count_mismatch',
      `count (${input.count}) must equal the number of emails (${emails.length}), or be left out.`,
      'count',
    );
  }
  if (input.ownerUserId && !(await findUser(deps.db, input.ownerUserId)))
    throw invalid('owner_not_found', `No user ${input.ownerUserId}.`, 'ownerUserId');
  return deps.db.transaction((tx) => insertCodes(tx, deps, input, createdBy));
}

async function insertCodes(
  tx: Db,
  deps: InviteDeps,
  input: MintInput,
  createdBy: string,
): Promise<readonly InviteCodeRow[]> {
  const emails = input.emails ?? [];
  const count = emails.length || input.count || 1;
  const settings = deps.flavors[input.flavor];
  const codes = await insertInviteCodes(
    tx,
    Array.from({ length: count }, () => ({
      code: newCode(deps.flavors, input.flavor),
      flavor: input.flavor,
      ownerUserId: input.ownerUserId ?? null,
      maxUses: input.maxUses,
      credits: input.credits ?? settings.defaultCredits,
      expiresAt: input.expiresAt ?? null,
      metadata: { ...(input.metadata ?? {}), ...(input.ownerUserId ? { referrerId: input.ownerUserId } : {}) },
      createdBy,
      grantsSeat: input.grantsSeat ?? true,
    })),
  );
  const base = (deps.publicBaseUrl ?? '').replace(/\/+$/, '');
  for (const [i, email] of emails.entries()) {
    const code = codes[i]!;
    const link = `${base}${settings.landingPage}?code=${encodeURIComponent(code.code)}`;
    await enqueueMail(tx, {
      dedupeKey: `invite:${code.id}`,
      to: email,
      subject: 'You are invited',
      body: `You have an invite: ${code.code}\n\nRedeem it at ${link}${code.credits ? `\nIt comes with ${code.credits} credits.` : ''}\n`,
    });
  }
  return codes;
}

/** Who made a personal code, as recorded on it: the user themself. */
export const personalCodeCreator = (userId: string) => `user:${userId}`;

/**
 * A user's personal code: they are the referrer; the credit grant is capped at the flavor's default.
 * Only an admitted (active) user may make one, at most `perUser` of them (made, used up or not) with
 * at most `maxUses` uses each; counted under the user's row lock, so racing requests cannot pass it.
 */
export async function createPersonalCode(
  deps: InviteDeps,
  user: { userId: string },
  input: { maxUses: number; credits?: number | undefined; expiresAt?: Date | undefined },
): Promise<InviteCodeRow> {
  const limits = deps.personalCodes ?? DEFAULT_PERSONAL_CODE_LIMITS;
  if (input.maxUses > limits.maxUses)
    throw invalid('max_uses_too_high', `A personal code may have at most ${limits.maxUses} uses.`, 'maxUses');
  const flavor: InviteFlavor = 'beta';
  const createdBy = personalCodeCreator(user.userId);
  return deps.db.transaction(async (tx) => {
    const held = await lockPersonalCodes(tx, user.userId, createdBy);
    if (!held) throw notFound('user_not_found', 'The signed-in user no longer exists.');
    const why = whyNoPersonalCode({ status: held.status }, held.held, limits);
    if (why === 'not_admitted')
      throw forbidden('not_admitted', 'Personal invite codes are for users admitted off the waitlist.');
    if (why === 'limit_reached')
      throw conflict(
        'personal_code_limit',
        `You already have ${held.held} personal invite codes, the most a user may have (${limits.perUser}).`,
      );
    // Made while the owner has seats left, the code admits (each redemption then takes one of those
    // seats while they last); made when they are spent, it grants credits but no seat.
    const allowance = seatAllowance(held.vested, deps.seatInvitesPerUser ?? DEFAULT_SEAT_INVITES_PER_USER);
    const grantsSeat = seatsLeft(allowance, held.seatsUsed) > 0;
    const [code] = await insertCodes(
      tx,
      deps,
      {
        flavor,
        maxUses: input.maxUses,
        credits: personalCodeCredits(deps.flavors[flavor], input.credits),
        expiresAt: input.expiresAt,
        ownerUserId: user.userId,
        grantsSeat,
      },
      createdBy,
    );
    return code!;
  });
}

const alreadyInvited = () =>
  conflict('invite_already_redeemed', 'You have already redeemed an invite code: a person redeems one.', 'code');

export async function redeemInviteCode(deps: InviteDeps, input: { code: string; userId: string }): Promise<Redemption> {
  const user = await findUser(deps.db, input.userId);
  if (!user) throw notFound('user_not_found', 'The signed-in user no longer exists.');
  return deps.db.transaction((tx) => redeemInTransaction(tx, deps, { code: input.code, user }));
}

export async function redeemInTransaction(
  tx: DatabaseTransactionConnection,
  deps: Pick<InviteDeps, 'flavors' | 'activationWindowDays' | 'seatInvitesPerUser'>,
  { code: raw, user }: { code: string; user: UserRow },
): Promise<Redemption> {
  const code = await findInviteCode(tx, normalizeInviteCode(raw));
  if (!code) throw notFound('code_not_found', 'No such invite code.', 'code');
  const landingPage = deps.flavors[code.flavor].landingPage;
  const nothing = {
    code,
    creditsGranted: 0,
    edge: null,
    attribution: null,
    partnerUpgraded: false,
    landingPage,
    seat: { admitted: false, decision: 'no_seat_flavor' as const, seatOwnerId: null },
    headStart: 0,
    user,
  };
  if (code.flavor === 'partner' && (await tenantIsPartner(tx, user.tenant_id)))
    return { status: 'already_set_up', ...nothing };
  if (await hasRedeemed(tx, code.id, user.id))
    throw conflict('code_already_redeemed', 'You have already redeemed this code.', 'code');
  const theOneInvite = countsAsTheOneInvite(code.flavor);
  if (theOneInvite && (await hasRedeemedAnInvite(tx, user.id))) throw alreadyInvited();

  const referrer = code.owner_user_id ? await findReferrer(tx, code.owner_user_id) : null;
  if (referrer && isSelfReferral(referrer, user)) {
    throw invalid('self_referral', 'You cannot redeem your own invite code.', 'code');
  }
  if ((await consumeUse(tx, code.id)) === null) {
    const current = (await findInviteCode(tx, code.code))!;
    const reason = whyUnusable(
      { uses: current.uses, maxUses: current.max_uses, expiresAt: current.expires_at },
      new Date(),
    );
    if (reason === 'expired') throw gone('code_expired', 'This invite code has expired.', 'code');
    throw conflict('code_exhausted', 'This invite code has no uses left.', 'code');
  }
  const redemptionId = await insertRedemption(tx, code.id, user.id, theOneInvite);
  if (!redemptionId) {
    // A racing request of the same user committed first: this code, or another invite.
    if (await hasRedeemed(tx, code.id, user.id))
      throw conflict('code_already_redeemed', 'You have already redeemed this code.', 'code');
    throw alreadyInvited();
  }

  // The redeemer's own grant stays here (credits are spent only on building); the code's owner
  // gets nothing now: their side is the edge below, which earns only when it vests.

  const credits = inviteCreditsPosting({ redemptionId, codeId: code.id, userId: user.id, credits: code.credits });
  if (credits) await postTransaction(tx, credits);
  let edge: EdgeRow | null = null;
  let attribution: EdgeAttribution | null = null;
  if (referrer) {
    const result = await attributeExistingUser(
      tx,
      user.id,
      edgeFrom(referrer, 'invite_code', code.code, deps.activationWindowDays),
    );
    edge = result.edge;
    attribution = result.outcome;
  }
  let partnerUpgraded = false;
  if (code.flavor === 'partner') {
    partnerUpgraded = await upgradeTenantToPartner(tx, user.tenant_id, DEFAULT_PARTNER_TERMS.salesCommissionBps);
    await insertPartner(
      tx,
      user.tenant_id,
      DEFAULT_PARTNER_TERMS,
      referralCodeFrom(randomBytes(REFERRAL_CODE_LENGTH)),
      { by: code.created_by, at: new Date() },
    );
  }
  const seat = await takeSeat(tx, deps, code, user, redemptionId);
  // The head start comes with the edge the code wrote (a fraud void of it takes the head start back).
  const headStart = deps.flavors[code.flavor].headStart;
  const gotHeadStart = await grantHeadStart(
    tx,
    user.id,
    headStart,
    edge && attribution === 'edge_written' ? edge.id : null,
  );
  if (gotHeadStart) await refreshStanding(tx, user.id, `head start (invite code ${code.code})`);
  return {
    status: 'redeemed',
    code: { ...code, uses: code.uses + 1 },
    creditsGranted: code.credits,
    edge,
    attribution,
    partnerUpgraded,
    landingPage,
    seat,
    headStart: gotHeadStart ? headStart : 0,
    user: seat.admitted ? ((await findUser(tx, user.id)) ?? user) : user,
  };
}

/** A personal code is made by its owner (created_by user:<owner>); any other is an admin's. */
const isPersonal = (code: InviteCodeRow) =>
  code.owner_user_id !== null && code.created_by === personalCodeCreator(code.owner_user_id);

/**
 * In beta a beta or OG code admits a waitlisted redeemer: an admin's code regardless of anyone's
 * allowance, a personal code while its owner has seats left (counted under the owner's row lock, so
 * racing redemptions never take more than the allowance).
 */
async function takeSeat(
  tx: Db,
  deps: Pick<InviteDeps, 'seatInvitesPerUser'>,
  code: InviteCodeRow,
  user: UserRow,
  redemptionId: string,
): Promise<SeatOutcome> {
  if (user.status === 'active') return { admitted: false, decision: 'already_admitted', seatOwnerId: null };
  if (!isSeatFlavor(code.flavor)) return { admitted: false, decision: 'no_seat_flavor', seatOwnerId: null };
  const personal = isPersonal(code);
  const owner = personal ? code.owner_user_id : null;
  const locked = await lockForSeat(tx, user.id, owner);
  const decision = seatDecision({
    phase: await programPhase(tx),
    flavor: code.flavor,
    codeGrantsSeat: code.grants_seat,
    redeemerStatus: locked.redeemerStatus,
    adminCode: !personal,
    ownerSeatsLeft: seatsLeft(
      seatAllowance(locked.ownerVested, deps.seatInvitesPerUser ?? DEFAULT_SEAT_INVITES_PER_USER),
      locked.ownerSeatsUsed,
    ),
  });
  if (decision !== 'admit') return { admitted: false, decision, seatOwnerId: null };
  if (!(await admitByInvite(tx, user.id, code.id)))
    return { admitted: false, decision: 'already_admitted', seatOwnerId: null };
  await insertSeat(tx, { userId: user.id, codeId: code.id, redemptionId, seatOwnerId: owner });
  return { admitted: true, decision, seatOwnerId: owner };
}

/** A user's seat invites: how many they have (the allowance with what their rungs add), used and left. */
export async function seatInvitesOf(
  deps: Pick<InviteDeps, 'db' | 'seatInvitesPerUser'>,
  userId: string,
): Promise<{ allowance: number; used: number; left: number }> {
  const user = await findStanding(deps.db, userId);
  if (!user) throw notFound('user_not_found', 'The signed-in user no longer exists.');
  const allowance = seatAllowance(user.vested_referrals, deps.seatInvitesPerUser ?? DEFAULT_SEAT_INVITES_PER_USER);
  const used = await seatsUsedBy(deps.db, userId);
  return { allowance, used, left: seatsLeft(allowance, used) };
}

/** A page of invite admissions, newest first. */
export async function listInviteAdmissions(
  deps: Pick<InviteDeps, 'db'>,
  page: { limit: number; cursor?: string | undefined },
): Promise<{ data: readonly InviteAdmissionRow[]; nextCursor: string | null }> {
  const rows = await inviteAdmissions(deps.db, { limit: page.limit + 1, after: page.cursor ?? null });
  const data = rows.slice(0, page.limit);
  return { data, nextCursor: rows.length > page.limit ? data[data.length - 1]!.user_id : null };
}
