// The worker process killed (SIGKILL) at each point of a payout (before Stripe has the transfer,
// after Stripe made it but before the ledger write, after the ledger write but before the activity
// reported), then replaced: each payout ends with exactly one transfer and one ledger transaction.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { sql } from 'slonik';
import { z } from 'zod';
import { balanceOf } from '../../db/ledger.ts';
import { partnerEarnings } from '../../domain/ledger-postings.ts';
import { startCycle } from '../../services/payouts.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startFakeStripe, type FakeStripe } from '../support/fake-stripe.ts';
import { payablePartner as payable } from '../support/payouts.ts';
import { eventually, startDevWorker, uniqueTaskQueue, type RunningWorker } from '../support/temporal.ts';
import { killWorker, spawnWorker } from '../support/worker-process.ts';

let database: TestDatabase;
let temporal: RunningWorker; // for its client
let fake: FakeStripe;
let worker: ChildProcess | undefined;
const taskQueue = uniqueTaskQueue('payout-crash');

beforeAll(async () => {
  database = await createTestDatabase();
  fake = await startFakeStripe();
  temporal = await startDevWorker(database.db, 'payout-crash-client');
});
afterEach(async () => {
  await kill();
  await database.db.query(sql.unsafe`UPDATE partners SET status = 'inactive'`);
});
afterAll(async () => {
  await temporal?.stop();
  await fake?.close();
  await database?.drop();
});

function startWorker(): void {
  worker = spawnWorker({
    databaseUrl: database.url,
    taskQueue,
    env: { STRIPE_SECRET_KEY: 'sk_test_fake', STRIPE_API_BASE: fake.url, STRIPE_RATE_LIMIT_PER_SECOND: '1000' },
  });
}

async function kill(): Promise<void> {
  await killWorker(worker);
  worker = undefined;
}

const payablePartner = (cents: number, payoutsEnabled = true) => payable(database.db, cents, { fake, payoutsEnabled });

const payoutTransactions = (tenantId: string) =>
  database.db.oneFirst(
    sql.type(
      z.object({ n: z.number() }),
    )`SELECT count(*)::int AS n FROM ledger_transactions WHERE kind = 'payout' AND metadata ->> 'payoutId' LIKE ${tenantId + ':%'}`,
  );

/** A connection holding locks in an open transaction, released by rolling it back. */
async function holding(
  statements: (string | { text: string; values: unknown[] })[],
): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  await client.query('BEGIN');
  for (const s of statements) await client.query(s);
  return {
    async release() {
      await client.query('ROLLBACK');
      await client.end();
    },
  };
}

async function cycleDone(workflowId: string) {
  return temporal.client.workflow.getHandle(workflowId).result();
}

describe('a payout cycle whose worker is killed', () => {
  it('before Stripe made the transfer', async () => {
    const p = await payablePartner(11_000);
    startWorker();
    fake.faults.push({ kind: 'hang' });
    const arrived = fake.nextRequest();
    const { workflowId } = await startCycle(
      { db: database.db, temporal: temporal.client, taskQueue },
      { requestedBy: 'test' },
    );
    await arrived;
    await kill();
    startWorker();
    await cycleDone(workflowId);
    expect(fake.transfers.filter((t) => t.destination === p.account)).toHaveLength(1);
    expect(await payoutTransactions(p.tenantId)).toBe(1);
    expect(await balanceOf(database.db, partnerEarnings(p.tenantId, 'paid'))).toBe(11_000);
  }, 120_000);

  it('after Stripe made the transfer, before the ledger write', async () => {
    const p = await payablePartner(12_000);
    // The ledger write locks the partner's payable account: hold it, so the worker stops right there.
    const payable = partnerEarnings(p.tenantId, 'payable');
    const lock = await holding([
      {
        text: 'SELECT 1 FROM ledger_accounts WHERE owner_id = $1 AND purpose = $2 FOR UPDATE',
        values: [payable.ownerId, payable.purpose],
      },
    ]);
    startWorker();
    const { workflowId } = await startCycle(
      { db: database.db, temporal: temporal.client, taskQueue },
      { requestedBy: 'test' },
    );
    await eventually(async () => (fake.transfers.some((t) => t.destination === p.account) ? true : undefined), 60_000);
    await new Promise((r) => setTimeout(r, 500));
    await kill();
    await lock.release();
    expect(await payoutTransactions(p.tenantId)).toBe(0);
    startWorker();
    await cycleDone(workflowId);
    expect(fake.transfers.filter((t) => t.destination === p.account)).toHaveLength(1);
    expect(await payoutTransactions(p.tenantId)).toBe(1);
    expect(await balanceOf(database.db, partnerEarnings(p.tenantId, 'paid'))).toBe(12_000);
  }, 120_000);

  it('after the ledger write, before the activity reported', async () => {
    const p = await payablePartner(13_000);
    const refused = await payablePartner(9_000, false); // its failure is recorded after the ledger write
    fake.faults.push({ kind: 'delay', ms: 1_500 }, { kind: 'delay', ms: 1_500 });
    startWorker();
    const { workflowId, cycleId } = await startCycle(
      { db: database.db, temporal: temporal.client, taskQueue },
      { requestedBy: 'test' },
    );
    await eventually(async () =>
      (await database.db.maybeOneFirst(
        sql.type(z.object({ id: z.string() }))`SELECT id FROM payout_cycles WHERE id = ${cycleId}`,
      ))
        ? true
        : undefined,
    );
    // Hold the refused partner's outcome row: the worker's insert of it waits after the ledger commit.
    const lock = await holding([
      `INSERT INTO payout_cycle_items (cycle_id, tenant_id, outcome, amount_cents) VALUES ('${cycleId}', '${refused.tenantId}', 'skipped', 0)`,
    ]);
    await eventually(async () => ((await payoutTransactions(p.tenantId)) === 1 ? true : undefined), 60_000);
    await new Promise((r) => setTimeout(r, 300));
    await kill();
    await lock.release();
    startWorker();
    await cycleDone(workflowId);
    expect(fake.transfers.filter((t) => t.destination === p.account)).toHaveLength(1);
    expect(fake.transfers.filter((t) => t.destination === refused.account)).toHaveLength(0);
    expect(await payoutTransactions(p.tenantId)).toBe(1);
    expect(await payoutTransactions(refused.tenantId)).toBe(0);
    expect(await balanceOf(database.db, partnerEarnings(p.tenantId, 'paid'))).toBe(13_000);
    expect(await balanceOf(database.db, partnerEarnings(refused.tenantId, 'payable'))).toBe(9_000);
    expect(fake.duplicateTransfers()).toBe(0);
    console.log(`payout crash tests: ${fake.transfers.length} transfers, ${fake.duplicateTransfers()} duplicates`);
  }, 120_000);
});
