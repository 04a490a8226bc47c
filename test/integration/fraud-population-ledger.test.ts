// The synthetic population of bench/fraud-population.ts, at its smallest, through the whole system
// in this process (the API trusting its loopback proxy, the outbox starter, a worker with every
// activity): signups with devices and addresses, activations, a ring scan, the launch flip,
// payments with cards; then the money from the ledger. Every fraud group earns $0 and 0 credits
// (the referrer burst too: its first 20 edges in the hour pass where they are written, and are held
// at activation, when the hour around them shows the burst); no honest edge is held and each honest
// group earns exactly what the commission rules say.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { fraudRingScanStart } from '../../contracts/fraud-ring-scan.ts';
import { createLogger } from '../../platform/logger.ts';
import { startWorkflowStarter, type WorkflowStarter } from '../../workers/workflow-starter.ts';
import { report, runPopulation, type PopulationResult } from '../../bench/fraud-population.ts';
import { startTestApi, testConfig, TEST_KEYS, type TestApi } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startDevWorker, type RunningWorker } from '../support/temporal.ts';

let database: TestDatabase;
let worker: RunningWorker;
let starter: WorkflowStarter;
let api: TestApi;

beforeAll(async () => {
  database = await createTestDatabase();
  worker = await startDevWorker(database.db, 'population');
  starter = startWorkflowStarter({
    db: database.db,
    databaseUrl: database.url,
    client: worker.client,
    taskQueue: worker.taskQueue,
    log: createLogger('silent', 'starter'),
    pollIntervalMs: 100,
  });
  api = await startTestApi({
    config: testConfig(database.url, { TEMPORAL_TASK_QUEUE: worker.taskQueue, TRUST_PROXY: 'loopback' }),
    db: database.db,
    temporal: worker.client,
  });
});
afterAll(async () => {
  await api?.close();
  await starter?.stop();
  await worker?.stop();
  await database?.drop();
});

describe('a synthetic population through the API, the workflows and the ledger', () => {
  it('fraud earns nothing; honest referrers earn what the rules say', async () => {
    let scans = 0;
    const result: PopulationResult = await runPopulation(
      {
        db: database.db,
        settleTimeoutMs: 60_000,
        request: (path, init = {}) =>
          api.request(path, {
            ...(init.method ? { method: init.method } : {}),
            ...(init.json === undefined ? {} : { json: init.json }),
            ...(init.key ? { key: init.key === 'admin' ? TEST_KEYS.admin : TEST_KEYS.server } : {}),
            ...(init.ip ? { headers: { 'x-forwarded-for': init.ip } } : {}),
          }),
        scanRings: () => {
          const s = fraudRingScanStart(worker.taskQueue, { everyMinutes: 60 });
          return worker.client.workflow.execute(s.workflowType, {
            workflowId: `${s.workflowId}-test-${++scans}`,
            taskQueue: worker.taskQueue,
            args: s.args,
          });
        },
      },
      1,
    );
    console.log(report(result).lines.join('\n'));
    const group = (name: string) => result.groups.find((g) => g.group === name)!;

    // Fraud: nothing from the ledger, cash or credits (what a self-purchase or a ring got on vesting
    // was taken back when it was held), every edge held or blocked, or the signup refused.
    for (const g of result.groups.filter((g) => g.kind === 'fraud')) {
      expect({ group: g.group, cash: g.cashCents, credits: g.credits }).toEqual({
        group: g.group,
        cash: 0,
        credits: 0,
      });
      expect({ group: g.group, unheld: g.decisions.allow + g.decisions.score }).toEqual({ group: g.group, unheld: 0 });
    }
    expect(group('self-referral, +tag and dots')).toMatchObject({ edges: 0, refused: 3 });
    expect(group('ring on shared devices').heldBy).toEqual({ ring: 5 });
    expect(group("self-purchase with the referrer's card").creditsTakenBack).toBe(3 * 250);
    // The burst: 25 edges; the 5 past 20 in the hour held where they were written, the 20 before
    // them at activation (the hour around each holds all 25), before any vested.
    const burst = group('referrer burst');
    expect(burst).toMatchObject({ edges: 25, decisions: { hold: 25, block: 0 } });
    const heldForVelocity = Object.entries(burst.heldBy).filter(([rules]) => rules.includes('referrer-velocity'));
    expect(heldForVelocity.reduce((n, [, count]) => n + count, 0)).toBe(25);

    // Honest: none held; each group earns exactly what the rules say (10% of each first payment
    // after the flip and the milestone credits per referrer; the partner's 20% + 5% in credits).
    for (const g of result.groups.filter((g) => g.kind === 'honest')) {
      expect({ group: g.group, held: g.honestHeld }).toEqual({ group: g.group, held: [] });
      expect({ group: g.group, cash: g.cashCents, credits: g.credits }).toEqual({
        group: g.group,
        cash: g.expected!.cashCents,
        credits: g.expected!.credits,
      });
    }
    expect(group('independent referrals')).toMatchObject({ cashCents: 10 * 200, credits: 10 * 250 });
    expect(group('family behind one address')).toMatchObject({ cashCents: 4 * 200, credits: 250 + 1_000 });
    expect(group("a partner's audience")).toMatchObject({ cashCents: 25 * 400, credits: 25 * 100 });
  }, 180_000);
});
