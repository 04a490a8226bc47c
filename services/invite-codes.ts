// Invite codes: admins mint them in bulk (and mail them), users make personal ones, anyone signed
// in redeems one. A redemption grants the code's credits through the ledger, writes the same edge
// a referral link would (the code's owner is the referrer) and, for a partner invite, upgrades the
// tenant. All of it in one transaction.
import { randomBytes } from 'node:crypto';
import type { DatabasePool } from 'slonik';
import { isSelfReferral, type AttributionOutcome } from '../domain/attribution.ts';
import { DEFAULT_PARTNER_TERMS } from '../domain/partner-settings.ts';
import {
  inviteCodeFor,
  normalizeInviteCode,
  personalCodeCredits,
  whyUnusable,
  type FlavorTable,
  type InviteFlavor,
} from '../domain/invite-flavors.ts';
import { referralCodeFrom, REFERRAL_CODE_LENGTH } from '../domain/referral-code.ts';
import { inviteCreditsPosting } from '../domain/ledger-postings.ts';
import { findReferrer } from '../db/graph.ts';
import { attributeExistingUser, type EdgeRow } from '../db/edges.ts';
import {
  consumeUse,
  findInviteCode,
  hasRedeemed,
  insertInviteCodes,
  insertRedemption,
  type InviteCodeRow,
} from '../db/invite-codes.ts';
import { postTransaction } from '../db/ledger.ts';
import { enqueueMail } from '../db/mail.ts';
import { insertPartner, tenantIsPartner, upgradeTenantToPartner } from '../db/partners.ts';
import type { Db } from '../db/pool.ts';
import type { UserRow } from '../db/users.ts';
import { findUser } from '../db/users.ts';
import { edgeFrom } from './edge-from-referrer.ts';
import { conflict, gone, invalid, notFound } from './errors.ts';

export type InviteDeps = {
  db: DatabasePool;
  flavors: FlavorTable;
  activationWindowDays: number;
  publicBaseUrl?: string;
};

export type Redemption = {
  status: 'redeemed' | 'already_set_up';
  code: InviteCodeRow;
  creditsGranted: number;
  edge: EdgeRow | null;
  attribution: AttributionOutcome | null;
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
  const count = emails.length || input.count || 1;
  if (emails.length && input.count !== undefined && input.count !== emails.length) {
    throw invalid(
      'count_mismatch',
      `count (${input.count}) must equal the number of emails (${emails.length}), or be left out.`,
      'count',
    );
  }
  if (input.ownerUserId && !(await findUser(deps.db, input.ownerUserId)))
    throw invalid('owner_not_found', `No user ${input.ownerUserId}.`, 'ownerUserId');
  const settings = deps.flavors[input.flavor];
  return deps.db.transaction(async (tx) => {
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
  });
}

/** A user's personal code: they are the referrer; the credit grant is capped at the flavor's default. */
export async function createPersonalCode(
  deps: InviteDeps,
  user: { userId: string },
  input: { maxUses: number; credits?: number | undefined; expiresAt?: Date | undefined },
): Promise<InviteCodeRow> {
  const flavor: InviteFlavor = 'beta';
  const [code] = await mintInviteCodes(
    deps,
    {
      flavor,
      maxUses: input.maxUses,
      credits: personalCodeCredits(deps.flavors[flavor], input.credits),
      expiresAt: input.expiresAt,
      ownerUserId: user.userId,
    },
    `user:${user.userId}`,
  );
  return code!;
}

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
  const redemptionId = await insertRedemption(tx, code.id, user.id);
  if (!redemptionId) throw conflict('code_already_redeemed', 'You have already redeemed this code.', 'code');

  const credits = inviteCreditsPosting({ redemptionId, codeId: code.id, userId: user.id, credits: code.credits });
  if (credits) await postTransaction(tx, credits);
  let edge: EdgeRow | null = null;
  let attribution: AttributionOutcome | null = null;
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
