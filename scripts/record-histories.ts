// `npm run record-histories`: runs each path of each workflow on the time-skipping test server and
// writes its history to test/workflow/histories/, the fixtures the replay test runs the current
// code against. Record a new fixture when a new path appears; never re-record an old one to make a
// replay failure go away (that failure means running workflows would break).
// Runs outside jest: protobuf's JSON encoding does not survive jest's module sandbox.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, makeTelemetryFilterString, Runtime, Worker } from '@temporalio/worker';
import type { EdgeLifecycleInput } from '../domain/lifecycle.ts';
import { WORKFLOWS_PATH } from '../workers/worker-options.ts';
import { referralLifecycle } from '../workflows/referral-lifecycle.ts';
import {
  activatedSignal,
  edgeWorkflowId,
  paymentSignal,
  phaseChangedSignal,
  refundSignal,
  verdictSignal,
} from '../contracts/edge-lifecycle.ts';
import { WAVE_RELEASE_TYPE, waveReleaseStart, wavesChangedSignal } from '../contracts/wave-release.ts';
import { LAUNCH_FLIP_TYPE, launchFlipWorkflowId } from '../contracts/launch-flip.ts';
import { payoutCycleStart, type PayoutCycleInput } from '../contracts/payout-cycle.ts';
import { fraudRingScanStart } from '../contracts/fraud-ring-scan.ts';
import { lateRefundStart } from '../contracts/late-refund.ts';
import { whopReconciliationStart } from '../contracts/whop-reconciliation.ts';
import { recordingActivities } from './recording-activities.ts';
import { ensureTestServer } from './provision.ts';
import { startTimeSkippingServer } from './local-temporal.ts';

const HISTORIES_DIR = join(import.meta.dirname, '..', 'test', 'workflow', 'histories');

type Path = {
  name: string;
  /**
   * Runs the path; answers the run whose history to record (default: the latest), or the workflow and run when it is
   * not the edge's.
   */
  run(
    env: TestWorkflowEnvironment,
    taskQueue: string,
    input: EdgeLifecycleInput,
  ): Promise<string | void | { workflowId: string; runId?: string }>;
};

const now = async (env: TestWorkflowEnvironment) => new Date(Number(await env.currentTimeMs())).toISOString();
const payment = async (env: TestWorkflowEnvironment, id: string, amountCents: number) => ({
  eventId: `payment:${id}`,
  paymentId: id,
  amountCents,
  currency: 'USD' as const,
  paidAt: await now(env),
});
const activation = async (env: TestWorkflowEnvironment, input: EdgeLifecycleInput) => ({
  eventId: `activation:${input.refereeId}`,
  activatedAt: await now(env),
});

// Fixtures recorded by earlier code and kept to prove workflows started then still replay (never
// re-recorded): referral-lifecycle-vested.json (the lifecycle ended at vesting before payments).
/** An edge's workflow started as the relay starts it (its id from the contract), for a recording. */
const startEdge = (env: TestWorkflowEnvironment, taskQueue: string, input: EdgeLifecycleInput) =>
  env.client.workflow.start(referralLifecycle, {
    workflowId: edgeWorkflowId(input.refereeId),
    taskQueue,
    args: [input],
  });

