// The finance CLI (`npm run payouts -- preview|run|status`) against the real stack: it calls the
// same services as the API and prints tables.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createStripe } from '../../platform/stripe.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startFakeStripe, type FakeStripe } from '../support/fake-stripe.ts';
import { payablePartner } from '../support/payouts.ts';
import { startDevWorker, temporalAddress, type RunningWorker } from '../support/temporal.ts';

let database: TestDatabase;
let worker: RunningWorker;
let fake: FakeStripe;

beforeAll(async () => {
  database = await createTestDatabase();
  fake = await startFakeStripe();
  worker = await startDevWorker(database.db, 'cli', {
    stripe: createStripe({
      secretKey: 'sk_test_fake',
      apiBase: fake.url,
      webhookSecret: null,
      rateLimitPerSecond: 1_000,
      concurrency: 8,
    }),
  });
});
afterAll(async () => {
  await worker?.stop();
  await fake?.close();
  await database?.drop();
});

/** Runs the CLI as its own process (asynchronously: the worker runs in this one). */
const cli = (...args: string[]) =>
  new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn(
      process.execPath,
      [fileURLToPath(new URL('../../scripts/payouts.ts', import.meta.url)), ...args],
      {
        env: {
          ...process.env,
          DATABASE_URL: database.url,
          TEMPORAL_ADDRESS: temporalAddress(),
          TEMPORAL_TASK_QUEUE: worker.taskQueue,
        },
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => void (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => void (err += c.toString('utf8')));
    child.once('exit', (code) => resolve({ code, out, err }));
  });

describe('finance CLI', () => {
  it('previews, runs a cycle to the end and shows its status as tables', async () => {
    const { tenantId, account } = await payablePartner(database.db, 25_050, { fake });

    const preview = await cli('preview');
    expect(preview.code).toBe(0);
    expect(preview.out).toMatch(new RegExp(`${tenantId}\\s+\\S+\\s+would_pay\\s+stripe\\s+\\$250\\.50`));
    expect(preview.out).toContain('1 would be paid $250.50');

    const run = await cli('run');
    expect(run.code).toBe(0);
    expect(run.err).toMatch(/cycle manual-\S+ started/);
    expect(run.out).toMatch(/paid\s+1\s+\$250\.50/);
    const cycleId = /cycle (manual-\S+) started/.exec(run.err)![1]!;
    const status = await cli('status', cycleId);
    expect(status.code).toBe(0);
    expect(status.out).toContain(`cycle ${cycleId}: completed`);
    expect(fake.transfers.filter((t) => t.destination === account)).toHaveLength(1);

    expect((await cli('status', 'nope')).err).toContain('cycle_not_found');
    expect((await cli('launch')).code).toBe(2);
  });
});
