// Whom a user brought, level by level, with a keyset cursor.
import type { DatabasePool } from 'slonik';
import { downline as queryDownline, type DownlineRow } from '../db/graph.ts';
import { findUser } from '../db/users.ts';
import { invalid, notFound } from './errors.ts';

export type DownlinePage = { data: readonly DownlineRow[]; nextCursor: string | null };

const encode = (row: DownlineRow) =>
  Buffer.from(JSON.stringify([row.depth, row.created_at.toISOString(), row.user_id])).toString('base64url');

function decode(cursor: string): { depth: number; createdAt: string; id: string } {
  try {
    const [depth, createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [
      number,
      string,
      string,
    ];
    if (typeof depth !== 'number' || typeof createdAt !== 'string' || typeof id !== 'string') throw new Error('shape');
    return { depth, createdAt, id };
  } catch {
    throw invalid('cursor_invalid', 'The cursor is not one this API returned.', 'cursor');
  }
}

export async function listDownline(
  db: DatabasePool,
  userId: string,
  input: { depth: number; limit: number; cursor?: string | undefined },
): Promise<DownlinePage> {
  if (!(await findUser(db, userId))) throw notFound('user_not_found', `No user ${userId}.`);
  const rows = await queryDownline(
    db,
    userId,
    input.depth,
    input.limit + 1,
    input.cursor ? decode(input.cursor) : null,
  );
  const page = rows.slice(0, input.limit);
  return { data: page, nextCursor: rows.length > input.limit ? encode(page[page.length - 1]!) : null };
}
