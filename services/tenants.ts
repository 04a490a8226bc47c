// Agency sub-accounts: a tenant runs sub-accounts (each a tenant whose parent it is, made with its
// owner user) up to SUB_ACCOUNT_CAP; a partner tenant (a partner invite, or an approved partner) has
// no cap. One level only: a sub-account has no sub-accounts. Referrals by a sub-account's users
// credit the agency's partner (db/pricing.ts, db/graph.ts).
import { randomBytes, randomUUID } from 'node:crypto';
import type { DatabasePool } from 'slonik';
import { z } from 'zod';
import { canonicalEmail, inboxOf } from '../domain/email.ts';
import { referralCodeFrom, REFERRAL_CODE_LENGTH } from '../domain/referral-code.ts';
import {
  countSubAccounts,
  findAgency,
  insertSubAccount,
  listSubAccounts,
  lockAgency,
  SubAccountEmailTakenError,
  type SubAccountRow,
} from '../db/tenants.ts';
import { conflict, invalid, notFound } from './errors.ts';

/** Sub-accounts a tenant that is not a partner may run unless SUB_ACCOUNT_CAP says otherwise. */
export const DEFAULT_SUB_ACCOUNT_CAP = 3;

export type TenantDeps = { db: DatabasePool; subAccountCap?: number };

const capOf = (deps: TenantDeps) => deps.subAccountCap ?? DEFAULT_SUB_ACCOUNT_CAP;

export async function createSubAccount(
  deps: TenantDeps,
  input: { agencyId: string; name: string; ownerEmail: string },
): Promise<SubAccountRow> {
  const email = canonicalEmail(input.ownerEmail);
  try {
    return await deps.db.transaction(async (tx) => {
      const agency = await lockAgency(tx, input.agencyId);
      if (!agency) throw notFound('tenant_not_found', `No tenant ${input.agencyId}.`);
      if (agency.parent_tenant_id !== null)
        throw conflict('sub_account_of_sub_account', 'A sub-account cannot have sub-accounts of its own.');
      if (!agency.unlimited) {
        const cap = capOf(deps);
        if ((await countSubAccounts(tx, agency.id)) >= cap)
          throw conflict(
            'sub_account_cap_reached',
            `This tenant runs its ${cap} sub-accounts already (SUB_ACCOUNT_CAP); a partner has no cap.`,
          );
      }
      return insertSubAccount(tx, {
        id: randomUUID(),
        parentTenantId: agency.id,
        name: input.name,
        owner: {
          id: randomUUID(),
          email,
          inbox: inboxOf(email),
          referralCode: referralCodeFrom(randomBytes(REFERRAL_CODE_LENGTH)),
        },
      });
    });
  } catch (err) {
    if (err instanceof SubAccountEmailTakenError)
      throw conflict('email_taken', 'A user with this email already exists.', 'ownerEmail');
    throw err;
  }
}

const cursorShape = z.tuple([z.iso.datetime(), z.uuid()]);

const encode = (row: SubAccountRow) =>
  Buffer.from(JSON.stringify([row.created_at.toISOString(), row.id])).toString('base64url');

function decode(cursor: string): { createdAt: string; id: string } {
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    // refused below
  }
  const shape = cursorShape.safeParse(parsed);
  if (!shape.success) throw invalid('cursor_invalid', 'The cursor is not one this API returned.', 'cursor');
  return { createdAt: shape.data[0], id: shape.data[1] };
}

/** A page of the agency's sub-accounts (oldest first) and its cap (null: none). */
export async function subAccountsOf(
  deps: TenantDeps,
  agencyId: string,
  page: { limit: number; cursor?: string | undefined },
): Promise<{ data: readonly SubAccountRow[]; nextCursor: string | null; cap: number | null }> {
  const after = page.cursor ? decode(page.cursor) : null;
  const agency = await findAgency(deps.db, agencyId);
  if (!agency) throw notFound('tenant_not_found', `No tenant ${agencyId}.`);
  const rows = await listSubAccounts(deps.db, agencyId, page.limit + 1, after);
  const data = rows.slice(0, page.limit);
  return {
    data,
    nextCursor: rows.length > page.limit ? encode(data[data.length - 1]!) : null,
    cap: agency.unlimited ? null : capOf(deps),
  };
}
