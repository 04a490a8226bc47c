// Stored answers to creating calls, keyed by the caller's Idempotency-Key within their scope.
import { sql } from 'slonik';
import { z } from 'zod';
import type { Db } from './pool.ts';

const storedRow = z.object({
  request_hash: z.string(),
  status: z.number().nullable(),
  response: z.unknown().nullable(),
});
export type StoredAnswer = z.infer<typeof storedRow>;

/**
 * How long a claim without an answer holds its key. A request that failed on our side frees its key,
 * but when PostgreSQL itself went away it cannot; after this long the same request (same body) may
 * take the claim over, so a client retrying after an outage is not refused forever.
 */
export const STALE_CLAIM_SECONDS = 10;

/** Claims the key for this request; returns null when claimed, or what is stored under it. */
export async function claimIdempotencyKey(
  db: Db,
  scope: string,
  key: string,
  requestHash: string,
): Promise<StoredAnswer | null> {
  const claimed = await db.maybeOneFirst(sql.type(z.object({ key: z.string() }))`
    INSERT INTO idempotency_keys (scope, key, request_hash) VALUES (${scope}, ${key}, ${requestHash})
    ON CONFLICT (scope, key) DO UPDATE SET created_at = now()
      WHERE idempotency_keys.status IS NULL AND idempotency_keys.request_hash = EXCLUDED.request_hash
        AND idempotency_keys.created_at < now() - make_interval(secs => ${STALE_CLAIM_SECONDS})
    RETURNING key`);
  if (claimed) return null;
  return db.one(
    sql.type(
      storedRow,
    )`SELECT request_hash, status, response FROM idempotency_keys WHERE scope = ${scope} AND key = ${key}`,
  );
}

export async function storeAnswer(
  db: Db,
  scope: string,
  key: string,
  status: number,
  response: unknown,
): Promise<void> {
  await db.query(
    sql.unsafe`UPDATE idempotency_keys SET status = ${status}, response = ${sql.jsonb((response ?? null) as never)} WHERE scope = ${scope} AND key = ${key}`,
  );
}

/** Forgets a key whose request failed on our side, so the caller can retry with it. */
export async function releaseKey(db: Db, scope: string, key: string): Promise<void> {
  await db.query(sql.unsafe`DELETE FROM idempotency_keys WHERE scope = ${scope} AND key = ${key} AND status IS NULL`);
}
