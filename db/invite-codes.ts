// Invite codes and redemptions. A use is consumed by one conditional UPDATE, so a code never
// exceeds its max uses however many redemptions race (the row lock serialises them); a person's one
// invite is a unique index (invite_redemptions_one_per_user), so of two racing redemptions of
// different codes by one user, one wins.
import { sql } from 'slonik';
import { z } from 'zod';
import { INVITE_FLAVORS, type InviteFlavor } from '../domain/invite-flavors.ts';
import type { Db } from './pool.ts';

export const inviteCodeRow = z.object({
  id: z.uuid(),
  code: z.string(),
  flavor: z.enum(INVITE_FLAVORS),
  owner_user_id: z.uuid().nullable(),
  max_uses: z.number(),
  uses: z.number(),
  credits: z.number(),
  expires_at: z.date().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  created_by: z.string(),
  created_at: z.date(),
});
export type InviteCodeRow = z.infer<typeof inviteCodeRow>;

const columns = sql.fragment`id, code, flavor, owner_user_id, max_uses, uses, credits, expires_at, metadata, created_by, created_at`;

export type NewInviteCode = {
  code: string;
  flavor: InviteFlavor;
  ownerUserId: string | null;
  maxUses: number;
  credits: number;
  expiresAt: Date | null;
  metadata: Record<string, unknown>;
  createdBy: string;
};

/** Inserts many codes in one statement; returns them in input order. */
export async function insertInviteCodes(db: Db, codes: readonly NewInviteCode[]): Promise<readonly InviteCodeRow[]> {
  const records = codes.map((c, ordinal) => ({
    ordinal,
    code: c.code,
    flavor: c.flavor,
    owner_user_id: c.ownerUserId,
    max_uses: c.maxUses,
    credits: c.credits,
    expires_at: c.expiresAt?.toISOString() ?? null,
    metadata: c.metadata,
    created_by: c.createdBy,
  }));
  return db.any(sql.type(inviteCodeRow)`
    WITH input AS (
      SELECT * FROM jsonb_to_recordset(${sql.jsonb(records)}) AS x(ordinal int, code text, flavor text, owner_user_id uuid, max_uses int, credits bigint, expires_at timestamptz, metadata jsonb, created_by text)
    ), inserted AS (
      INSERT INTO invite_codes (code, flavor, owner_user_id, max_uses, credits, expires_at, metadata, created_by)
      SELECT code, flavor, owner_user_id, max_uses, credits, expires_at, metadata, created_by FROM input ORDER BY ordinal
      RETURNING ${columns}
    )
    SELECT i.*
    FROM inserted i JOIN input USING (code) ORDER BY input.ordinal`);
}

export async function findInviteCode(db: Db, code: string): Promise<InviteCodeRow | null> {
  return db.maybeOne(sql.type(inviteCodeRow)`SELECT ${columns} FROM invite_codes WHERE code = ${code}`);
}

/** Takes one use if the code is unexpired and has one left; null otherwise. */
export async function consumeUse(db: Db, codeId: string): Promise<number | null> {
  return db.maybeOneFirst(sql.type(z.object({ uses: z.number() }))`
    UPDATE invite_codes SET uses = uses + 1
    WHERE id = ${codeId} AND uses < max_uses AND (expires_at IS NULL OR expires_at > now())
    RETURNING uses`);
}

export async function hasRedeemed(db: Db, codeId: string, userId: string): Promise<boolean> {
  return db.exists(sql.unsafe`SELECT 1 FROM invite_redemptions WHERE code_id = ${codeId} AND user_id = ${userId}`);
}

/** Whether the user redeemed an invite that counts as their one (see countsAsTheOneInvite). */
export async function hasRedeemedAnInvite(db: Db, userId: string): Promise<boolean> {
  return db.exists(sql.unsafe`SELECT 1 FROM invite_redemptions WHERE redeemer_id = ${userId}`);
}

/**
 * The redemption's id, or null when this user already redeemed the code or, when `theOneInvite`,
 * any invite (a racing request: the unique indexes decide, the loser writes nothing).
 */
export async function insertRedemption(
  db: Db,
  codeId: string,
  userId: string,
  theOneInvite: boolean,
): Promise<string | null> {
  return db.maybeOneFirst(sql.type(z.object({ id: z.uuid() }))`
    INSERT INTO invite_redemptions (code_id, user_id, redeemer_id) VALUES (${codeId}, ${userId}, ${theOneInvite ? userId : null})
    ON CONFLICT DO NOTHING RETURNING id`);
}

/**
 * Locks the user (so their personal codes are counted and made one request at a time) and answers
 * their status and how many personal codes they have made, used up or not; null: no such user. Two
 * statements: the count must see the codes a request that held the lock before committed, and a
 * statement sees what was committed when it began, before it waited for the lock.
 */
export async function lockPersonalCodes(
  tx: Db,
  userId: string,
  createdBy: string,
): Promise<{ status: 'waitlisted' | 'active'; held: number } | null> {
  const status = await tx.maybeOneFirst(sql.type(z.object({ status: z.enum(['waitlisted', 'active']) }))`
    SELECT status FROM users WHERE id = ${userId} FOR UPDATE`);
  if (status === null) return null;
  const held = await tx.oneFirst(sql.type(z.object({ n: z.number() }))`
    SELECT count(*)::int AS n FROM invite_codes WHERE owner_user_id = ${userId} AND created_by = ${createdBy}`);
  return { status, held };
}
