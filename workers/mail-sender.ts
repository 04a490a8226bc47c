// Sends the mails the outbox holds over SMTP, with a lease per mail so a crashed sender's mails
// are picked up by the next. Delivery is at least once; the Message-ID is the outbox id, so the
// rare resend (a crash after the SMTP server accepted, before the mark) is the same message and
// mail systems drop it as a duplicate.
import type { Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { DatabasePool } from 'slonik';
import { claimPendingMails, markMailFailed, markMailSent, type MailRow } from '../db/mail.ts';

export type MailSenderOptions = {
  db: DatabasePool;
  transport: Transporter;
  from: string;
  messageIdDomain: string;
  log: Logger;
  pollIntervalMs?: number;
  leaseMs?: number;
};

export function messageIdFor(mailId: string, domain: string): string {
  return `<${mailId}@${domain}>`;
}

export function startMailSender(options: MailSenderOptions): { stop(): Promise<void> } {
  const { db, transport, from, log } = options;
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const leaseMs = options.leaseMs ?? 60_000;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;

  async function send(mail: MailRow): Promise<void> {
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
      log.warn({ err, mailId: mail.id }, 'sending mail failed; will retry');
      await markMailFailed(
        db,
        mail.id,
        String((err as Error).message ?? err),
        Math.min(600_000, 5_000 * 2 ** Math.min(mail.attempts, 7)),
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
