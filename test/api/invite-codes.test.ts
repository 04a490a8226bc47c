// Invite codes on the real app and PostgreSQL: minting (and mailing over real SMTP), personal
// codes, redemption (credits in the ledger, the edge from the code's owner), every refusal, the
// race for the last uses, and the partner invite.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import nodemailer from 'nodemailer';
import { sql } from 'slonik';
import { z } from 'zod';
import { balanceOf } from '../../db/ledger.ts';
import { creditsIssued, userCredits } from '../../domain/ledger-postings.ts';
import { pendingMailCount } from '../../db/mail.ts';
import { createLogger } from '../../platform/logger.ts';
import { createTemporalClient } from '../../platform/temporal.ts';
import { startMailSender } from '../../workers/mail-sender.ts';
import { startTestApi, testConfig, TEST_KEYS, type TestApi } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { signup, uniqueEmail } from '../support/graph.ts';
import { startTestSmtp, type TestSmtp } from '../support/smtp.ts';
import { eventually } from '../support/temporal.ts';

let database: TestDatabase;
let api: TestApi;
let smtp: TestSmtp;

beforeAll(async () => {
  [database, smtp] = await Promise.all([createTestDatabase(20), startTestSmtp()]);
  const config = testConfig(database.url, { SMTP_URL: smtp.url });
  api = await startTestApi({ config, db: database.db, temporal: createTemporalClient(config) });
});
afterAll(async () => {
  await api?.close();
  await smtp?.stop();
  await database?.drop();
});

const mint = (body: Record<string, unknown>, key = TEST_KEYS.admin) =>
  api.request('/v1/admin/invite-codes', { json: body, key });
const redeem = (code: string, token: string) =>
  api.request(`/v1/invite-codes/${encodeURIComponent(code)}/redeem`, { method: 'POST', key: token });
/** Admitted off the waitlist (what admitting a wave sets): only admitted users make personal codes. */
const admit = (user: { id: string }) =>
  database.db.query(sql.unsafe`UPDATE users SET status = 'active', admitted_at = now() WHERE id = ${user.id}`);
