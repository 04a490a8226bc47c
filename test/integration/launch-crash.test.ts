// The launch flip's worker process killed (SIGKILL) mid-flip at the two points that matter, then
// replaced: after it told a page of edges but before the page was recorded, and after the page was
// recorded but before the activity reported it. The flip finishes with exact counts, and every
// edge's workflow changed phase once (the repeated messages changed nothing).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { sql } from 'slonik';
import { z } from 'zod';
import { DEFAULT_FLAVORS } from '../../domain/invite-flavors.ts';
import { createLogger } from '../../platform/logger.ts';
import { launchProgram } from '../../services/launch.ts';
import { approve, createPartner } from '../../services/partners.ts';
import { signUp } from '../../services/signups.ts';
import { startWorkflowStarter, type WorkflowStarter } from '../../workers/workflow-starter.ts';
import { stateQuery } from '../../contracts/edge-lifecycle.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { uniqueEmail } from '../support/graph.ts';
import { eventually, startDevWorker, uniqueTaskQueue, type RunningWorker } from '../support/temporal.ts';
import { killWorker, spawnWorker } from '../support/worker-process.ts';

const EDGES = 45;
let database: TestDatabase;
let temporal: RunningWorker; // for its client
let starter: WorkflowStarter;
let worker: ChildProcess | undefined;
const taskQueue = uniqueTaskQueue('launch-crash');

beforeAll(async () => {
  database = await createTestDatabase();
  temporal = await startDevWorker(database.db, 'launch-crash-client');
  starter = startStarter();
});
const startStarter = () =>
  startWorkflowStarter({
    db: database.db,
    databaseUrl: database.url,
    client: temporal.client,
    taskQueue,
    log: createLogger('silent', 'starter'),
    pollIntervalMs: 200,
  });
afterAll(async () => {
  await killWorker(worker);
  await starter?.stop();
  await temporal?.stop();
  await database?.drop();
});

const startWorker = () => void (worker = spawnWorker({ databaseUrl: database.url, taskQueue }));

/** A connection holding a lock in an open transaction, released by rolling it back. */
async function holding(statement: string): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  await client.query('BEGIN');
  await client.query(statement);
  return {
    async release() {
      await client.query('ROLLBACK');
      await client.end();
    },
  };
}

/** Waits until a statement matching `pattern` waits for a lock; answers its backend's pid. */
const waitingOn = (pattern: string) =>
  eventually(
    async () =>
      (await database.db.maybeOneFirst(sql.type(z.object({ pid: z.number() }))`
  SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE ${pattern} LIMIT 1`)) ??
      undefined,
    45_000,
  );
const RECORD = '%UPDATE launch SET cursor%';
const REREAD = '%FROM launch l LEFT JOIN workflow_outbox%';
const recorded = () =>
  database.db.one(
    sql.type(
      z.object({ cursor: z.uuid().nullable(), converted: z.number(), skipped: z.number() }),
    )`SELECT cursor, converted, skipped FROM launch`,
  );

/** phaseChanged signals the edge's workflow received, and how many times its ProgramPhase changed. */
async function phaseHistory(refereeId: string): Promise<{ signals: number; changes: number }> {
  const { events } = await temporal.client.workflow.getHandle(`edge:${refereeId}`).fetchHistory();
  return {
    signals: (events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'phaseChanged')
      .length,
    changes: (events ?? []).filter(
      (e) => e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.ProgramPhase,
    ).length,
  };
}

describe('a launch flip whose worker is killed', () => {
  it('after telling a page before recording it, and after recording one before reporting it: exact counts, each edge changed once', async () => {
    const deps = { db: database.db, activationWindowDays: 30, flavors: DEFAULT_FLAVORS };
    const referrers = [
      await signUp(deps, { email: uniqueEmail('referrer') }),
      await signUp(deps, { email: uniqueEmail('referrer') }),
    ];
    const referees: string[] = [];
    for (let i = 0; i < EDGES; i++)
      referees.push(
        (await signUp(deps, { email: uniqueEmail('referee'), ref: referrers[i % 2]!.user.referral_code })).user.id,
      );
    // Partners already (made so after their beta edges): the flip has nobody to enroll and goes straight to its pages.
    for (const r of referrers) {
      await createPartner({ db: database.db, publicBaseUrl: 'http://localhost' }, { tenantId: r.user.tenant_id });
      await approve({ db: database.db, publicBaseUrl: 'http://localhost' }, r.user.tenant_id, 'test');
    }
    startWorker();
    for (const id of referees)
      await eventually(async () =>
        (await temporal.client.workflow.getHandle(`edge:${id}`).query(stateQuery)).phase === 'beta' ? true : undefined,
      );
    const firstPage = await database.db.manyFirst(
      sql.type(z.object({ referee_id: z.uuid() }))`SELECT referee_id FROM edges ORDER BY id LIMIT 10`,
    );

    // 1. Killed after telling the first page, before recording it (its record dies with it).
    await starter.stop(); // the flip's workflow waits in the outbox while we take the lock on its record
    const { launch } = await launchProgram(
      { db: database.db, taskQueue },
      { startedBy: 'test', pageSize: 10, pagesPerRun: 2 },
    );
    expect(launch.total).toBe(EDGES);
    let record = await holding('SELECT 1 FROM launch FOR UPDATE');
    starter = startStarter();
    const orphan = await waitingOn(RECORD);
    for (const id of firstPage)
      expect((await temporal.client.workflow.getHandle(`edge:${id}`).query(stateQuery)).phase).toBe('public');
    await killWorker(worker);
    await database.db.query(sql.unsafe`SELECT pg_terminate_backend(${orphan})`);
    await record.release();
    expect(await recorded()).toEqual({ cursor: null, converted: 0, skipped: 0 });

    // 2. The next worker tells the page again and records it; killed before reporting it.
    record = await holding('SELECT 1 FROM launch FOR UPDATE');
    startWorker();
    await waitingOn(RECORD);
    const reread = await holding('LOCK TABLE workflow_outbox IN ACCESS EXCLUSIVE MODE');
    await record.release();
    await waitingOn(REREAD);
    expect(await recorded()).toMatchObject({ converted: 10, skipped: 0 });
    await killWorker(worker);
    await reread.release();

    // 3. A third worker finds the page recorded and finishes the flip.
    startWorker();
    const result = await temporal.client.workflow.getHandle(launch.workflowId!).result();
    expect(result).toEqual({ total: EDGES, converted: EDGES, skipped: 0, partnersEnrolled: 0 });
    expect(await recorded()).toMatchObject({ converted: EDGES, skipped: 0 });
    for (const id of referees)
      expect((await temporal.client.workflow.getHandle(`edge:${id}`).query(stateQuery)).phase).toBe('public');
    for (const id of firstPage) {
      const told = await phaseHistory(id);
      expect(told.signals).toBeGreaterThanOrEqual(2); // told by the first and the second worker
      expect(told.changes).toBe(1); // in effect once
    }
    expect(await phaseHistory(referees.find((id) => !firstPage.includes(id))!)).toEqual({ signals: 1, changes: 1 });
  }, 150_000);
});
