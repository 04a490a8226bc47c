// The fraud ring scan on the Temporal dev server: the worker's Schedule (created once, its interval
// brought to the setting) starts the scan workflow, which runs the scan activity against a real
// PostgreSQL and holds the ring's edges.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { sql } from 'slonik';
import { z } from 'zod';
import { ensureFraudRingSchedule } from '../../workers/fraud-ring-schedule.ts';
import type { RingScanOutcome } from '../../contracts/fraud-ring-scan.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventually, startDevWorker, type RunningWorker } from '../support/temporal.ts';

let database: TestDatabase;
let worker: RunningWorker;
beforeAll(async () => {
  database = await createTestDatabase();
  worker = await startDevWorker(database.db, 'rings');
});
afterAll(async () => {
  await worker?.stop();
  await database?.drop();
});

/** Five accounts on one phone, each referring the next: a ring. Answers its edge ids. */
async function ring(): Promise<readonly string[]> {
  const ids = Array.from({ length: 5 }, () => randomUUID());
  await database.db.query(sql.unsafe`
    WITH t AS (INSERT INTO tenants (id, name, owner_user_id) SELECT id, 'ring', id FROM unnest(${sql.array(ids, 'uuid')}) AS id),
         u AS (INSERT INTO users (id, tenant_id, email, inbox, referral_code)
               SELECT id, id, id || '@ring.test', id || '@ring.test', 'c' || substr(md5(id::text), 1, 12) FROM unnest(${sql.array(ids, 'uuid')}) AS id)
    INSERT INTO fraud_sightings (user_id, kind, value, source) SELECT id, 'device', 'phone-wf', 'signup' FROM unnest(${sql.array(ids, 'uuid')}) AS id`);
  return database.db.anyFirst(sql.type(z.object({ id: z.string() }))`
    INSERT INTO edges (referrer_id, referee_id, source, kind, phase_at_write, activation_window_days, vested_at)
    SELECT r, e, 'link', 'beta_auto', 'beta', 30, now()
    FROM unnest(${sql.array(ids.slice(0, -1), 'uuid')}, ${sql.array(ids.slice(1), 'uuid')}) AS x(r, e)
    RETURNING id::text`);
}

describe('fraud ring scan', () => {
  it("the deployment's Schedule starts a scan that holds the ring's edges", async () => {
    const key = `t${randomUUID().slice(0, 8)}`;
    const opts = { taskQueue: worker.taskQueue, everyMinutes: 60, key };
    const created = await ensureFraudRingSchedule(worker.client, opts);
    expect(created).toEqual({ scheduleId: `fraud-ring-scans-${key}`, outcome: 'created' });
    expect(await ensureFraudRingSchedule(worker.client, opts)).toMatchObject({ outcome: 'unchanged' });
    // A new interval setting reaches the Schedule at the next worker start.
    expect(await ensureFraudRingSchedule(worker.client, { ...opts, everyMinutes: 30 })).toMatchObject({
      outcome: 'updated',
    });
    const handle = worker.client.schedule.getHandle(created.scheduleId);
    const described = await handle.describe();
    expect(described.spec.intervals).toMatchObject([{ every: 30 * 60_000 }]);
    expect(described.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
    expect(described.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'fraudRingScan',
      workflowId: `fraud-ring-scan:${key}`,
      args: [{ everyMinutes: 30 }],
      staticSummary: 'fraud ring scan: accounts joined by shared devices, cards and referrals, every 30 min',
    });

    const edges = await ring();
    await handle.trigger();
    const workflowId = await eventually(async () => {
      const action = (await handle.describe()).info.recentActions[0]?.action;
      return action?.type === 'startWorkflow' ? action.workflow.workflowId : undefined;
    }, 30_000);
    expect(workflowId.startsWith(`fraud-ring-scan:${key}-`)).toBe(true);
    const outcome: RingScanOutcome = await worker.client.workflow.getHandle(workflowId).result();
    expect(outcome).toMatchObject({ scanId: workflowId, rings: 1, ringEdges: 4, held: 4 });

    const held = await database.db.anyFirst(sql.type(z.object({ edge_id: z.string() }))`
      SELECT edge_id::text FROM edge_verdicts WHERE verdict = 'hold' AND decided_by = 'rule:ring' ORDER BY edge_id`);
    expect(held).toEqual([...edges].sort());
    await handle.delete();
  });
});
