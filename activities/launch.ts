// The side effects of the launch flip. `tellLaunchPage` tells one page of beta edges that the
// program is public: a plain signal to each running workflow (bounded concurrency), signal-with-start
// from the outbox start row for one the relay has not started yet, and a workflow that has ended
// (expired, completed, voided) is skipped. The page's counts and the cursor move in one
// compare-and-set, so a page run again (its worker died after telling, before reporting) counts
// nothing twice; telling again is harmless, the message has the same event id every time.
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { DatabasePool } from 'slonik';
import { betaReferrerTerms, LAUNCH_ADMISSION_MAIL, publicPhaseEvent } from '../domain/launch.ts';
import {
  admitWaitlistPage,
  betaEdgePage,
  betaEdgesUpTo,
  enrollBetaReferrers,
  findLaunch,
  finishAdmission,
  finishLaunch,
  recordLaunchPage,
  type BetaEdge,
  type LaunchRow,
} from '../db/launch.ts';
import { edgeLifecycleStarts } from '../db/edges.ts';
import { signalIfRunning, signalWithStart } from '../platform/workflow-delivery.ts';
import { edgeWorkflowId, phaseChangedSignal } from '../contracts/edge-lifecycle.ts';
import { LAUNCH_APPROVER, type LaunchAdmissionPage, type LaunchTotals } from '../contracts/launch-flip.ts';

export type LaunchDeps = {
  db: DatabasePool;
  temporal: Client | null;
  taskQueue: string | null;
  betaAutoBps: number;
  concurrency: number;
};
export type LaunchActivities = ReturnType<typeof createLaunchActivities>;

/** Where the flip stands, as the record says. */
export type LaunchPage = LaunchTotals & { done: boolean; last: string | null; told: number };

/** Signals in flight at once per page. */
export const LAUNCH_SIGNAL_CONCURRENCY = 64;
/**
 * Backpressure: a page is told once the middle of the page before it has been handled (its
 * workflows have no workflow task pending; tasks are served roughly in order), or after
 * `maxWaitMs` at most. Telling is far faster than workers handle (a signal is accepted in
 * milliseconds, each edge's task replays its history), so without it the flip would queue every
 * edge's task ahead of the payments and activations arriving meanwhile; with it the queue holds
 * about a page and a half, and never runs dry between pages.
 */
const BACKPRESSURE = { tail: 8, maxWaitMs: 60_000, pollMs: 200 };

/** Runs `each` over `items` with at most `count` in flight. */
async function inLanes<T>(items: readonly T[], count: number, each: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(count, items.length) }, async () => {
      while (next < items.length) await each(items[next++]!);
    }),
  );
}

const totalsOf = (row: LaunchRow): LaunchTotals => ({
  total: row.total,
  converted: row.converted,
  skipped: row.skipped,
  partnersEnrolled: row.partners_enrolled,
});

