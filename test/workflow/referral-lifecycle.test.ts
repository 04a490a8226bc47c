// The edge lifecycle on the time-skipping test server: a 30-day activation window passes in
// seconds. Activities are the real ones, writing to a real PostgreSQL.
import { describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import type { EdgeLifecycleInput } from '../../domain/lifecycle.ts';
import { signUp } from '../../services/signups.ts';
import { DEFAULT_FLAVORS } from '../../domain/invite-flavors.ts';
import { edgeLifecycleInput } from '../../contracts/edge-lifecycle.ts';
import { referralLifecycle } from '../../workflows/referral-lifecycle.ts';
import { activatedSignal, stateQuery } from '../../contracts/edge-lifecycle.ts';
import { timeSkippingSuite, timeSkippingWorker, uniqueTaskQueue } from '../support/temporal.ts';

const suite = timeSkippingSuite();

/** How long the workflow ran in its own (skipped) time, in days. */
async function daysRun(workflowId: string): Promise<number> {
  const { startTime, closeTime } = await suite.env.client.workflow.getHandle(workflowId).describe();
  return (closeTime!.getTime() - startTime.getTime()) / 86_400_000;
}

/** A real referrer and referee in PostgreSQL, and the input their edge's workflow starts with. */
async function writtenEdge(windowDays = 30): Promise<EdgeLifecycleInput> {
  const deps = { db: suite.database.db, activationWindowDays: windowDays, flavors: DEFAULT_FLAVORS };
  const stamp = Math.random().toString(36).slice(2);
  const referrer = await signUp(deps, { email: `referrer-${stamp}@example.com` });
  const { edge } = await signUp(deps, { email: `referee-${stamp}@example.com`, ref: referrer.user.id });
  // The edge was written "now" in wall time; the test server's clock starts at wall time too.
  return edgeLifecycleInput(edge!, null);
}

const stamps = (edgeId: string) =>
  suite.database.db.one(sql.type(z.object({ vested_at: z.date().nullable(), expired_at: z.date().nullable() }))`
    SELECT vested_at, expired_at FROM edges WHERE id = ${edgeId}`);

describe('referral lifecycle', () => {
  it('expires when no activation arrives within the 30-day window', async () => {
    const input = await writtenEdge();
    const taskQueue = uniqueTaskQueue('lifecycle');
    const worker = await timeSkippingWorker(suite.env, suite.database.db, taskQueue);
    const result = await worker.runUntil(
      suite.env.client.workflow.execute(referralLifecycle, {
        workflowId: `edge:${input.refereeId}`,
        taskQueue,
        args: [input],
      }),
    );
    expect(result.state).toBe('expired');
    expect(result.waitingFor).toBeNull();
    const elapsedDays = await daysRun(`edge:${input.refereeId}`);
    expect(elapsedDays).toBeGreaterThanOrEqual(29.9);
    expect(elapsedDays).toBeLessThan(30.1);
    const row = await stamps(input.edgeId);
    expect(row.expired_at?.toISOString()).toBe(result.activationDeadline);
    expect(row.vested_at).toBeNull();
  });

  it('vests on activation inside the window and waits for the first payment; a repeated activation changes nothing', async () => {
    const input = await writtenEdge();
    const taskQueue = uniqueTaskQueue('lifecycle');
    const worker = await timeSkippingWorker(suite.env, suite.database.db, taskQueue);
    const view = await worker.runUntil(async () => {
      const handle = await suite.env.client.workflow.start(referralLifecycle, {
        workflowId: `edge:${input.refereeId}`,
        taskQueue,
        args: [input],
      });
      expect((await handle.query(stateQuery)).state).toBe('awaiting_activation');
      await suite.env.sleep('10 days');
      await handle.signal(activatedSignal, {
        eventId: `activation:${input.refereeId}`,
        activatedAt: '2026-01-11T00:00:00.000Z',
      });
      await handle.signal(activatedSignal, {
        eventId: `activation:${input.refereeId}`,
        activatedAt: '2026-01-12T00:00:00.000Z',
      });
      // Past the activation deadline nothing expires any more: the edge waits for its first payment.
      await suite.env.sleep('40 days');
      return handle.query(stateQuery);
    });
    expect(view).toMatchObject({
      state: 'awaiting_first_payment',
      activatedAt: '2026-01-11T00:00:00.000Z',
      waitingFor: 'first_payment',
    });
    const row = await stamps(input.edgeId);
    expect(row.vested_at?.toISOString()).toBe('2026-01-11T00:00:00.000Z');
    expect(row.expired_at).toBeNull();
  });

  it('honours a configured activation window', async () => {
    const input = await writtenEdge(7);
    const taskQueue = uniqueTaskQueue('lifecycle');
    const worker = await timeSkippingWorker(suite.env, suite.database.db, taskQueue);
    const result = await worker.runUntil(
      suite.env.client.workflow.execute(referralLifecycle, {
        workflowId: `edge:${input.refereeId}`,
        taskQueue,
        args: [input],
      }),
    );
    expect(result.state).toBe('expired');
    const days = await daysRun(`edge:${input.refereeId}`);
    expect(days).toBeGreaterThanOrEqual(6.9);
    expect(days).toBeLessThan(7.1);
  });
});
