// Writing an edge and starting its workflow is one durable step: the crash windows between the
// PostgreSQL commit and the Temporal start lose nothing and start nothing twice.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import { claimPendingRows, pendingRowCount } from '../../db/outbox.ts';
import { edgeLifecycleStarts } from '../../db/edges.ts';
import { createLogger } from '../../platform/logger.ts';
import { recordActivation } from '../../services/activations.ts';
import { signUp } from '../../services/signups.ts';
import { DEFAULT_FLAVORS } from '../../domain/invite-flavors.ts';
import { startWorkflowStarter } from '../../workers/workflow-starter.ts';
import { edgeWorkflowId, stateQuery } from '../../contracts/edge-lifecycle.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventually, startDevWorker, type RunningWorker } from '../support/temporal.ts';

let database: TestDatabase;
let worker: RunningWorker;
const log = createLogger('silent', 'starter');

beforeAll(async () => {
  database = await createTestDatabase();
  worker = await startDevWorker(database.db, 'outbox');
});
afterAll(async () => {
  await worker?.stop();
  await database?.drop();
});

let n = 0;
async function referredSignup() {
  const deps = { db: database.db, activationWindowDays: 30, flavors: DEFAULT_FLAVORS };
  n += 1;
  const referrer = await signUp(deps, { email: `r${n}-${Date.now()}@example.com` });
  const referee = await signUp(deps, { email: `e${n}-${Date.now()}@example.com`, ref: referrer.user.id });
  return { workflowId: edgeWorkflowId(referee.user.id), edgeId: referee.edge!.id, userId: referee.user.id };
}

const relay = (leaseMs = 30_000) =>
  startWorkflowStarter({
    db: database.db,
    databaseUrl: database.url,
    client: worker.client,
    taskQueue: worker.taskQueue,
    log,
    leaseMs,
    pollIntervalMs: 100,
  });

/** Every execution ever started under this workflow id (all runs). */
async function executions(workflowId: string): Promise<number> {
  let count = 0;
  for await (const _ of worker.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) count += 1;
  return count;
}

async function drainRelay(leaseMs?: number) {
  const starter = relay(leaseMs);
  await eventually(async () => ((await pendingRowCount(database.db)) === 0 ? true : undefined));
  await starter.stop();
}

describe('edge outbox', () => {
  it('keeps an edge written while no relay runs, and starts it when one comes up', async () => {
    const { workflowId } = await referredSignup();
    expect(await pendingRowCount(database.db)).toBe(1);
    await drainRelay();
    expect((await worker.client.workflow.getHandle(workflowId).query(stateQuery)).state).toBe('awaiting_activation');
    expect(await eventually(async () => ((await executions(workflowId)) === 1 ? 1 : undefined))).toBe(1);
  });

  it('starts what a relay claimed and died on before starting, once its lease runs out', async () => {
    const { workflowId, edgeId } = await referredSignup();
    const claimed = await claimPendingRows(database.db, 10, 300); // the dead relay's claim
    expect(claimed.map((r) => [r.subject, r.subject_id])).toEqual([['edge', edgeId]]);
    expect(await claimPendingRows(database.db, 10, 300)).toEqual([]); // held while the lease lasts
    await drainRelay();
    await worker.client.workflow.getHandle(workflowId).query(stateQuery);
    expect(await eventually(async () => ((await executions(workflowId)) === 1 ? 1 : undefined))).toBe(1);
  });

  it('does not start twice what a relay started and died on before marking', async () => {
    const { workflowId, edgeId } = await referredSignup();
    const [row] = await claimPendingRows(database.db, 10, 300);
    // The dead relay got as far as the start call...
    const start = (await edgeLifecycleStarts(database.db, [row!.subject_id])).get(edgeId)!;
    await worker.client.workflow.start(start.workflowType, {
      workflowId: start.workflowId,
      taskQueue: worker.taskQueue,
      args: start.args,
      typedSearchAttributes: start.searchAttributes,
    });
    // ...and the next relay finds the row still pending.
    await drainRelay();
    const attempts = await database.db.oneFirst(
      sql.type(z.object({ attempts: z.number() }))`SELECT attempts FROM workflow_outbox WHERE subject_id = ${edgeId}`,
    );
    expect(attempts).toBe(2);
    await new Promise((r) => setTimeout(r, 1_000)); // give visibility time to show a second run if there were one
    expect(await executions(workflowId)).toBe(1);
  });

  it('never loses an activation that arrives before the relay started the workflow', async () => {
    const { workflowId, userId } = await referredSignup();
    const result = await recordActivation(
      { db: database.db, temporal: worker.client, taskQueue: worker.taskQueue },
      { userId },
    );
    expect(result.edge).not.toBeNull();
    await drainRelay(); // the relay's start is now a no-op
    const view = await eventually(async () => {
      const v = await worker.client.workflow.getHandle(workflowId).query(stateQuery);
      return v.state === 'awaiting_first_payment' ? v : undefined;
    });
    expect(view).toMatchObject({ activatedAt: result.activatedAt.toISOString() });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await executions(workflowId)).toBe(1);
  });

  it('writes neither the user nor the edge when the outbox write fails', async () => {
    const deps = { db: database.db, activationWindowDays: 30, flavors: DEFAULT_FLAVORS };
    const referrer = await signUp(deps, { email: `atomic-${Date.now()}@example.com` });
    await database.db.query(sql.unsafe`
      CREATE FUNCTION fail_outbox() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'outbox down'; END $$`);
    await database.db.query(
      sql.unsafe`CREATE TRIGGER fail_outbox BEFORE INSERT ON workflow_outbox FOR EACH ROW EXECUTE FUNCTION fail_outbox()`,
    );
    try {
      await expect(signUp(deps, { email: 'lost@example.com', ref: referrer.user.id })).rejects.toThrow();
    } finally {
      await database.db.query(sql.unsafe`DROP TRIGGER fail_outbox ON workflow_outbox`);
    }
    const count = (table: 'users' | 'edges') =>
      database.db.oneFirst(
        sql.type(
          z.object({ n: z.number() }),
        )`SELECT count(*)::int AS n FROM ${sql.identifier([table])} ${table === 'users' ? sql.fragment`WHERE email = 'lost@example.com'` : sql.fragment`WHERE referrer_id = ${referrer.user.id}`}`,
      );
    expect(await count('users')).toBe(0);
    expect(await count('edges')).toBe(0);
  });
});
