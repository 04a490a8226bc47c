// A synthetic population through the real signup, payment and screening code: honest people who
// look like fraud (families and offices behind one address, a family tablet, dotted Gmail
// addresses, customers with their own cards, a partner's audience arriving at once) and the frauds
// they resemble (one person on both ends, device farms, throwaway inboxes, a referrer's burst, a
// self-purchase with the referrer's card, scripted signups from one address). No honest edge is held;
// every fraudulent one is held or blocked. The counts are printed for the notes.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { createFraudActivities, type ScreenResult } from '../../activities/fraud.ts';
import { DEFAULT_FLAVORS } from '../../domain/invite-flavors.ts';
import { recordPayment } from '../../services/payments.ts';
import { signUp, type SignupInput } from '../../services/signups.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let database: TestDatabase;
let screenEdge: ReturnType<typeof createFraudActivities>['screenEdge'];

beforeAll(async () => {
  database = await createTestDatabase();
  ({ screenEdge } = createFraudActivities({ db: database.db }));
});
afterAll(async () => {
  await database?.drop();
});

type Kind = 'honest' | 'fraud';
type Outcome = { group: string; kind: Kind; result: ScreenResult };
const outcomes: Outcome[] = [];

let n = 0;
const deps = () => ({ db: database.db, activationWindowDays: 30, flavors: DEFAULT_FLAVORS });
const join = async (input: Partial<SignupInput> & { email?: string }) =>
  signUp(deps(), { email: `p${++n}-${Date.now().toString(36)}@example.com`, ...input });

/** Screens the referee's edge at the edge write and keeps the outcome under its group. */
async function screened(group: string, kind: Kind, referee: Awaited<ReturnType<typeof join>>) {
  const result = await screenEdge({ edgeId: referee.edge!.id, stage: 'edge_write' });
  outcomes.push({ group, kind, result });
  return result;
}

/** A distinct public-looking address per person of the population. */
const ipOf = (i: number) => `${[24, 66, 81, 98, 151][i % 5]}.${(i >> 8) & 255}.${i & 255}.${7 + (i % 3)}`;

