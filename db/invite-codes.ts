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
  grants_seat: z.boolean(),
});
export type InviteCodeRow = z.infer<typeof inviteCodeRow>;

const columns = sql.fragment`id, code, flavor, owner_user_id, max_uses, uses, credits, expires_at, metadata, created_by, created_at, grants_seat`;

export type NewInviteCode = {
  code: string;
  flavor: InviteFlavor;
  ownerUserId: string | null;
  maxUses: number;
  credits: number;
  expiresAt: Date | null;
  metadata: Record<string, unknown>;
  createdBy: string;
  /** Whether a redemption may admit (a personal code made when its owner's seats were spent: no). */
  grantsSeat?: boolean;
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
    grants_seat: c.grantsSeat ?? true,
  }));
  return db.any(sql.type(inviteCodeRow)`
    WITH input AS (
      SELECT * FROM jsonb_to_recordset(${sql.jsonb(records)}) AS x(ordinal int, code text, flavor text, owner_user_id uuid, max_uses int, credits bigint, expires_at timestamptz, metadata jsonb, created_by text, grants_seat boolean)
    ), inserted AS (
      INSERT INTO invite_codes (code, flavor, owner_user_id, max_uses, credits, expires_at, metadata, created_by, grants_seat)
      SELECT code, flavor, owner_user_id, max_uses, credits, expires_at, metadata, created_by, grants_seat FROM input ORDER BY ordinal
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
): Promise<{ status: 'waitlisted' | 'active'; held: number; vested: number; seatsUsed: number } | null> {
  const locked = await tx.maybeOne(
    sql.type(z.object({ status: z.enum(['waitlisted', 'active']), vested_referrals: z.number() }))`
    SELECT status, vested_referrals FROM users WHERE id = ${userId} FOR UPDATE`,
  );
  if (locked === null) return null;
  const row = await tx.one(sql.type(z.object({ held: z.number(), seats: z.number() }))`
    SELECT (SELECT count(*)::int FROM invite_codes WHERE owner_user_id = ${userId} AND created_by = ${createdBy}) AS held,
           (SELECT count(*)::int FROM invite_seats WHERE seat_owner_id = ${userId}) AS seats`);
  return { status: locked.status, held: row.held, vested: locked.vested_referrals, seatsUsed: row.seats };
}

// ---- Seats ------------------------------------------------------------------------------------

const lockedUser = z.object({ id: z.uuid(), status: z.enum(['waitlisted', 'active']), vested_referrals: z.number() });

/**
 * Locks the redeemer and, for a personal code, its owner (in id order, so two users redeeming each
 * other's codes cannot deadlock), and answers the redeemer's status now and the owner's vested
 * referrals and seats used; what was committed before the locks were granted is counted (a second
 * statement), so racing redemptions of one owner's codes take seats one at a time.
 */
export async function lockForSeat(
  tx: Db,
  redeemerId: string,
  ownerId: string | null,
): Promise<{ redeemerStatus: 'waitlisted' | 'active'; ownerVested: number; ownerSeatsUsed: number }> {
  const ids = ownerId && ownerId !== redeemerId ? [redeemerId, ownerId] : [redeemerId];
  const rows = await tx.any(sql.type(lockedUser)`
    SELECT id, status, vested_referrals FROM users WHERE id = ANY(${sql.array(ids, 'uuid')}) ORDER BY id FOR UPDATE`);
  const redeemer = rows.find((r) => r.id === redeemerId);
  const owner = ownerId ? rows.find((r) => r.id === ownerId) : undefined;
  const used = ownerId
    ? await tx.oneFirst(sql.type(z.object({ n: z.number() }))`
        SELECT count(*)::int AS n FROM invite_seats WHERE seat_owner_id = ${ownerId}`)
    : 0;
  return {
    redeemerStatus: redeemer?.status ?? 'waitlisted',
    ownerVested: owner?.vested_referrals ?? 0,
    ownerSeatsUsed: used,
  };
}

/** Records the seat a redemption took (whose allowance it used: null for an admin's code). */
export async function insertSeat(
  tx: Db,
  seat: { userId: string; codeId: string; redemptionId: string; seatOwnerId: string | null },
): Promise<void> {
  await tx.query(sql.unsafe`
    INSERT INTO invite_seats (user_id, code_id, redemption_id, seat_owner_id)
    VALUES (${seat.userId}, ${seat.codeId}, ${seat.redemptionId}, ${seat.seatOwnerId})`);
}

/** A user's seat invites used so far. */
export async function seatsUsedBy(db: Db, userId: string): Promise<number> {
  return db.oneFirst(sql.type(z.object({ n: z.number() }))`
    SELECT count(*)::int AS n FROM invite_seats WHERE seat_owner_id = ${userId}`);
}

/** The redemption a user made of a code (its id), or null. */
export async function redemptionOf(db: Db, code: string, userId: string): Promise<string | null> {
  return db.maybeOneFirst(sql.type(z.object({ id: z.uuid() }))`
    SELECT r.id FROM invite_redemptions r JOIN invite_codes c ON c.id = r.code_id
    WHERE c.code = ${code} AND r.user_id = ${userId}`);
}

/** The flavor of the code an edge came with (edges.code), or null. */
export async function flavorOfCode(
  db: Db,
  code: string | null,
): Promise<z.infer<typeof inviteCodeRow>['flavor'] | null> {
  if (code === null) return null;
  return db.maybeOneFirst(sql.type(z.object({ flavor: z.enum(INVITE_FLAVORS) }))`
    SELECT flavor FROM invite_codes WHERE code = ${code}`);
}

const admissionRow = z.object({
  user_id: z.uuid(),
  email: z.string(),
  code: z.string(),
  flavor: z.enum(INVITE_FLAVORS),
  seat_owner_id: z.uuid().nullable(),
  admitted_at: z.date(),
});
export type InviteAdmissionRow = z.infer<typeof admissionRow>;

/** Users admitted by an invite (a seat), newest first; `after`: the user id the previous page ended with. */
export async function inviteAdmissions(
  db: Db,
  page: { limit: number; after: string | null },
): Promise<readonly InviteAdmissionRow[]> {
  return db.any(sql.type(admissionRow)`
    SELECT s.user_id, u.email, c.code, c.flavor, s.seat_owner_id, s.created_at AS admitted_at
    FROM invite_seats s JOIN users u ON u.id = s.user_id JOIN invite_codes c ON c.id = s.code_id
    WHERE ${page.after ? sql.fragment`(s.created_at, s.user_id) < (SELECT x.created_at, x.user_id FROM invite_seats x WHERE x.user_id = ${page.after}::uuid)` : sql.fragment`true`}
    ORDER BY s.created_at DESC, s.user_id DESC LIMIT ${page.limit}`);
}