export function createLaunchActivities(deps: LaunchDeps) {
  /** Beats every second while `work` runs: a dead worker is noticed within the heartbeat timeout. */
  async function beating<T>(work: () => Promise<T>): Promise<T> {
    const context = Context.current();
    const beat = setInterval(() => context.heartbeat(), 1_000);
    try {
      return await work();
    } finally {
      clearInterval(beat);
    }
  }

  async function launchRecord(): Promise<LaunchRow> {
    const row = await findLaunch(deps.db);
    if (!row)
      throw ApplicationFailure.nonRetryable(
        'no launch is recorded: the flip starts with POST /v1/admin/launch',
        'LaunchNotRecorded',
      );
    return row;
  }

  function client(): { temporal: Client; taskQueue: string } {
    if (!deps.temporal || !deps.taskQueue)
      throw ApplicationFailure.nonRetryable(
        'the worker was built without a Temporal client for activities',
        'NoTemporalClient',
      );
    return { temporal: deps.temporal, taskQueue: deps.taskQueue };
  }

  /** Tells each edge's workflow; answers how many were told and how many had ended. */
  async function tell(edges: readonly BetaEdge[], changedAt: string): Promise<{ converted: number; skipped: number }> {
    const { temporal, taskQueue } = client();
    const event = publicPhaseEvent(changedAt);
    const notRunning: BetaEdge[] = [];
    let converted = 0;

    await inLanes(edges, deps.concurrency, async (edge) => {
      if (await signalIfRunning(temporal, edgeWorkflowId(edge.referee_id), phaseChangedSignal, [event])) converted += 1;
      else notRunning.push(edge);
    });
    if (notRunning.length === 0) return { converted, skipped: 0 };

    // Not running: not started yet (the relay lags) or ended. Signal-with-start, as the relay
    // would, tells which: a workflow id is never reused, so an ended one refuses the start.
    const starts = await edgeLifecycleStarts(
      deps.db,
      notRunning.map((e) => e.id),
    );
    let skipped = 0;
    await inLanes(notRunning, deps.concurrency, async (edge) => {
      if (
        (await signalWithStart(temporal, starts.get(edge.id)!, taskQueue, phaseChangedSignal, [event])) === 'delivered'
      )
        converted += 1;
      else skipped += 1;
    });
    return { converted, skipped };
  }

  /**
   * Waits (bounded) until the workflows told in the middle of the page before `after` have no workflow task pending.
   */
  async function previousPageHandled(after: string | null, pageSize: number): Promise<void> {
    if (after === null) return;
    const { temporal } = client();
    const deadline = Date.now() + BACKPRESSURE.maxWaitMs;
    for (const edge of await betaEdgesUpTo(deps.db, after, Math.floor(pageSize / 2), BACKPRESSURE.tail)) {
      const handle = temporal.workflow.getHandle(edgeWorkflowId(edge.referee_id));
      while (Date.now() < deadline && (await handle.describe()).raw.pendingWorkflowTask)
        await new Promise((r) => setTimeout(r, BACKPRESSURE.pollMs));
    }
  }

  return {
    /** The referrers of beta edges become partners at the beta tier; run again, it enrolls nobody twice. */
    async enrollLaunchPartners(): Promise<LaunchTotals> {
      return beating(async () => {
        for (let round = 0; round < 5; round++) {
          const { enrolled, wanted } = await enrollBetaReferrers(
            deps.db,
            betaReferrerTerms(deps.betaAutoBps),
            LAUNCH_APPROVER,
          );
          if (enrolled === wanted) break; // else a random referral code collided (or a partner was created meanwhile): again
        }
        return totalsOf(await launchRecord());
      });
    },

    /**
     * Admits the next `limit` users of the waitlist (active, recorded in order, mailed once); when
     * fewer were left, finishes the admission if nobody waits any more (a signup held back meanwhile
     * is admitted by the next page). Run again after it committed, it admits the next users: nobody twice.
     */
    async admitLaunchPage(input: { limit: number }): Promise<LaunchAdmissionPage> {
      return beating(async () => {
        const page = await admitWaitlistPage(deps.db, input.limit, () => LAUNCH_ADMISSION_MAIL);
        if (!page)
          throw ApplicationFailure.nonRetryable(
            'no launch is recorded: the flip starts with POST /v1/admin/launch',
            'LaunchNotRecorded',
          );
        if (page.finished) return { admitted: 0, waitlistAdmitted: page.waitlistAdmitted, done: true };
        const done = page.admitted < input.limit && (await finishAdmission(deps.db));
        return { admitted: page.admitted, waitlistAdmitted: page.waitlistAdmitted, done };
      });
    },

    async tellLaunchPage(input: { after: string | null; limit: number; changedAt: string }): Promise<LaunchPage> {
      return beating(async () => {
        const record = await launchRecord();
        // Recorded already by an earlier attempt of this page: go on from where the record stands.
        if (record.cursor !== input.after || record.finished_at)
          return { ...totalsOf(record), done: record.finished_at !== null, last: record.cursor, told: 0 };
        const page = await betaEdgePage(deps.db, input.after, input.limit);
        if (page.length === 0) return { ...totalsOf(record), done: true, last: input.after, told: 0 };
        await previousPageHandled(input.after, input.limit);
        const told = await tell(page, input.changedAt);
        const last = page.at(-1)!.id;
        const after = await recordLaunchPage(deps.db, { after: input.after, last, ...told });
        return { ...totalsOf(after), done: false, last, told: told.converted };
      });
    },

    async finishLaunchFlip(): Promise<LaunchTotals> {
      return totalsOf(await finishLaunch(deps.db));
    },
  };
}
