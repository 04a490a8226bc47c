// The mail outbox across a crash: a mail claimed by a sender that died before sending is sent by
// the next one; a mail sent but not marked is sent again with the same Message-ID, so it is one
// message to the receiving side.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import nodemailer from 'nodemailer';
import { claimPendingMails, enqueueMail, pendingMailCount } from '../../db/mail.ts';
import { createLogger } from '../../platform/logger.ts';
import { messageIdFor, startMailSender } from '../../workers/mail-sender.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestSmtp, type TestSmtp } from '../support/smtp.ts';
import { eventually } from '../support/temporal.ts';

let database: TestDatabase;
let smtp: TestSmtp;
beforeAll(async () => {
  [database, smtp] = await Promise.all([createTestDatabase(), startTestSmtp()]);
});
afterAll(async () => {
  await smtp?.stop();
  await database?.drop();
});

const transport = () => nodemailer.createTransport(smtp.url);
async function drain(): Promise<void> {
  const sender = startMailSender({
    db: database.db,
    transport: transport(),
    from: 'x@test.local',
    messageIdDomain: 'test.local',
    log: createLogger('silent', 'mail'),
    pollIntervalMs: 50,
    leaseMs: 200,
  });
  try {
    await eventually(async () => ((await pendingMailCount(database.db)) === 0 ? true : undefined));
  } finally {
    await sender.stop();
  }
}

describe('mail outbox', () => {
  it('queues a mail once per dedupe key', async () => {
    await enqueueMail(database.db, { dedupeKey: 'once', to: 'once@example.com', subject: 's', body: 'b' });
    await enqueueMail(database.db, { dedupeKey: 'once', to: 'once@example.com', subject: 's', body: 'b' });
    await drain();
    expect(smtp.received.filter((m) => m.to.includes('once@example.com'))).toHaveLength(1);
  });

  it('sends what a dead sender claimed but never sent, after its lease', async () => {
    await enqueueMail(database.db, { dedupeKey: 'claimed', to: 'claimed@example.com', subject: 's', body: 'b' });
    expect(await claimPendingMails(database.db, 10, 200)).toHaveLength(1); // the sender that died
    await drain();
    expect(smtp.received.filter((m) => m.to.includes('claimed@example.com'))).toHaveLength(1);
  });

  it('resends a mail sent but not marked with the same Message-ID', async () => {
    await enqueueMail(database.db, { dedupeKey: 'unmarked', to: 'unmarked@example.com', subject: 's', body: 'b' });
    const [mail] = await claimPendingMails(database.db, 10, 200);
    // The dead sender got the mail out, then crashed before marking it sent.
    await transport().sendMail({
      from: 'x@test.local',
      to: mail!.to_address,
      subject: mail!.subject,
      text: mail!.body,
      messageId: messageIdFor(mail!.id, 'test.local'),
    });
    await drain();
    const arrived = smtp.received.filter((m) => m.to.includes('unmarked@example.com'));
    expect(arrived.length).toBe(2);
    expect(new Set(arrived.map((m) => m.messageId))).toEqual(new Set([`<${mail!.id}@test.local>`]));
  });
});