describe('a synthetic population', () => {
  it('holds none of the honest and every fraud', async () => {
    // Honest: independent referrals, each person on their own device and address.
    for (let i = 0; i < 30; i++) {
      const r = await join({ deviceId: `dev-r-${i}`, ip: ipOf(2 * i) });
      await screened(
        'independent referral',
        'honest',
        await join({ ref: r.user.id, deviceId: `dev-e-${i}`, ip: ipOf(2 * i + 1) }),
      );
    }
    // Honest: a family behind one home address; two of the children share the family tablet.
    const home = '73.42.18.9';
    const parent = await join({ deviceId: 'dev-parent', ip: home });
    for (const device of ['dev-partner', 'dev-kid-1', 'dev-tablet', 'dev-tablet'])
      await screened(
        'family behind one address',
        'honest',
        await join({ ref: parent.user.id, deviceId: device, ip: home }),
      );
    // Honest: colleagues at one office, brought by a colleague, each on their own laptop.
    const office = '81.2.69.160';
    const colleague = await join({ deviceId: 'dev-colleague', ip: office });
    for (let i = 0; i < 9; i++)
      await screened(
        'colleagues at one office',
        'honest',
        await join({ ref: colleague.user.id, deviceId: `dev-laptop-${i}`, ip: office }),
      );
    // Honest: a dotted Gmail address of another person.
    const john = await join({ email: `john.smith.${n}@gmail.com`, deviceId: 'dev-john', ip: ipOf(500) });
    await screened(
      'dotted Gmail, another person',
      'honest',
      await join({ email: `john.smithson.${n}@gmail.com`, ref: john.user.id, deviceId: 'dev-js', ip: ipOf(501) }),
    );
    // Honest: an approved partner's audience, 40 signups within the hour.
    const creator = await join({ deviceId: 'dev-creator', ip: ipOf(600) });
    await database.db.query(sql.unsafe`
      INSERT INTO partners (tenant_id, sales_commission_bps, credit_commission_bps, recurring, recurring_months, referral_code,
                            payout_method, payout_threshold_cents, payout_frequency, approved, approved_by, approved_at)
      VALUES (${creator.user.tenant_id}, 2000, 500, true, 12, ${`POP${n}`}, 'stripe', 5000, 'monthly', true, 'test', now())`);
    for (let i = 0; i < 40; i++)
      await screened(
        "a partner's audience",
        'honest',
        await join({ ref: creator.user.id, deviceId: `dev-fan-${i}`, ip: ipOf(700 + i) }),
      );

    // Fraud: one person on both ends (their own device).
    for (let i = 0; i < 5; i++) {
      const r = await join({ deviceId: `dev-self-${i}`, ip: ipOf(800 + i) });
      await screened(
        'same device both ends',
        'fraud',
        await join({ ref: r.user.id, deviceId: `dev-self-${i}`, ip: ipOf(900 + i) }),
      );
    }
    // Fraud: a device farm, six accounts on one phone behind one referrer (the first two pass as a
    // family tablet would; from the third on they are held).
    const farmer = await join({ deviceId: 'dev-farmer', ip: ipOf(1000) });
    for (let i = 0; i < 6; i++) {
      const referee = await join({ ref: farmer.user.id, deviceId: 'dev-farm', ip: ipOf(1001 + i) });
      if (i < 2) await screenEdge({ edgeId: referee.edge!.id, stage: 'edge_write' });
      else await screened('device farm, third account on', 'fraud', referee);
    }
    // Fraud: throwaway inboxes.
    const spammer = await join({ deviceId: 'dev-spam', ip: ipOf(1100) });
    for (const domain of ['mailinator.com', 'guerrillamail.com', '10minutemail.com'])
      await screened(
        'disposable email',
        'fraud',
        await join({ email: `x${n}@${domain}`, ref: spammer.user.id, deviceId: `dev-d-${n}`, ip: ipOf(1101 + n) }),
      );
    // Fraud: a referrer's burst, 25 edges in minutes (the 21st on are held).
    const burster = await join({ deviceId: 'dev-burster', ip: ipOf(1200) });
    for (let i = 0; i < 25; i++) {
      const referee = await join({ ref: burster.user.id, deviceId: `dev-b-${i}`, ip: ipOf(1201 + i) });
      if (i < 20) await screenEdge({ edgeId: referee.edge!.id, stage: 'edge_write' });
      else await screened('referrer burst, past the hourly limit', 'fraud', referee);
    }
    // Fraud: scripted signups from one address: 55 in minutes, then a referrer's accounts from it,
    // two to a phone. The address alone only scores; with the second account on a phone, it holds.
    const scripted = '45.9.20.11';
    for (let i = 0; i < 55; i++) await join({ deviceId: `dev-bot-x-${i}`, ip: scripted });
    const bot = await join({ deviceId: 'dev-bot-master', ip: ipOf(1300) });
    for (let i = 0; i < 8; i++) {
      const referee = await join({ ref: bot.user.id, deviceId: `dev-bot-${Math.floor(i / 2)}`, ip: scripted });
      if (i % 2 === 1) await screened('scripted burst from one address', 'fraud', referee);
      else await screenEdge({ edgeId: referee.edge!.id, stage: 'edge_write' });
    }

    // Payments: customers with their own cards; a self-purchase with the referrer's card.
    const pay = async (group: string, kind: Kind, sameCard: boolean, i: number) => {
      const r = await join({ deviceId: `dev-pr-${i}`, ip: ipOf(1400 + 2 * i) });
      const e = await join({ ref: r.user.id, deviceId: `dev-pe-${i}`, ip: ipOf(1401 + 2 * i) });
      const card = (who: string) => `card-${who}-${i}`;
      await recordPayment(deps(), {
        paymentId: `ch_r_${i}_${n}`,
        userId: r.user.id,
        amountCents: 2_000,
        currency: 'USD',
        paymentMethodFingerprint: card('referrer'),
      });
      const paymentId = `ch_e_${i}_${n}`;
      await recordPayment(deps(), {
        paymentId,
        userId: e.user.id,
        amountCents: 2_000,
        currency: 'USD',
        paymentMethodFingerprint: sameCard ? card('referrer') : card('customer'),
      });
      outcomes.push({
        group,
        kind,
        result: await screenEdge({ edgeId: e.edge!.id, stage: 'payment', subject: paymentId }),
      });
    };
    for (let i = 0; i < 10; i++) await pay('customer paying with their own card', 'honest', false, i);
    for (let i = 10; i < 15; i++) await pay("self-purchase with the referrer's card", 'fraud', true, i);

    const table = new Map<string, Record<ScreenResult['decision'], number>>();
    for (const o of outcomes) {
      const key = `${o.kind.padEnd(6)} ${o.group}`;
      const row = table.get(key) ?? { allow: 0, score: 0, hold: 0, block: 0 };
      row[o.result.decision] += 1;
      table.set(key, row);
    }
    console.log(
      [
        'decisions by group (allow / score / hold / block):',
        ...[...table].map(([k, r]) => `  ${k.padEnd(52)} ${r.allow} / ${r.score} / ${r.hold} / ${r.block}`),
      ].join('\n'),
    );

    const honestHeld = outcomes.filter((o) => o.kind === 'honest' && ['hold', 'block'].includes(o.result.decision));
    const fraudMissed = outcomes.filter((o) => o.kind === 'fraud' && !['hold', 'block'].includes(o.result.decision));
    expect(honestHeld.map((o) => `${o.group}: ${o.result.reason}`)).toEqual([]);
    expect(fraudMissed.map((o) => `${o.group}: ${o.result.reason}`)).toEqual([]);
    expect(outcomes.filter((o) => o.kind === 'honest').length).toBeGreaterThan(90);
  }, 240_000);
});
