// Starts the workflows the outbox names and delivers its messages to them. Requests commit to
// PostgreSQL and return; this relay follows, woken by LISTEN/NOTIFY and polling as a fallback. Each
// start is built from its subject's current row (db/workflow-starts.ts), one query per claimed batch. A
// start that already happened is a success (workflow ids are business ids), and every message
// carries an event id its workflow deduplicates, so a relay that crashed after sending but before
// marking only repeats a no-op. Workflow ids are never reused: a message for a workflow that has
// ended is refused by the server, and recorded as such, rather than starting it again.
import type { Client } from '@temporalio/client';
import pg from 'pg';
import type { Logger } from 'pino';
import type { DatabasePool } from 'slonik';
import { claimPendingRows, markDelivered, markFailed, type OutboxRow } from '../db/outbox.ts';
import { subjectKey, workflowStartsFor } from '../db/workflow-starts.ts';
import type { DeliveryOutcome, WorkflowStart } from '../contracts/workflow-start.ts';
import { signalIfRunning, signalWithStart, startOnce } from '../platform/workflow-delivery.ts';
import { DEFAULT_STARTER_CONCURRENCY } from '../platform/env.ts';

export type WorkflowStarterOptions = {
  db: DatabasePool;
  databaseUrl: string;
  client: Client;
  taskQueue: string;
  log: Logger;
  batchSize?: number;
  concurrency?: number;
  leaseMs?: number;
  pollIntervalMs?: number;
};

export type WorkflowStarter = { stop(): Promise<void> };

export function startWorkflowStarter(options: WorkflowStarterOptions): WorkflowStarter {
  const { db, client, taskQueue, log } = options;
  const batchSize = options.batchSize ?? 200;
  const concurrency = options.concurrency ?? DEFAULT_STARTER_CONCURRENCY;
  const leaseMs = options.leaseMs ?? 30_000;
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  let stopped = false;
  let wake: (() => void) | undefined;
  let notified = false;

  /** 'delivered', 'workflow_closed' (a message to an ended workflow), or null: retry later. */
  async function start(row: OutboxRow, start: WorkflowStart | undefined): Promise<DeliveryOutcome | null> {
    try {
      if (!start) throw new Error(`no ${row.subject} ${row.subject_id} to start a workflow for`);
      if (row.signal_name === null) {
        await startOnce(client, start, taskQueue);
        return 'delivered';
      }
      const args = row.signal_args ?? [];
      if (await signalIfRunning(client, start.workflowId, row.signal_name, args)) return 'delivered';
      return await signalWithStart(client, start, taskQueue, row.signal_name, args);
    } catch (err) {
      const backoff = Math.min(60_000, 1_000 * 2 ** Math.min(row.attempts, 6));
      log.warn(
        { err, subject: row.subject, subjectId: row.subject_id, workflowId: start?.workflowId, attempts: row.attempts },
        'workflow start failed; will retry',
      );
      await markFailed(db, row.id, String((err as Error).message ?? err), backoff).catch(() => {});
      return null;
    }
  }

  // Starts run in a pipeline: up to `concurrency` in flight, the next batch claimed as soon as the
  // last one is all in flight (no barrier at the end of a batch), and what was done marked in
  // PostgreSQL in batches. A claimed row keeps its lease until it is marked, so no other relay
  // takes it meanwhile; a relay that dies leaves its rows to the next once the lease ends.
  const inFlight = new Set<Promise<void>>();
  let done: Record<DeliveryOutcome, number[]> = { delivered: [], workflow_closed: [] };
  let marking: Promise<void> = Promise.resolve();
  const MARK_BATCH = 100;

  function flushMarks(): Promise<void> {
    const batch = done;
    done = { delivered: [], workflow_closed: [] };
    if (batch.delivered.length + batch.workflow_closed.length > 0) {
      marking = marking
        .then(async () => {
          await markDelivered(db, batch.delivered, 'delivered');
          await markDelivered(db, batch.workflow_closed, 'workflow_closed');
        })
        .catch((err) =>
          log.error(
            { err },
            'marking outbox rows failed; their leases will end and they are delivered again (a no-op)',
          ),
        );
    }
    return marking;
  }

  // One waiter for a free slot (only the loop launches), woken by whichever start finishes first:
  // O(1) per start, where Promise.race over the set would attach a reaction to every start in flight.
  let slotFreed: (() => void) | undefined;
  async function launch(row: OutboxRow, workflowStart: WorkflowStart | undefined): Promise<void> {
    while (inFlight.size >= concurrency) await new Promise<void>((resolve) => (slotFreed = resolve));
    const run: Promise<void> = start(row, workflowStart)
      .then((outcome) => {
        if (outcome) done[outcome].push(row.id);
        if (done.delivered.length + done.workflow_closed.length >= MARK_BATCH) void flushMarks();
      })
      .finally(() => {
        inFlight.delete(run);
        const wake = slotFreed;
        slotFreed = undefined;
        wake?.();
      });
    inFlight.add(run);
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      notified = false;
      let rows: readonly OutboxRow[] = [];
      try {
        rows = await claimPendingRows(db, batchSize, leaseMs);
        const starts = await workflowStartsFor(
          db,
          rows.map((r) => ({ subject: r.subject, subjectId: r.subject_id })),
        );
        for (const row of rows)
          await launch(row, starts.get(subjectKey({ subject: row.subject, subjectId: row.subject_id })));
      } catch (err) {
        if (!stopped) log.error({ err }, 'workflow starter pass failed');
      }
      if (rows.length > 0) continue;
      // The outbox looked empty: finish what is in flight, mark it, and sleep unless an insert was announced.
      await Promise.all(inFlight);
      await flushMarks();
      if (!notified && !stopped) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pollIntervalMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    }
    await Promise.all(inFlight);
    await flushMarks();
  }

  // A dedicated connection for LISTEN (a pool connection would be returned and lose it).
  const listener = new pg.Client({ connectionString: options.databaseUrl });
  listener.on('notification', () => {
    notified = true;
    wake?.();
  });
  listener.on('error', (err) => log.warn({ err }, 'outbox listener connection lost; polling continues'));
  const listening = listener
    .connect()
    .then(() => listener.query('LISTEN workflow_outbox'))
    .catch((err) => log.warn({ err }, 'outbox listener unavailable; polling only'));

  const running = loop();
  return {
    async stop() {
      stopped = true;
      wake?.();
      await running;
      await listening;
      await listener.end().catch(() => {});
    },
  };
}