const paths: Path[] = [
  {
    name: 'referral-lifecycle-expired',
    run: async (env, taskQueue, input) => {
      await env.client.workflow.execute(referralLifecycle, {
        workflowId: edgeWorkflowId(input.refereeId),
        taskQueue,
        args: [input],
      });
    },
  },
  {
    name: 'referral-lifecycle-expired-with-payment',
    run: async (env, taskQueue, input) => {
      const handle = await startEdge(env, taskQueue, input);
      await env.sleep('2 days');
      await handle.signal(paymentSignal, await payment(env, 'early', 5_000));
      await handle.result();
    },
  },
  {
    name: 'referral-lifecycle-earning',
    run: async (env, taskQueue, input) => {
      const handle = await startEdge(env, taskQueue, input);
      await env.sleep('3 days');
      await handle.signal(activatedSignal, await activation(env, input));
      await env.sleep('1 day');
      await handle.signal(paymentSignal, await payment(env, 'm1', 4_999));
      await handle.signal(paymentSignal, await payment(env, 'm1', 4_999));
      await env.sleep('31 days');
      await handle.signal(paymentSignal, await payment(env, 'm2', 4_999));
      await env.sleep('2 days');
      await handle.signal(refundSignal, {
        eventId: 'refund:r1',
        refundId: 'r1',
        paymentId: 'm2',
        amountCents: 2_000,
        refundedAt: await now(env),
      });
      await handle.signal(phaseChangedSignal, { eventId: 'phase:public', phase: 'public', changedAt: await now(env) });
      await env.sleep('40 days');
      await handle.signal(paymentSignal, await payment(env, 'm4', 4_999));
      await handle.result();
    },
  },
  {
    // Paid 30 times while held (pricing-batches-v1): at the clearance its payments are priced 25, then 5.
    name: 'referral-lifecycle-pricing-batches',
    run: async (env, taskQueue, input) => {
      const handle = await startEdge(env, taskQueue, input);
      await handle.signal(activatedSignal, await activation(env, input));
      await env.sleep('1 day');
      await handle.signal(verdictSignal, { eventId: 'verdict:h1', verdict: 'hold', reason: 'review' });
      for (let i = 0; i < 30; i++) await handle.signal(paymentSignal, await payment(env, `b${i}`, 1_000));
      await env.sleep('1 hour');
      await handle.signal(verdictSignal, { eventId: 'verdict:c1', verdict: 'clear', reason: 'reviewed' });
      await handle.result();
    },
  },
  {
    name: 'referral-lifecycle-held-voided',
    run: async (env, taskQueue, input) => {
      const handle = await startEdge(env, taskQueue, input);
      await handle.signal(activatedSignal, await activation(env, input));
      await handle.signal(paymentSignal, await payment(env, 'p1', 10_000));
      await env.sleep('1 day');
      await handle.signal(verdictSignal, { eventId: 'verdict:v1', verdict: 'hold', reason: 'review' });
      await handle.signal(paymentSignal, await payment(env, 'p2', 10_000));
      await env.sleep('35 days');
      await handle.signal(verdictSignal, { eventId: 'verdict:v2', verdict: 'clear', reason: 'ok' });
      await env.sleep('1 day');
      await handle.signal(verdictSignal, { eventId: 'verdict:v3', verdict: 'void', reason: 'fraud' });
      await handle.result();
    },
  },
  {
    // Screened by the fraud rules (fraud-screen-v1): held when its referee activates, vested at the
    // clearance; a payment held before it is priced, priced at the clearance; the screen's hold
    // message arriving later is a repeat; voided at the end.
    name: 'referral-lifecycle-screened',
    run: async (env, taskQueue, input) => {
      const handle = await startEdge(env, taskQueue, input);
      await env.sleep('1 day');
      await handle.signal(activatedSignal, await activation(env, input));
      await env.sleep('2 days');
      await handle.signal(verdictSignal, { eventId: 'verdict:c1', verdict: 'clear', reason: 'reviewed' });
      await handle.signal(paymentSignal, await payment(env, 'p1', 10_000));
      await env.sleep('1 day');
      await handle.signal(paymentSignal, await payment(env, 'held', 10_000));
      await env.sleep('5 days');
      await handle.signal(verdictSignal, {
        eventId: `verdict:fraud:payment:${input.edgeId}:held`,
        verdict: 'hold',
        reason: 'stand-in rule',
      });
      await handle.signal(verdictSignal, { eventId: 'verdict:c2', verdict: 'clear', reason: 'reviewed' });
      await env.sleep('40 days');
      await handle.signal(verdictSignal, { eventId: 'verdict:v1', verdict: 'void', reason: 'archived' });
      await handle.result();
    },
  },
  {
    // Held before its referee activates (fraud-screen-v1), then expired: the window still ends it.
    name: 'referral-lifecycle-held-expired',
    run: async (env, taskQueue, input) => {
      const handle = await startEdge(env, taskQueue, input);
      await env.sleep('1 day');
      await handle.signal(verdictSignal, { eventId: 'verdict:h1', verdict: 'hold', reason: 'review' });
      await handle.result();
    },
  },
  {
    // Held before its referee activates (fraud-screen-v1), activated, then voided unvested.
    name: 'referral-lifecycle-held-activated-voided',
    run: async (env, taskQueue, input) => {
      const handle = await startEdge(env, taskQueue, input);
      await handle.signal(verdictSignal, { eventId: 'verdict:h1', verdict: 'hold', reason: 'review' });
      await env.sleep('1 day');
      await handle.signal(activatedSignal, await activation(env, input));
      await env.sleep('3 days');
      await handle.signal(verdictSignal, { eventId: 'verdict:v1', verdict: 'void', reason: 'fraud' });
      await handle.result();
    },
  },
  {
    // A beta-seeded edge after the launch flip: its commission reaches the retention gate (since
    // retention-gate-v1); the stand-in forfeits `forfeit-*` payments and releases `kept-*` ones.
    name: 'referral-lifecycle-retention-gate',
    run: async (env, taskQueue, input) => {
      const handle = await startEdge(env, taskQueue, input);
      await handle.signal(activatedSignal, await activation(env, input));
      await handle.signal(phaseChangedSignal, { eventId: 'phase:public', phase: 'public', changedAt: await now(env) });
      await env.sleep('1 day');
      await handle.signal(paymentSignal, await payment(env, 'forfeit-p1', 10_000));
      await env.sleep('7 days');
      await handle.signal(paymentSignal, await payment(env, 'kept-p2', 10_000));
      await env.sleep('31 days');
      await handle.signal(refundSignal, {
        eventId: 'refund:r1',
        refundId: 'r1',
        paymentId: 'forfeit-p1',
        amountCents: 5_000,
        refundedAt: await now(env),
      });
      await handle.result();
    },
  },
  {
    // The first run of an edge that continued as new (a low history limit makes it hand over early).
    name: 'referral-lifecycle-continued-as-new',
    run: async (env, taskQueue, input) => {
      const handle = await startEdge(env, taskQueue, { ...input, historyLimit: 40 });
      await handle.signal(activatedSignal, await activation(env, input));
      for (let week = 1; week <= 8; week++) {
        await handle.signal(paymentSignal, await payment(env, `w${week}`, 1_250));
        await env.sleep('7 days');
      }
      const { runId } = await handle.describe();
      if (runId === handle.firstExecutionRunId) throw new Error('expected the workflow to have continued as new');
      return handle.firstExecutionRunId;
    },
  },
  {
    // The first run of a launch flip (pages of two, two pages per run: it continues as new).
    name: 'launch-flip-continued-as-new',
    run: async (env, taskQueue) => {
      const handle = await env.client.workflow.start(LAUNCH_FLIP_TYPE, {
        workflowId: launchFlipWorkflowId('record'),
        taskQueue,
        args: [{ changedAt: await now(env), pageSize: 2, pagesPerRun: 2 }],
      });
      await handle.result();
      return { workflowId: launchFlipWorkflowId('record'), runId: handle.firstExecutionRunId };
    },
  },
  {
    // The last run of a launch flip: its last page, then the flip recorded finished.
    name: 'launch-flip',
    run: async (env, taskQueue) => {
      const handle = await env.client.workflow.start(LAUNCH_FLIP_TYPE, {
        workflowId: launchFlipWorkflowId('record'),
        taskQueue,
        args: [{ changedAt: await now(env), pageSize: 2, pagesPerRun: 2 }],
      });
      await handle.result();
      return { workflowId: launchFlipWorkflowId('record') };
    },
  },
  {
    // The first run of a launch flip that admits the waitlist (launch-admits-waitlist-v1): the
    // partners enrolled, two pages of two users admitted, continued as new still admitting.
    name: 'launch-flip-admits-waitlist',
    run: async (env, taskQueue) => {
      const handle = await env.client.workflow.start(LAUNCH_FLIP_TYPE, {
        workflowId: launchFlipWorkflowId('record'),
        taskQueue,
        args: [{ changedAt: await now(env), pageSize: 2, pagesPerRun: 2 }],
      });
      await handle.result();
      return { workflowId: launchFlipWorkflowId('record'), runId: handle.firstExecutionRunId };
    },
  },
  {
    // The second run of that flip: the last user admitted (the admission finished), then the first
    // page of edges told, continued as new telling.
    name: 'launch-flip-admitting-continued',
    run: async (env, taskQueue) => {
      const handle = await env.client.workflow.start(LAUNCH_FLIP_TYPE, {
        workflowId: launchFlipWorkflowId('record'),
        taskQueue,
        args: [{ changedAt: await now(env), pageSize: 2, pagesPerRun: 2 }],
      });
      await handle.result();
      const first = await env.client.workflow.getHandle(launchFlipWorkflowId('record'), handle.firstExecutionRunId);
      const events = (await first.fetchHistory()).events ?? [];
      const runId = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
      if (!runId) throw new Error('expected the launch flip to have continued as new');
      return { workflowId: launchFlipWorkflowId('record'), runId };
    },
  },
  {
    // A run the retired `waves-release` Schedule started: no input, one round.
    name: 'wave-release',
    run: async (env, taskQueue) => {
      // The retired Schedule's runs had ids of their own form (`wave-release-<time>`) and no input.
      await env.client.workflow.execute(WAVE_RELEASE_TYPE, { workflowId: 'wave-release', taskQueue, args: [] });
      return { workflowId: 'wave-release' };
    },
  },
  {
    // A cycle finance started by hand over three pages of partners.
    name: 'payout-cycle',
    run: async (env, taskQueue) => recordPayoutCycle(env, taskQueue, 'manual-2027-03-01T06:00:00.000Z'),
  },
  {
    // A cycle started while another ran: it finds the running one and ends.
    name: 'payout-cycle-skipped',
    run: async (env, taskQueue) => recordPayoutCycle(env, taskQueue, 'busy-manual-2027-03-01T06:00:00.000Z'),
  },
  {
    // The first run of a deployment's wave release: a round, woken early by wavesChanged, then
    // rounds at each planning time until it continues as new.
    name: 'wave-release-loop-continued-as-new',
    run: async (env, taskQueue) => {
      const start = waveReleaseStart('record', { planEveryMinutes: 60, roundsPerRun: 3 });
      const handle = await env.client.workflow.start(start.workflowType, {
        workflowId: start.workflowId,
        taskQueue,
        args: start.args,
        staticSummary: start.summary,
      });
      await env.sleep('10 minutes');
      await handle.signal(wavesChangedSignal);
      await env.sleep('3 hours');
      const { runId } = await handle.describe();
      if (runId === handle.firstExecutionRunId) throw new Error('expected the wave release to have continued as new');
      return { workflowId: start.workflowId, runId: handle.firstExecutionRunId };
    },
  },
  {
    // A scan its Schedule started (the Schedule appends the time to the id): one activity.
    name: 'fraud-ring-scan',
    run: async (env, taskQueue) => {
      const start = fraudRingScanStart('record', { everyMinutes: 60 });
      const workflowId = `${start.workflowId}-2027-03-01T06:00:00Z`;
      await env.client.workflow.execute(start.workflowType, {
        workflowId,
        taskQueue,
        args: start.args,
        staticSummary: start.summary,
      });
      return { workflowId };
    },
  },
  {
    // A refund that reached its payment after the edge's workflow had ended: taken back by a workflow of its own.
    name: 'late-refund',
    run: async (env, taskQueue, input) => {
      const start = lateRefundStart({
        refundId: 'r-late',
        paymentId: 'm2',
        amountCents: 2_000,
        edgeId: input.edgeId,
        referrerId: input.referrerId,
        refereeId: input.refereeId,
      });
      await env.client.workflow.execute(start.workflowType, {
        workflowId: start.workflowId,
        taskQueue,
        args: start.args,
        staticSummary: start.summary,
      });
      return { workflowId: start.workflowId };
    },
  },
  {
    // A Whop reconciliation its Schedule started: two pages of payments, then one of refunds.
    name: 'whop-reconciliation',
    run: async (env, taskQueue) => {
      const start = whopReconciliationStart('record', { everyMinutes: 15, pageSize: 2 });
      const workflowId = `${start.workflowId}-2027-03-01T06:00:00Z`;
      await env.client.workflow.execute(start.workflowType, {
        workflowId,
        taskQueue,
        args: start.args,
        staticSummary: start.summary,
      });
      return { workflowId };
    },
  },
];

