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
import type { EdgeProgressActivities } from '../activities/edge-progress.ts';
import { WORKFLOWS_PATH } from '../workers/worker-options.ts';
import { activatedSignal, referralLifecycle } from '../workflows/referral-lifecycle.ts';
import { ensureTestServer } from './provision.ts';
import { startTimeSkippingServer } from './local-temporal.ts';

const HISTORIES_DIR = join(import.meta.dirname, '..', 'test', 'workflow', 'histories');

// Activities' side effects are not part of a history, only their results (void here).
const activities: EdgeProgressActivities = { recordEdgeVested: async () => {}, recordEdgeExpired: async () => {}, recordEdgeCompleted: async () => {}, recordEdgeVoided: async () => {} };

type Path = { name: string; run(env: TestWorkflowEnvironment, taskQueue: string, input: EdgeLifecycleInput): Promise<void> };

const paths: Path[] = [
  {
    name: 'referral-lifecycle-expired',
    run: async (env, taskQueue, input) => {
      await env.client.workflow.execute(referralLifecycle, { workflowId: `edge:${input.refereeId}`, taskQueue, args: [input] });
    },
  },
  {
    name: 'referral-lifecycle-vested',
    run: async (env, taskQueue, input) => {
      const handle = await env.client.workflow.start(referralLifecycle, { workflowId: `edge:${input.refereeId}`, taskQueue, args: [input] });
      await env.sleep('3 days');
      await handle.signal(activatedSignal, { eventId: `activation:${input.refereeId}`, activatedAt: new Date(Number(await env.currentTimeMs())).toISOString() });
      await handle.signal(activatedSignal, { eventId: `activation:${input.refereeId}`, activatedAt: new Date(Number(await env.currentTimeMs())).toISOString() });
      await handle.result();
    },
  },
];

Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } } });
mkdirSync(HISTORIES_DIR, { recursive: true });
const only = process.argv.slice(2);
for (const path of paths.filter((p) => only.length === 0 || only.includes(p.name))) {
  const env = await startTimeSkippingServer(ensureTestServer());
  try {
    const taskQueue = `record-${path.name}`;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: WORKFLOWS_PATH, activities, bundlerOptions: { logger: new DefaultLogger('ERROR') } as never });
    const input: EdgeLifecycleInput = {
      edgeId: randomUUID(), referrerId: randomUUID(), refereeId: randomUUID(), partnerId: null,
      kind: 'beta_auto', source: 'link', phase: 'beta',
      writtenAt: new Date(Number(await env.currentTimeMs())).toISOString(), activationWindowDays: 30,
    };
    await worker.runUntil(path.run(env, taskQueue, input));
    const history = await env.client.workflow.getHandle(`edge:${input.refereeId}`).fetchHistory();
    writeFileSync(join(HISTORIES_DIR, `${path.name}.json`), historyToJSON(history) + '\n');
    console.log(`recorded ${path.name} (${history.events?.length} events)`);
  } finally {
    await env.teardown();
  }
}
