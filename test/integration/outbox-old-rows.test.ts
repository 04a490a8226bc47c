// Outbox rows written before rows named their subject (they carried a copy of the start's arguments
// and search attributes) are converted by the migration and deliver like any other: a running
// system upgraded with rows still pending loses none of them.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import { z } from 'zod';
import { migrate } from '../../db/migrate.ts';
import { pendingRowCount } from '../../db/outbox.ts';
import { createLogger } from '../../platform/logger.ts';
import { edgeWorkflowId, stateQuery } from '../../contracts/edge-lifecycle.ts';
import { startWorkflowStarter } from '../../workers/workflow-starter.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventually, startDevWorker, type RunningWorker } from '../support/temporal.ts';

/** Migrations up to the last one whose outbox rows carried the start's copy (0007_launch_flip). */
const OLD_SHAPE_MIGRATIONS = 7;

let database: TestDatabase;
let worker: RunningWorker;
const referrer = randomUUID();
const referee = randomUUID();
const edgeId = randomUUID();
const writtenAt = new Date(Date.now() - 2 * 86_400_000);

beforeAll(async () => {
  database = await createTestDatabase(4, null);
  await migrate(database.url, () => {}, OLD_SHAPE_MIGRATIONS);
  const workflowId = edgeWorkflowId(referee);
  const input = {
    edgeId,
    referrerId: referrer,
    refereeId: referee,
    partnerId: null,
    kind: 'beta_auto',
    source: 'link',
    phase: 'beta',
    writtenAt: writtenAt.toISOString(),
    activationWindowDays: 12,
  };
  const searchAttributes = {
    ReferrerId: referrer,
    RefereeId: referee,
    EdgeKind: 'beta_auto',
    ProgramPhase: 'beta',
    LifecycleState: 'awaiting_activation',
  };
  const verdict = { eventId: 'verdict:old-hold', verdict: 'hold', reason: 'written before the upgrade' };
  // As the old code wrote them: the users, the edge, its start row, and a message copying the start.
  await database.db.query(sql.unsafe`
    WITH t AS (INSERT INTO tenants (id, name, owner_user_id) VALUES (${referrer}, 'referrer', ${referrer}), (${referee}, 'referee', ${referee})),
    u AS (INSERT INTO users (id, tenant_id, email, inbox, referral_code) VALUES
      (${referrer}, ${referrer}, 'old-referrer@example.com', 'old-referrer@example.com', 'oldreferrer1'),
      (${referee}, ${referee}, 'old-referee@example.com', 'old-referee@example.com', 'oldreferee01') RETURNING id)
    INSERT INTO edges (id, referrer_id, referee_id, source, kind, phase_at_write, created_at)
    SELECT ${edgeId}, ${referrer}, ${referee}, 'link', 'beta_auto', 'beta', ${writtenAt.toISOString()} WHERE (SELECT count(*) FROM u) = 2`);
  await database.db.query(sql.unsafe`
    INSERT INTO workflow_outbox (workflow_id, workflow_type, args, search_attributes, message_key, signal_name, signal_args) VALUES
      (${workflowId}, 'referralLifecycle', ${sql.jsonb([input])}, ${sql.jsonb(searchAttributes)}, NULL, NULL, NULL),
      (${workflowId}, 'referralLifecycle', ${sql.jsonb([input])}, ${sql.jsonb(searchAttributes)}, ${verdict.eventId}, 'verdict', ${sql.jsonb([verdict])})`);
  await migrate(database.url);
  worker = await startDevWorker(database.db, 'old-outbox');
});
afterAll(async () => {
  await worker?.stop();
  await database?.drop();
});

describe('outbox rows written in the old shape', () => {
  it('are converted to rows naming their edge, its activation window kept on the edge', async () => {
    const rows = await database.db.any(sql.type(
      z.object({ subject: z.string(), subject_id: z.string(), signal_name: z.string().nullable() }),
    )`
      SELECT subject, subject_id, signal_name FROM workflow_outbox ORDER BY id`);
    expect(rows).toEqual([
      { subject: 'edge', subject_id: edgeId, signal_name: null },
      { subject: 'edge', subject_id: edgeId, signal_name: 'verdict' },
    ]);
    expect(
      await database.db.oneFirst(
        sql.type(z.object({ days: z.number() }))`SELECT activation_window_days AS days FROM edges WHERE id = ${edgeId}`,
      ),
    ).toBe(12);
  });

  it('start the edge workflow from the edge row and deliver the message', async () => {
    expect(await pendingRowCount(database.db)).toBe(2);
    const relay = startWorkflowStarter({
      db: database.db,
      databaseUrl: database.url,
      client: worker.client,
      taskQueue: worker.taskQueue,
      log: createLogger('silent', 'starter'),
      pollIntervalMs: 100,
    });
    try {
      await eventually(async () => ((await pendingRowCount(database.db)) === 0 ? true : undefined));
    } finally {
      await relay.stop();
    }
    const handle = worker.client.workflow.getHandle(edgeWorkflowId(referee));
    const view = await eventually(async () => {
      const v = await handle.query(stateQuery);
      return v.state === 'held' ? v : undefined;
    });
    expect(view).toMatchObject({
      edgeId,
      kind: 'beta_auto',
      phase: 'beta',
      hold: { reason: 'written before the upgrade' },
    });
    expect(view.activationDeadline).toBe(new Date(writtenAt.getTime() + 12 * 86_400_000).toISOString());
    expect(await (await handle.describe()).staticSummary()).toContain(`edge ${referrer} -> ${referee}`);
  });
});
