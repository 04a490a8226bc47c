// Starts the workflows the outbox holds and delivers its messages to them. Requests commit to
// PostgreSQL and return; this relay follows, woken by LISTEN/NOTIFY and polling as a fallback. A
// start that already happened is a success (workflow ids are business ids), and every message
// carries an event id its workflow deduplicates, so a relay that crashed after sending but before
// marking only repeats a no-op. Workflow ids are never reused: a message for a workflow that has
// ended is refused by the server, and recorded as such, rather than starting it again.
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import pg from 'pg';
import type { Logger } from 'pino';
import type { DatabasePool } from 'slonik';
import { claimPendingStarts, markFailed, markStarted, type DeliveryOutcome, type OutboxRow } from '../db/outbox.ts';
import { toSearchAttributePairs } from '../workflows/search-attributes.ts';

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

/** Workflow starts in flight at once. */
export const STARTER_CONCURRENCY = 32;

export function startWorkflowStarter(options: WorkflowStarterOptions): WorkflowStarter {
  const { db, client, taskQueue, log } = options;
  const batchSize = options.batchSize ?? 200;
  const concurrency = options.concurrency ?? STARTER_CONCURRENCY;
  const leaseMs = options.leaseMs ?? 30_000;
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  let stopped = false;
  let wake: (() => void) | undefined;
  let notified = false;

  /**
   * A plain signal, the cheaper call, for the usual case of a running workflow; false when there is
   * none (not started yet, or ended), and signal-with-start then decides which.
   */
  async function signalRunning(row: OutboxRow): Promise<boolean> {
    try {
      await client.workflow.getHandle(row.workflow_id).signal(row.signal_name!, ...(row.signal_args ?? []));
      return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  /** 'delivered', 'workflow_closed' (a message to an ended workflow), or null: retry later. */
  async function start(row: OutboxRow): Promise<DeliveryOutcome | null> {
    const options = {
      workflowId: row.workflow_id,
      taskQueue,
      args: row.args,
      typedSearchAttributes: toSearchAttributePairs(row.search_attributes),
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    };
    try {
      if (row.signal_name === null) await client.workflow.start(row.workflow_type, options);
      else if (!(await signalRunning(row))) await client.workflow.signalWithStart(row.workflow_type, { ...options, signal: row.signal_name, signalArgs: row.signal_args ?? [] });
      return 'delivered';
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return row.signal_name === null ? 'delivered' : 'workflow_closed';
      const backoff = Math.min(60_000, 1_000 * 2 ** Math.min(row.attempts, 6));
      log.warn({ err, workflowId: row.workflow_id, attempts: row.attempts }, 'workflow start failed; will retry');
      await markFailed(db, row.id, String((err as Error).message ?? err), backoff).catch(() => {});
      return null;
    }
  }

  async function startBatch(rows: readonly OutboxRow[]): Promise<void> {
    const done: Record<DeliveryOutcome, number[]> = { delivered: [], workflow_closed: [] };
    let next = 0;
    const lanes = Array.from({ length: Math.min(concurrency, rows.length) }, async () => {
      while (next < rows.length) {
        const row = rows[next++]!;
        const outcome = await start(row);
        if (outcome) done[outcome].push(row.id);
      }
    });
    await Promise.all(lanes);
    await markStarted(db, done.delivered, 'delivered');
    await markStarted(db, done.workflow_closed, 'workflow_closed');
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      notified = false;
      let rows: readonly OutboxRow[] = [];
      try {
        rows = await claimPendingStarts(db, batchSize, leaseMs);
        if (rows.length > 0) await startBatch(rows);
      } catch (err) {
        if (!stopped) log.error({ err }, 'workflow starter pass failed');
      }
      // Sleep only when the outbox looked empty and no insert was announced meanwhile.
      if (rows.length === 0 && !notified && !stopped) {
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
