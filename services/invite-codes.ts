// Invite codes: admins mint them in bulk (and mail them), admitted users make a few personal ones,
// and a person redeems one invite, ever. A redemption grants the code's credits to the redeemer
// through the ledger, writes the same edge a referral link would (the code's owner is the referrer)
// and, for a partner invite, upgrades the tenant. All of it in one transaction. The inviter gets
// nothing at redemption: what the invite earns them is the edge's, which vests when the invitee
// builds an app (and then counts on their ladder like any referral).
import { randomBytes } from 'node:crypto';
import type { DatabasePool } from 'slonik';
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
import { findReferrer } from '../db/graph.ts';
import { attributeExistingUser, type EdgeRow } from '../db/edges.ts';
import {
  consumeUse,
  findInviteCode,
  hasRedeemed,
  hasRedeemedAnInvite,
  insertInviteCodes,
  insertRedemption,
  lockPersonalCodes,
  type InviteCodeRow,
} from '../db/invite-codes.ts';
import { postTransaction } from '../db/ledger.ts';
import { enqueueMail } from '../db/mail.ts';
import { insertPartner, tenantIsPartner, upgradeTenantToPartner } from '../db/partners.ts';
import type { Db } from '../db/pool.ts';
import type { UserRow } from '../db/users.ts';
import { findUser } from '../db/users.ts';
import { edgeFrom } from './edge-from-referrer.ts';
import { conflict, forbidden, gone, invalid, notFound } from './errors.ts';

export type InviteDeps = {
  db: DatabasePool;
  flavors: FlavorTable;
  activationWindowDays: number;
  publicBaseUrl?: string;
  /** PERSONAL_CODES_PER_USER and PERSONAL_CODE_MAX_USES; the defaults when left out. */
  personalCodes?: PersonalCodeLimits;
};

export type Redemption = {
  status: 'redeemed' | 'already_set_up';
  code: InviteCodeRow;
  creditsGranted: number;
  edge: EdgeRow | null;
  attribution: EdgeAttribution | null;
  partnerUpgraded: boolean;
  landingPage: string;
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
    const [code] = await insertCodes(
      tx,
      deps,
      {
        flavor,
        maxUses: input.maxUses,
        credits: personalCodeCredits(deps.flavors[flavor], input.credits),
        expiresAt: input.expiresAt,
        ownerUserId: user.userId,
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
  tx: Db,
  deps: Pick<InviteDeps, 'flavors' | 'activationWindowDays'>,
  { code: raw, user }: { code: string; user: UserRow },
): Promise<Redemption> {
  const code = await findInviteCode(tx, normalizeInviteCode(raw));
  if (!code) throw notFound('code_not_found', 'No such invite code.', 'code');
  const landingPage = deps.flavors[code.flavor].landingPage;
  const nothing = { code, creditsGranted: 0, edge: null, attribution: null, partnerUpgraded: false, landingPage };
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
  return {
    status: 'redeemed',
    code: { ...code, uses: code.uses + 1 },
    creditsGranted: code.credits,
    edge,
    attribution,
    partnerUpgraded,
    landingPage,
  };
}
