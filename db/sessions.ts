// What the server remembers of session tokens: the ones signed out before they expire, and the
// tenant each user belongs to (a token's tenant claim must match it).
import { sql } from 'slonik';
import { z } from 'zod';
import type { Db } from './pool.ts';

const standingRow = z.object({ tenant_id: z.uuid(), revoked: z.boolean() });

/** The user's tenant and whether this token was revoked; null when the user does not exist. */
export async function sessionStanding(
  db: Db,
  userId: string,
  tokenId: string,
): Promise<{ tenantId: string; revoked: boolean } | null> {
  const row = await db.maybeOne(sql.type(standingRow)`
    SELECT u.tenant_id, EXISTS (SELECT 1 FROM revoked_sessions r WHERE r.jti = ${tokenId}) AS revoked
    FROM users u WHERE u.id = ${userId}`);
  return row && { tenantId: row.tenant_id, revoked: row.revoked };
}

/** Revokes one token until it expires; revocations of tokens that have expired since are dropped. */
export async function revokeSession(
  db: Db,
  token: { tokenId: string; userId: string; expiresAt: Date },
): Promise<void> {
  await db.query(sql.unsafe`
    WITH expired AS (DELETE FROM revoked_sessions WHERE expires_at < now() - interval '1 hour')
    INSERT INTO revoked_sessions (jti, user_id, expires_at)
    VALUES (${token.tokenId}, ${token.userId}, ${token.expiresAt.toISOString()})
    ON CONFLICT (jti) DO NOTHING`);
}
