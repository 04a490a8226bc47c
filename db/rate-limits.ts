// Shared rate-limit counters (rate_limits, UNLOGGED): one atomic upsert per request and bucket.
import { sql } from 'slonik';
import { z } from 'zod';
import type { Db } from './pool.ts';

const hitRow = z.object({ hits: z.number(), previous_hits: z.number(), elapsed_ms: z.number() });
export type BucketHits = { hits: number; previousHits: number; elapsedMs: number };

/**
 * Counts one hit on the bucket in the current minute (PostgreSQL's clock, so every process agrees)
 * and answers this minute's hits, the previous minute's, and how far into this minute we are.
 */
export async function hitBucket(db: Db, bucket: string): Promise<BucketHits> {
  const row = await db.one(sql.type(hitRow)`
    INSERT INTO rate_limits AS r (bucket, window_start, hits) VALUES (${bucket}, date_trunc('minute', now()), 1)
    ON CONFLICT (bucket) DO UPDATE SET
      previous_hits = CASE
        WHEN r.window_start = EXCLUDED.window_start THEN r.previous_hits
        WHEN r.window_start = EXCLUDED.window_start - interval '1 minute' THEN r.hits
        ELSE 0 END,
      hits = CASE WHEN r.window_start = EXCLUDED.window_start THEN r.hits + 1 ELSE 1 END,
      window_start = EXCLUDED.window_start
    RETURNING hits, previous_hits, (extract(epoch FROM now() - window_start) * 1000)::float8 AS elapsed_ms`);
  return { hits: row.hits, previousHits: row.previous_hits, elapsedMs: row.elapsed_ms };
}

/** Forgets buckets idle for over two minutes: their counts no longer weigh on any estimate. */
export async function sweepBuckets(db: Db): Promise<void> {
  await db.query(sql.unsafe`DELETE FROM rate_limits WHERE window_start < now() - interval '2 minutes'`);
}
