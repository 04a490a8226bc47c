// The mail sender gives up instead of retrying forever: after MAIL_MAX_ATTEMPTS transient failures,
// at once on a permanent refusal (5xx), and without trying on an address with hidden or control
// characters; each such mail is marked failed with the reason, and leaves the pending set.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import nodemailer from 'nodemailer';
import { sql } from 'slonik';
import { SMTPServer } from 'smtp-server';
import { z } from 'zod';
import { claimPendingMails, enqueueMail, failedMails, pendingMailCount } from '../../db/mail.ts';
import { createLogger } from '../../platform/logger.ts';
import { startMailSender } from '../../workers/mail-sender.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventually } from '../support/temporal.ts';

/** An SMTP server that refuses `later@` for now (451), `bounce@` for good (550), and takes the rest. */
const rcptAttempts: string[] = [];
const delivered: string[] = [];
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onRcptTo(address, _session, callback) {
    rcptAttempts.push(address.address);
    if (address.address.startsWith('later@'))
      return callback(Object.assign(new Error('try again later'), { responseCode: 451 }));
    if (address.address.startsWith('bounce@'))
      return callback(Object.assign(new Error('no such mailbox'), { responseCode: 550 }));
    callback();
  },
  onData(stream, session, callback) {
    stream.resume();
    stream.on('end', () => {
      delivered.push(...session.envelope.rcptTo.map((r) => r.address));
      callback();
    });
  },
});

let database: TestDatabase;
let url: string;
beforeAll(async () => {
  database = await createTestDatabase();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  url = `smtp://127.0.0.1:${(server as unknown as { server: { address(): AddressInfo } }).server.address().port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await database?.drop();
});

const row = (dedupeKey: string) =>
  database.db.one(
    sql.type(
      z.object({ attempts: z.number(), failed: z.boolean(), sent: z.boolean(), last_error: z.string().nullable() }),
    )`
      SELECT attempts, failed_at IS NOT NULL AS failed, sent_at IS NOT NULL AS sent, last_error
      FROM mail_outbox WHERE dedupe_key = ${dedupeKey}`,
  );

describe('mail sender', () => {
  it('gives up after the bounded number of attempts, at once on a 5xx, and never mails a hidden-character address', async () => {
    const mails = [
      { dedupeKey: 'transient', to: 'later@example.com' },
      { dedupeKey: 'permanent', to: 'bounce@example.com' },
      { dedupeKey: 'hidden', to: 'ceo\u202e@example.com' },
      { dedupeKey: 'fine', to: 'fine@example.com' },
    ];
    for (const m of mails) await enqueueMail(database.db, { ...m, subject: 's', body: 'b' });
    const sender = startMailSender({
      db: database.db,
      transport: nodemailer.createTransport(url),
      from: 'x@test.local',
      messageIdDomain: 'test.local',
      log: createLogger('silent', 'mail'),
      pollIntervalMs: 20,
      leaseMs: 60_000,
      retryBaseMs: 1,
      maxAttempts: 3,
    });
    try {
      await eventually(async () => ((await pendingMailCount(database.db)) === 0 ? true : undefined));
    } finally {
      await sender.stop();
    }

    expect(await row('transient')).toMatchObject({ attempts: 3, failed: true, sent: false });
    expect((await row('transient')).last_error).toMatch(/451/);
    expect(await row('permanent')).toMatchObject({ attempts: 1, failed: true, sent: false });
    expect((await row('permanent')).last_error).toMatch(/550/);
    expect(await row('hidden')).toMatchObject({
      attempts: 1,
      failed: true,
      sent: false,
      last_error: expect.stringMatching(/^address_refused/),
    });
    expect(await row('fine')).toMatchObject({ attempts: 1, failed: false, sent: true });

    expect(rcptAttempts.filter((a) => a.startsWith('later@'))).toHaveLength(3);
    expect(rcptAttempts.filter((a) => a.startsWith('bounce@'))).toHaveLength(1);
    expect(rcptAttempts.some((a) => a.startsWith('ceo'))).toBe(false);
    expect(delivered).toEqual(['fine@example.com']);
    // Given up means out of the pending set for good: no sender claims them again.
    expect(await claimPendingMails(database.db, 10, 1)).toEqual([]);
    expect((await failedMails(database.db)).map((m) => m.attempts).sort()).toEqual([1, 1, 3]);
  });
});
