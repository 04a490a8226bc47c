// Cross-domain hand-off tokens are signed, not stored, when issued (services/handoff.ts); a signup
// that spends one records it here, once: a second spend finds the row and is refused.
import { sql } from 'slonik';
import { z } from 'zod';
import type { Db } from './pool.ts';

/** Records the token as spent; false when it was spent already. */
export async function recordHandoffExchange(
  db: Db,
  token: { id: string; domain: string; ref: string; listingId: string | null; expiresAt: Date },
): Promise<boolean> {
  const row = await db.maybeOneFirst(sql.type(z.object({ token_id: z.uuid() }))`
    INSERT INTO handoff_exchanges (token_id, domain, ref, listing_id, expires_at)
    VALUES (${token.id}, ${token.domain}, ${token.ref}, ${token.listingId}, ${token.expiresAt.toISOString()})
    ON CONFLICT (token_id) DO NOTHING RETURNING token_id`);
  return row !== null;
}
