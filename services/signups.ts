// A signup: the user, and when a referrer is named, the one edge that says who brought them.
// Commits to PostgreSQL and returns; the edge's workflow follows from the outbox.
import { randomBytes, randomUUID } from 'node:crypto';
import type { DatabasePool } from 'slonik';
import { canonicalEmail, inboxOf } from '../domain/email.ts';
import { edgeKindFor } from '../domain/edge.ts';
import { referralCodeFrom, REFERRAL_CODE_LENGTH } from '../domain/referral-code.ts';
import { findReferrer, insertSignup, EmailTakenError, type EdgeRow, type UserRow, type NewEdge } from '../db/users.ts';
import { edgeLifecycleInput, edgeLifecycleStart } from './edge-lifecycle.ts';
import { conflict, invalid } from './errors.ts';

export type SignupDeps = { db: DatabasePool; activationWindowDays: number };
export type SignupInput = { email: string; ref?: string | undefined };

export async function signUp({ db, activationWindowDays }: SignupDeps, input: SignupInput): Promise<{ user: UserRow; edge: EdgeRow | null }> {
  const email = canonicalEmail(input.email);
  const user = {
    id: randomUUID(),
    tenantId: randomUUID(),
    email,
    inbox: inboxOf(email),
    referralCode: referralCodeFrom(randomBytes(REFERRAL_CODE_LENGTH)),
    createdAt: new Date(),
  };
  let edge: NewEdge | null = null;
  if (input.ref !== undefined) {
    const referrer = await findReferrer(db, input.ref);
    if (!referrer) throw invalid('referrer_not_found', `No user is named by ref "${input.ref}".`, 'ref');
    const id = randomUUID();
    const kind = edgeKindFor({ phase: referrer.phase, source: 'link', referrerIsApprovedPartner: false });
    const row = { id, referrer_id: referrer.id, referee_id: user.id, kind, source: 'link' as const, phase_at_write: referrer.phase, created_at: user.createdAt };
    edge = {
      id,
      referrerId: referrer.id,
      source: 'link',
      kind,
      phase: referrer.phase,
      code: null,
      workflowStart: edgeLifecycleStart(edgeLifecycleInput(row, activationWindowDays)),
    };
  }
  try {
    return await insertSignup(db, user, edge);
  } catch (err) {
    if (err instanceof EmailTakenError) throw conflict('email_taken', 'A user with this email already exists.', 'email');
    throw err;
  }
}
