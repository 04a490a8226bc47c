// PostgreSQL and Temporal faults through Toxiproxy (issue 17): the API, the relay and a worker reach
// both only through proxies while customers sign up, activate and pay. Faults: latency on
// PostgreSQL, connections reset mid-transaction, PostgreSQL unreachable for some seconds under load,
// the Temporal frontend unreachable for 30 s. Every answer is a success or a clean 503 (Retry-After,
// no stack), nothing hangs past a bound, a retry with the same Idempotency-Key / business id
// succeeds once the fault is over, and afterwards the ledger, the graph and the workflows agree.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import { stateQuery } from '../../contracts/edge-lifecycle.ts';
import { partnerEarnings } from '../../domain/ledger-postings.ts';
import { balanceOf } from '../../db/ledger.ts';
import { TEST_KEYS } from '../support/app.ts';
import { startFaultStack, type FaultStack } from '../support/faults.ts';
import { partner, signup, uniqueEmail } from '../support/graph.ts';
import { eventually } from '../support/temporal.ts';

let stack: FaultStack;
let owner: { tenantId: string; referralCode: string };

beforeAll(async () => {
  stack = await startFaultStack('faults');
  const o = await signup(stack.api);
  const terms = await partner(stack.api, o.tenantId); // 20% cash commission
  owner = { tenantId: o.tenantId, referralCode: terms.referralCode };
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

/** No answer within this bound counts as a hang. */
const HANG_BOUND_MS = 45_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Journey = { email: string; userId?: string; paymentId: string; amountCents: number; done: boolean };
const figures = {
  requests: 0,
  faults: 0,
  byStatus: new Map<string, number>(),
  unclean: [] as string[],
  signupAnswersLost: 0,
  journeys: [] as Journey[],
};
const count = (label: string) => figures.byStatus.set(label, (figures.byStatus.get(label) ?? 0) + 1);

/**
 * One request, retried with the same Idempotency-Key (and so the same business id) until it
 * succeeds; every answer on the way is counted and must be a success or a clean 503.
 */
async function untilAccepted(what: string, path: string, json: unknown, key: string | undefined, okStatus: number[]) {
  const deadline = Date.now() + 120_000;
  for (let attempt = 1; ; attempt++) {
    figures.requests++;
    let res: Awaited<ReturnType<FaultStack['api']['request']>>;
    try {
      res = await stack.api.request(path, {
        json,
        ...(key ? { key } : {}),
        headers: { 'idempotency-key': `${what}-${JSON.stringify(json)}`.slice(0, 200) },
        signal: AbortSignal.timeout(HANG_BOUND_MS),
      });
    } catch (err) {
      count('hang/no answer');
      figures.unclean.push(`${what}: ${(err as Error).name} ${(err as Error).message}`);
      throw err;
    }
    count(res.status === 409 ? `409 ${res.body?.error?.code}` : String(res.status));
    if (okStatus.includes(res.status)) return res;
    // A first attempt that committed but whose answer was lost is answered as a replay by its retry
    // (the signup keeps its key's digest); a retry that finds the email taken instead is a loss.
    if (what === 'signup' && attempt > 1 && res.body?.error?.code === 'email_taken') {
      figures.signupAnswersLost++;
      figures.unclean.push(`signup attempt ${attempt}: the retry found the email taken (its first answer was lost)`);
      return null;
    }
    // Another attempt under the same key still holds it (or held it when PostgreSQL went away and
    // could not free it until the claim went stale): "retry later", as documented.
    const inProgress = res.status === 409 && res.body?.error?.code === 'idempotency_in_progress';
    const clean =
      inProgress ||
      (res.status === 503 &&
        res.body?.error?.code === 'service_unavailable' &&
        res.headers.get('retry-after') !== null &&
        !/\n\s+at |Error:/.test(JSON.stringify(res.body)));
    if (!clean) figures.unclean.push(`${what} attempt ${attempt}: ${res.status} ${JSON.stringify(res.body)}`);
    if (Date.now() > deadline) throw new Error(`${what} never accepted: last ${res.status}`);
    await sleep(clean ? 300 : 1_000);
  }
}

let seq = 0;
/** A customer through the partner's code: signs up, activates, pays once. */
async function journey(): Promise<void> {
  const i = ++seq;
  const j: Journey = { email: uniqueEmail('fault'), paymentId: `fault_pay_${i}`, amountCents: 1_000 + i, done: false };
  figures.journeys.push(j);
  const signed = await untilAccepted(
    'signup',
    '/v1/signups',
    { email: j.email, ref: owner.referralCode },
    undefined,
    [201],
  );
  j.userId = signed
    ? (signed.body.user.id as string)
    : await stack.database.db.oneFirst(
        sql.type(z.object({ id: z.uuid() }))`SELECT id FROM users WHERE email = ${j.email}`,
      );
  await untilAccepted('activation', '/v1/activations', { userId: j.userId }, TEST_KEYS.server, [202]);
  await untilAccepted(
    'payment',
    '/v1/payments',
    { paymentId: j.paymentId, userId: j.userId, amountCents: j.amountCents },
    TEST_KEYS.server,
    [200, 201],
  );
  j.done = true;
}

/** Customers arriving `concurrency` at a time while `fault` runs; resolves when all are through. */
async function underLoad(concurrency: number, fault: () => Promise<void>): Promise<string[]> {
  const before = figures.unclean.length;
  let faulting = true;
  const lanes = Array.from({ length: concurrency }, async () => {
    do await journey();
    while (faulting);
  });
  try {
    await fault();
  } finally {
    faulting = false;
  }
  await Promise.all(lanes);
  return figures.unclean.slice(before);
}

describe('faults between the system and PostgreSQL / Temporal', () => {
  it('latency on PostgreSQL: slower, never wrong', async () => {
    const unclean = await underLoad(3, async () => {
      figures.faults++;
      await stack.postgres.addToxic({ type: 'latency', attributes: { latency: 150, jitter: 50 } });
      await sleep(6_000);
      await stack.postgres.reset();
    });
    expect(unclean).toEqual([]);
  }, 120_000);

  it('connections reset mid-transaction: clean 503s, then the retries go through', async () => {
    const unclean = await underLoad(4, async () => {
      // Slow writes so statements are in flight, then reset every connection a moment later.
      await stack.postgres.addToxic({ type: 'latency', stream: 'upstream', attributes: { latency: 100 } });
      for (let k = 0; k < 3; k++) {
        await sleep(1_000);
        figures.faults++;
        const reset = await stack.postgres.addToxic({ type: 'reset_peer', attributes: { timeout: 150 } });
        await sleep(800);
        await stack.postgres.removeToxic(reset);
      }
      await stack.postgres.reset();
    });
    expect(unclean).toEqual([]);
  }, 180_000);

  it('PostgreSQL unreachable for 5 s under load (as a restart looks to clients)', async () => {
    const unclean = await underLoad(4, async () => {
      await sleep(1_000);
      figures.faults++;
      await stack.postgres.disable();
      await sleep(5_000);
      await stack.postgres.enable();
      await sleep(1_000);
    });
    expect(unclean).toEqual([]);
  }, 180_000);

  it('the Temporal frontend unreachable for 30 s while signups and payments flow', async () => {
    const unclean = await underLoad(3, async () => {
      await sleep(500);
      figures.faults++;
      await stack.temporal.disable();
      await sleep(30_000);
      await stack.temporal.enable();
    });
    expect(unclean).toEqual([]);
  }, 240_000);

  it('afterwards nothing is lost and nothing doubled: ledger, graph, workflows and partner stats agree', async () => {
    const { database, direct } = stack;
    const journeys = figures.journeys;
    expect(journeys.every((j) => j.done)).toBe(true);
    const userIds = journeys.map((j) => j.userId!);

    // The graph: one user and one edge per accepted signup, from the partner's owner.
    const edges = await database.db.oneFirst(sql.type(z.object({ n: z.number() }))`
      SELECT count(*)::int AS n FROM edges e JOIN users u ON u.id = e.referee_id
      WHERE u.id = ANY(${sql.array(userIds, 'uuid')})`);
    const usersByEmail = await database.db.oneFirst(sql.type(z.object({ n: z.number() }))`
      SELECT count(*)::int AS n FROM users WHERE email LIKE 'fault-%'`);
    expect(edges).toBe(journeys.length);
    expect(usersByEmail).toBe(journeys.length);

    // Every payment priced exactly once; no ledger transaction twice for one business key.
    let expected = 0;
    for (const j of journeys) expected += Math.floor((j.amountCents * 2_000) / 10_000);
    const priced = () =>
      database.db.any(sql.type(z.object({ payment_id: z.string(), n: z.number() }))`
        SELECT metadata ->> 'paymentId' AS payment_id, count(*)::int AS n FROM ledger_transactions
        WHERE kind = 'commission' AND metadata ->> 'paymentId' LIKE 'fault_pay_%' GROUP BY 1`);
    await eventually(async () => ((await priced()).length === journeys.length ? true : undefined), 120_000);
    const pricedRows = await priced();
    const duplicates = pricedRows.filter((r) => r.n !== 1).length;
    const doubledKeys = await database.db.oneFirst(sql.type(z.object({ n: z.number() }))`
      SELECT count(*)::int AS n FROM (SELECT idempotency_key FROM ledger_transactions GROUP BY 1 HAVING count(*) > 1) d`);
    expect(duplicates).toBe(0);
    expect(doubledKeys).toBe(0);

    // Workflows: each edge's workflow exists and its earnings add up to the ledger and the stats.
    const cash = await eventually(async () => {
      let sum = 0;
      for (const id of userIds)
        sum += (await direct.workflow.getHandle(`edge:${id}`).query(stateQuery)).earned.cashCents;
      return sum === expected ? sum : undefined;
    }, 120_000);
    const ledger = await balanceOf(database.db, partnerEarnings(owner.tenantId, 'pending'));
    const stats = (await stack.api.request(`/v1/partners/${owner.tenantId}`, { key: TEST_KEYS.admin })).body.stats;
    expect(ledger).toBe(expected);
    expect(stats.totalEarningsCents).toBe(expected);
    expect(stats.totalReferrals).toBe(journeys.length);
    const losses = journeys.length - pricedRows.length;
    expect(losses).toBe(0);

    const failures = [...figures.byStatus.entries()].filter(([s]) => !/^20[012]$/.test(s));
    console.log(
      [
        `faults through toxiproxy: ${figures.requests} requests, ${figures.faults} faults injected, ${journeys.length} customers (signup, activation, payment)`,
        `answers by status: ${[...figures.byStatus.entries()].map(([s, n]) => `${s}: ${n}`).join(', ')}`,
        `failures: ${failures.map(([s, n]) => `${s}: ${n}`).join(', ') || 'none'} (unclean: ${figures.unclean.length})`,
        `signups whose answer was lost and whose retry found the email taken: ${figures.signupAnswersLost}`,
        `duplicates: ${duplicates + doubledKeys}, losses: ${losses}; ledger ${ledger} = workflows ${cash} = stats ${stats.totalEarningsCents} cents`,
      ].join('\n'),
    );
  }, 300_000);
});
