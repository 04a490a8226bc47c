// Cancellations the product's server reports (a referee stopped their subscription), each once by
// its id. The retention gate of a beta-seeded commission reads them (db/retention.ts).
import { sql } from 'slonik';
import { z } from 'zod';
import type { Db } from './pool.ts';

export const cancellationRow = z.object({
  id: z.string(),
  user_id: z.uuid(),
  cancelled_at: z.date(),
  created_at: z.date(),
});
export type CancellationRow = z.infer<typeof cancellationRow>;
const columns = sql.fragment`id, user_id, cancelled_at, created_at`;

/**
 * Records a cancellation; a known id writes nothing and answers the stored row. Null: no such id
 * and no such user.
 */
export async function insertCancellation(
  db: Db,
  c: { id: string; userId: string; cancelledAt: Date },
): Promise<{ row: CancellationRow; created: boolean } | null> {
  const written = await db.maybeOne(sql.type(cancellationRow.extend({ created: z.boolean() }))`
    WITH inserted AS (
      INSERT INTO cancellations (id, user_id, cancelled_at)
      SELECT ${c.id}, u.id, ${c.cancelledAt.toISOString()} FROM users u WHERE u.id = ${c.userId}
      ON CONFLICT (id) DO NOTHING
      RETURNING ${columns}
    )
    SELECT *, true AS created FROM inserted
    UNION ALL
    SELECT ${columns}, false FROM cancellations WHERE id = ${c.id} AND NOT EXISTS (SELECT 1 FROM inserted)`);
  if (!written) return null;
  const { created, ...row } = written;
  return { row, created };
}
