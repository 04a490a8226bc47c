// Credits people can use: a user's balance and movements, read from the ledger (never a counter of
// its own), and the product's spends of them on a build: idempotent by spend id, never below zero,
// never cash (a spend retires the credits to the platform's credits issued).
import type { DatabasePool } from 'slonik';
import { creditBalance, creditMovements, spendCredits, type MovementRow, type SpendRow } from '../db/credits.ts';
import { findUser } from '../db/users.ts';
import { conflict, invalid, notFound } from './errors.ts';

export type CreditsPage = { balance: number; movements: readonly MovementRow[]; nextCursor: string | null };

/** The balance now and a page of movements, newest first; `cursor` is the previous page's nextCursor. */
export async function creditsOf(
  db: DatabasePool,
  userId: string,
  page: { limit: number; cursor?: string | undefined },
): Promise<CreditsPage> {
  let before: number | null = null;
  if (page.cursor !== undefined) {
    if (!/^[1-9]\d{0,17}$/.test(page.cursor))
      throw invalid('cursor_invalid', 'The cursor is not one this API gave out.', 'cursor');
    before = Number(page.cursor);
  }
  if (!(await findUser(db, userId))) throw notFound('user_not_found', 'The signed-in user no longer exists.');
  const [balance, rows] = await Promise.all([
    creditBalance(db, userId),
    creditMovements(db, userId, { limit: page.limit + 1, before }),
  ]);
  const movements = rows.slice(0, page.limit);
  const nextCursor = rows.length > page.limit ? String(movements[movements.length - 1]!.entry_id) : null;
  return { balance, movements, nextCursor };
}

export type Spend = { spend: SpendRow; replayed: boolean };

/**
 * Spends a user's credits: 201 the first time, the same answer again for the same spend id and body;
 * 409 `spend_id_conflict` for the same id with another body, 409 `insufficient_credits` (nothing
 * changes) when the balance does not cover it, 404 for an unknown user.
 */
export async function spend(
  db: DatabasePool,
  input: { spendId: string; userId: string; credits: number; reason?: string | undefined },
): Promise<Spend> {
  if (!(await findUser(db, input.userId))) throw notFound('user_not_found', `No user ${input.userId}.`, 'userId');
  const result = await spendCredits(db, { ...input, reason: input.reason ?? null });
  switch (result.outcome) {
    case 'spent':
      return { spend: result.spend, replayed: false };
    case 'replayed':
      return { spend: result.spend, replayed: true };
    case 'conflict':
      throw conflict(
        'spend_id_conflict',
        `Spend ${input.spendId} was already made with another user, amount or reason.`,
        'spendId',
      );
    case 'insufficient_credits':
      throw conflict(
        'insufficient_credits',
        `The user has ${result.balance} credits, fewer than the ${input.credits} asked for: nothing was spent.`,
        'credits',
      );
  }
}
