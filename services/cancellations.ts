// Cancellations from the product's billing: recorded once by their id. What they change is read
// where it matters: a beta-seeded commission is forfeited at its retention gate when its referee
// cancelled by then (activities/commission.ts settleRetentionGate).
import type { DatabasePool } from 'slonik';
import { insertCancellation, type CancellationRow } from '../db/cancellations.ts';
import { conflict, notFound } from './errors.ts';

export type CancellationDeps = { db: DatabasePool };

/**
 * Idempotent by cancellationId: the same report again answers the first record (a report without a
 * time matches any time); the same id with another user or time is a 409; an unknown user a 404.
 */
export async function recordCancellation(
  deps: CancellationDeps,
  input: { cancellationId: string; userId: string; cancelledAt?: Date | undefined },
): Promise<{ cancellation: CancellationRow; created: boolean }> {
  const written = await insertCancellation(deps.db, {
    id: input.cancellationId,
    userId: input.userId,
    cancelledAt: input.cancelledAt ?? new Date(),
  });
  if (!written) throw notFound('user_not_found', `No user ${input.userId}.`, 'userId');
  const { row, created } = written;
  const same =
    row.user_id === input.userId && (!input.cancelledAt || row.cancelled_at.getTime() === input.cancelledAt.getTime());
  if (!created && !same)
    throw conflict(
      'cancellation_conflict',
      `Cancellation ${input.cancellationId} was already recorded with other details.`,
      'cancellationId',
    );
  return { cancellation: row, created };
}
