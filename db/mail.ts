// The mail outbox: mails are written in the transaction that decides to send them, and sent by
// the mail sender in the worker. Each carries a Message-ID derived from its id, so a resend after
// a crash between sending and marking is recognisably the same mail. A mail the sender gives up on
// (too many attempts, or refused for good) is marked failed with its last error and stays.
import { sql } from 'slonik';
import { z } from 'zod';
import type { Db } from './pool.ts';

export type NewMail = { dedupeKey: string; to: string; subject: string; body: string };

export async function enqueueMail(db: Db, mail: NewMail): Promise<void> {
  await db.query(sql.unsafe`
    INSERT INTO mail_outbox (dedupe_key, to_address, subject, body)
    VALUES (${mail.dedupeKey}, ${mail.to}, ${mail.subject}, ${mail.body})
    ON CONFLICT (dedupe_key) DO NOTHING`);
}

const mailRow = z.object({
  id: z.uuid(),
  to_address: z.string(),
  subject: z.string(),
  body: z.string(),
  attempts: z.number(),
});
export type MailRow = z.infer<typeof mailRow>;

export async function claimPendingMails(db: Db, limit: number, leaseMs: number): Promise<readonly MailRow[]> {
  return db.any(sql.type(mailRow)`
    UPDATE mail_outbox SET claimed_until = now() + ${leaseMs} * interval '1 millisecond', attempts = attempts + 1
    WHERE id IN (
      SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND (claimed_until IS NULL OR claimed_until < now())
      ORDER BY created_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
    RETURNING id, to_address, subject, body, attempts`);
}

export async function markMailSent(db: Db, id: string): Promise<void> {
  await db.query(
    sql.unsafe`UPDATE mail_outbox SET sent_at = clock_timestamp(), claimed_until = NULL, last_error = NULL WHERE id = ${id}`,
  );
}

/** An attempt failed: retried after `retryInMs`, or, with `retryInMs` null, given up for good. */
export async function markMailFailed(db: Db, id: string, error: string, retryInMs: number | null): Promise<void> {
  await db.query(sql.unsafe`
    UPDATE mail_outbox SET last_error = ${error.slice(0, 2000)},
      claimed_until = CASE WHEN ${retryInMs}::int IS NULL THEN NULL ELSE now() + ${retryInMs}::int * interval '1 millisecond' END,
      failed_at = CASE WHEN ${retryInMs}::int IS NULL THEN clock_timestamp() END
    WHERE id = ${id}`);
}

export async function pendingMailCount(db: Db): Promise<number> {
  return db.oneFirst(
    sql.type(
      z.object({ n: z.number() }),
    )`SELECT count(*)::int AS n FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL`,
  );
}

const failedRow = z.object({
  id: z.uuid(),
  attempts: z.number(),
  last_error: z.string().nullable(),
  failed_at: z.date(),
});

/** Mails given up on, newest first. */
export async function failedMails(db: Db, limit = 100): Promise<readonly z.infer<typeof failedRow>[]> {
  return db.any(sql.type(failedRow)`
    SELECT id, attempts, last_error, failed_at FROM mail_outbox WHERE failed_at IS NOT NULL ORDER BY failed_at DESC LIMIT ${limit}`);
}