async function recordPayoutCycle(
  env: TestWorkflowEnvironment,
  taskQueue: string,
  cycleId: string,
): Promise<{ workflowId: string }> {
  const input: PayoutCycleInput = {
    frequencies: ['monthly', 'quarterly'],
    trigger: 'manual',
    requestedBy: 'finance-key:record',
    pageSize: 2,
  };
  const start = payoutCycleStart(cycleId, input);
  await env.client.workflow.execute(start.workflowType, {
    workflowId: start.workflowId,
    taskQueue,
    args: start.args,
    staticSummary: start.summary,
  });
  return { workflowId: start.workflowId };
}

Runtime.install({
  logger: new DefaultLogger('ERROR'),
  telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
});
mkdirSync(HISTORIES_DIR, { recursive: true });
const only = process.argv.slice(2);
for (const path of paths.filter((p) => only.length === 0 || only.includes(p.name))) {
  const env = await startTimeSkippingServer(ensureTestServer());
  try {
    const taskQueue = `record-${path.name}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: WORKFLOWS_PATH,
      activities: recordingActivities,
      bundlerOptions: { logger: new DefaultLogger('ERROR') } as never,
    });
    const input: EdgeLifecycleInput = {
      edgeId: randomUUID(),
      referrerId: randomUUID(),
      refereeId: randomUUID(),
      partnerId: null,
      kind: 'beta_auto',
      source: 'link',
      phase: 'beta',
      writtenAt: new Date(Number(await env.currentTimeMs())).toISOString(),
      activationWindowDays: 30,
    };
    const ran = await worker.runUntil(path.run(env, taskQueue, input));
    const { workflowId, runId } =
      typeof ran === 'object' ? ran : { workflowId: edgeWorkflowId(input.refereeId), runId: ran || undefined };
    const history = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
    writeFileSync(join(HISTORIES_DIR, `${path.name}.json`), historyToJSON(history) + '\n');
    console.log(`recorded ${path.name} (${history.events?.length} events)`);
  } finally {
    await env.teardown();
  }
}
