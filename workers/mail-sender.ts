// Sends the mails the outbox holds over SMTP, with a lease per mail so a crashed sender's mails
// are picked up by the next. Delivery is at least once; the Message-ID is the outbox id, so the
// rare resend (a crash after the SMTP server accepted, before the mark) is the same message and
// mail systems drop it as a duplicate. A mail is tried at most `maxAttempts` times (MAIL_MAX_ATTEMPTS),
// and not at all when its address is not one we mail or the SMTP server refuses it for good (5xx):
// then it is marked failed, with the reason, instead of being retried forever.
import type { Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { DatabasePool } from 'slonik';
import { claimPendingMails, markMailFailed, markMailSent, type MailRow } from '../db/mail.ts';
import { isEmail } from '../domain/email.ts';

export const DEFAULT_MAIL_MAX_ATTEMPTS = 10;

export type MailSenderOptions = {
  db: DatabasePool;
  transport: Transporter;
  from: string;
  messageIdDomain: string;
  log: Logger;
  pollIntervalMs?: number;
  leaseMs?: number;
  /** Attempts before a mail is given up on (default DEFAULT_MAIL_MAX_ATTEMPTS). */
  maxAttempts?: number;
  /** The retry delay, doubled per attempt up to 10 minutes (default 5 s: 10 s after the first). */
  retryBaseMs?: number;
};

/** An SMTP answer that will not change on a retry: 5xx (no such mailbox, address refused). */
const refusedForGood = (err: unknown) => {
  const code = (err as { responseCode?: unknown }).responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
};

export function messageIdFor(mailId: string, domain: string): string {
  return `<${mailId}@${domain}>`;
}

export function startMailSender(options: MailSenderOptions): { stop(): Promise<void> } {
  const { db, transport, from, log } = options;
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const leaseMs = options.leaseMs ?? 60_000;
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAIL_MAX_ATTEMPTS;
  const retryBaseMs = options.retryBaseMs ?? 5_000;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;

  async function send(mail: MailRow): Promise<void> {
    if (!isEmail(mail.to_address)) {
      log.warn({ mailId: mail.id }, 'not sending mail: the address is not one we mail; marked failed');
      await markMailFailed(db, mail.id, 'address_refused: not an address we mail', null).catch(() => {});
      return;
    }
    try {
      await transport.sendMail({
        from,
        to: mail.to_address,
        subject: mail.subject,
        text: mail.body,
        messageId: messageIdFor(mail.id, options.messageIdDomain),
      });
      await markMailSent(db, mail.id);
    } catch (err) {
      const giveUp = mail.attempts >= maxAttempts || refusedForGood(err);
      log.warn(
        { err, mailId: mail.id, attempts: mail.attempts },
        giveUp ? 'sending mail failed; giving up, marked failed' : 'sending mail failed; will retry',
      );
      await markMailFailed(
        db,
        mail.id,
        String((err as Error).message ?? err),
        giveUp ? null : Math.min(600_000, retryBaseMs * 2 ** Math.min(mail.attempts, 7)),
      ).catch(() => {});
    }
  }

  const running = (async () => {
    while (!stopped) {
      let claimed = 0;
      try {
        const mails = await claimPendingMails(db, 20, leaseMs);
        claimed = mails.length;
        await Promise.all(mails.map(send));
      } catch (err) {
        if (!stopped) log.error({ err }, 'mail sender pass failed');
      }
      // Polled: a second's delay on an invite mail is fine.
      if (claimed === 0 && !stopped) {
        await new Promise<void>((resolve) => {
          timer = setTimeout(resolve, pollIntervalMs);
          wake = resolve;
        });
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      wake?.();
      await running;
    },
  };
}