const count = (query: ReturnType<typeof sql.unsafe>) =>
  database.db.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM (${query}) q`);

describe('minting', () => {
  it("mints codes in bulk with each flavor's prefix and default credits", async () => {
    for (const [flavor, prefix, credits] of [
      ['beta', 'BETA-', 500],
      ['free', 'FREE-', 100],
      ['og', 'OG-', 2000],
      ['partner', 'PARTNER-', 0],
    ] as const) {
      const res = await mint({ flavor, count: 3, maxUses: 5, metadata: { campaign: 'launch' } });
      expect(res.status).toBe(201);
      expect(res.body.data).toHaveLength(3);
      for (const code of res.body.data) {
        expect(code.code.startsWith(prefix)).toBe(true);
        expect(code).toMatchObject({ flavor, credits, maxUses: 5, uses: 0, metadata: { campaign: 'launch' } });
      }
      expect(new Set(res.body.data.map((c: any) => c.code)).size).toBe(3);
    }
  });

  it('mails one code to each address through the outbox, exactly once each', async () => {
    const emails = [uniqueEmail('invitee'), uniqueEmail('invitee')];
    const res = await mint({ flavor: 'og', maxUses: 1, credits: 750, emails });
    expect(res.status).toBe(201);
    expect(res.body.data).toHaveLength(2);
    const sender = startMailSender({
      db: database.db,
      transport: nodemailer.createTransport(smtp.url),
      from: 'Invites <invites@test.local>',
      messageIdDomain: 'test.local',
      log: createLogger('silent', 'mail'),
      pollIntervalMs: 50,
    });
    try {
      await eventually(async () => ((await pendingMailCount(database.db)) === 0 ? true : undefined));
    } finally {
      await sender.stop();
    }
    for (const [i, email] of emails.entries()) {
      const mails = smtp.received.filter((m) => m.to.includes(email));
      expect(mails).toHaveLength(1);
      expect(mails[0]!.raw).toContain(res.body.data[i].code);
      expect(mails[0]!.raw).toContain('/og?code=');
    }
  });

  it('refuses a count that disagrees with the addresses, unknown fields and past expiries, writing nothing', async () => {
    const before = await count(sql.unsafe`SELECT 1 FROM invite_codes`);
    expect((await mint({ flavor: 'beta', maxUses: 1, count: 3, emails: [uniqueEmail()] })).body.error.code).toBe(
      'count_mismatch',
    );
    expect((await mint({ flavor: 'beta', maxUses: 1, uses: 0 })).body.error.code).toBe('parameter_unknown');
    expect((await mint({ flavor: 'beta', maxUses: 1, expiresAt: '2001-01-01T00:00:00Z' })).body.error.param).toBe(
      'expiresAt',
    );
    expect((await mint({ flavor: 'gold', maxUses: 1 })).body.error.param).toBe('flavor');
    expect((await mint({ flavor: 'beta', maxUses: 0 })).body.error.param).toBe('maxUses');
    expect(await count(sql.unsafe`SELECT 1 FROM invite_codes`)).toBe(before);
  });
});

describe('personal codes', () => {
  it('names the user as referrer and caps the credits at the flavor default', async () => {
    const owner = await signup(api);
    await admit(owner);
    const res = await api.request('/v1/invite-codes', { json: { maxUses: 3, credits: 1_000_000 }, key: owner.token });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      flavor: 'beta',
      ownerUserId: owner.id,
      maxUses: 3,
      credits: 500,
      metadata: { referrerId: owner.id },
    });
  });
});

describe('redemption', () => {
  it("grants the credits through the ledger and writes the edge from the code's owner", async () => {
    const owner = await signup(api);
    await admit(owner);
    const code = (await api.request('/v1/invite-codes', { json: { maxUses: 2, credits: 300 }, key: owner.token })).body
      .code as string;
    const friend = await signup(api);
    const res = await redeem(code.toLowerCase(), friend.token);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      status: 'redeemed',
      creditsGranted: 300,
      attribution: 'edge_written',
      code: { uses: 1 },
    });
    expect(res.body.edge).toMatchObject({
      referrerId: owner.id,
      refereeId: friend.id,
      source: 'invite_code',
      kind: 'beta_auto',
      code,
    });
    expect(await balanceOf(database.db, userCredits(friend.id))).toBe(300);
    const issued = await balanceOf(database.db, creditsIssued);
    const entries = await database.db.oneFirst(sql.type(z.object({ total: z.number() }))`
      SELECT coalesce(sum(amount), 0)::bigint AS total FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id WHERE a.purpose = 'credits_issued'`);
    expect(issued).toBe(entries);
    expect(
      await count(
        sql.unsafe`SELECT 1 FROM workflow_outbox o JOIN edges e ON o.subject_id = e.id::text WHERE o.subject = 'edge' AND e.referee_id = ${friend.id}`,
      ),
    ).toBe(1);
  });

  it('records a later attribution as an event and keeps the first edge', async () => {
    const first = await signup(api);
    const friend = await signup(api, { ref: first.id });
    const other = await signup(api);
    await admit(other);
    const code = (await api.request('/v1/invite-codes', { json: { maxUses: 1 }, key: other.token })).body.code;
    const res = await redeem(code, friend.token);
    expect(res.status).toBe(201);
    expect(res.body.attribution).toBe('already_attributed');
    expect(res.body.edge.referrerId).toBe(first.id);
    expect(await count(sql.unsafe`SELECT 1 FROM edges WHERE referee_id = ${friend.id}`)).toBe(1);
    expect(
      await count(
        sql.unsafe`SELECT 1 FROM attribution_events WHERE referee_id = ${friend.id} AND outcome = 'already_attributed' AND referrer_id = ${other.id}`,
      ),
    ).toBe(1);
  });

  it('gives distinct errors for unknown, expired, exhausted, already redeemed and self-owned codes, changing nothing', async () => {
    const user = await signup(api);
    const unknown = await redeem('BETA-NOPE1234', user.token);
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'code_not_found']);

    const [single] = (await mint({ flavor: 'free', maxUses: 1 })).body.data;
    expect((await redeem(single.code, user.token)).status).toBe(201);
    const again = await redeem(single.code, user.token);
    expect([again.status, again.body.error.code]).toEqual([409, 'code_already_redeemed']);
    const other = await signup(api);
    const exhausted = await redeem(single.code, other.token);
    expect([exhausted.status, exhausted.body.error.code]).toEqual([409, 'code_exhausted']);

    const [soon] = (await mint({ flavor: 'free', maxUses: 5, expiresAt: new Date(Date.now() + 1_000).toISOString() }))
      .body.data;
    await database.db.query(
      sql.unsafe`UPDATE invite_codes SET expires_at = now() - interval '1 second' WHERE id = ${soon.id}`,
    );
    const expired = await redeem(soon.code, other.token);
    expect([expired.status, expired.body.error.code]).toEqual([410, 'code_expired']);

    await admit(other);
    const own = (await api.request('/v1/invite-codes', { json: { maxUses: 5 }, key: other.token })).body.code;
    const self = await redeem(own, other.token);
    expect([self.status, self.body.error.code]).toEqual([400, 'self_referral']);
    expect(await count(sql.unsafe`SELECT 1 FROM invite_redemptions WHERE user_id = ${other.id}`)).toBe(0);
    expect(await balanceOf(database.db, userCredits(other.id))).toBe(0);
  });

  it('never redeems a 10-use code more than 10 times when 50 requests race', async () => {
    const [code] = (await mint({ flavor: 'beta', maxUses: 10, credits: 10 })).body.data;
    const users = await Promise.all(Array.from({ length: 50 }, () => signup(api)));
    const results = await Promise.all(users.map((u) => redeem(code.code, u.token)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(results.filter((r) => r.status === 409).every((r) => r.body.error.code === 'code_exhausted')).toBe(true);
    expect(statuses.filter((s) => s !== 201 && s !== 409)).toEqual([]);
    expect(await count(sql.unsafe`SELECT 1 FROM invite_redemptions WHERE code_id = ${code.id}`)).toBe(10);
    const uses = await database.db.oneFirst(
      sql.type(z.object({ uses: z.number() }))`SELECT uses FROM invite_codes WHERE id = ${code.id}`,
    );
    expect(uses).toBe(10);
    const granted = await Promise.all(users.map((u) => balanceOf(database.db, userCredits(u.id))));
    expect(granted.reduce((a, b) => a + b, 0)).toBe(100);
  });
});

describe('partner invite', () => {
  it('upgrades the tenant once; a second redemption answers already set up and changes nothing', async () => {
    const [invite] = (await mint({ flavor: 'partner', maxUses: 5 })).body.data;
    const agency = await signup(api);
    const first = await redeem(invite.code, agency.token);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ status: 'redeemed', partnerUpgraded: true, landingPage: '/partners/welcome' });
    const tenant = () =>
      database.db.one(sql.type(
        z.object({
          tier: z.string(),
          type: z.string(),
          referral_earning_enabled: z.boolean(),
          referral_commission_bps: z.number().nullable(),
          sub_account_cap: z.number().nullable(),
        }),
      )`
      SELECT tier, type, referral_earning_enabled, referral_commission_bps, sub_account_cap FROM tenants WHERE id = ${agency.tenantId}`);
    const upgraded = await tenant();
    expect(upgraded).toEqual({
      tier: 'partner',
      type: 'partner',
      referral_earning_enabled: true,
      referral_commission_bps: 2000,
      sub_account_cap: null,
    });
    const partnerView = await api.request(`/v1/partners/${agency.tenantId}`, { key: agency.token });
    expect(partnerView.body).toMatchObject({ approved: true, salesCommissionBps: 2000 });

    const [another] = (await mint({ flavor: 'partner', maxUses: 5 })).body.data;
    const second = await redeem(another.code, agency.token);
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ status: 'already_set_up', partnerUpgraded: false, creditsGranted: 0 });
    expect(await tenant()).toEqual(upgraded);
    expect(await count(sql.unsafe`SELECT 1 FROM invite_redemptions WHERE code_id = ${another.id}`)).toBe(0);
  });
});
