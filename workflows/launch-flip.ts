// The launch flip, `launch-flip`: started (through the outbox) by the transaction that made the
// program public. The flip is already effective for every payment at that commit (pricing reads
// the phase); this workflow enrolls the beta referrers as partners, admits everyone still on the
// waitlist, and brings each beta edge's workflow up to date (its state and its ProgramPhase search
// attribute):
//   enroll the referrers -> admit the waitlist page by page, in its order (launch-admits-waitlist-v1)
//   -> tell the beta edges page by page (one activity per page, bounded concurrency inside)
//   -> continue as new every few pages (admitting or telling) -> record the flip finished.
// Progress lives in PostgreSQL (the launch record's cursor and counts), so a page retried after a
// worker died neither skips nor double counts.
import * as wf from '@temporalio/workflow';
import type { LaunchActivities } from '../activities/launch.ts';
import { DEFAULT_LAUNCH_PAGE_SIZE, DEFAULT_LAUNCH_PAGES_PER_RUN } from '../domain/launch.ts';
import {
  launchProgressQuery,
  type LaunchFlipInput,
  type LaunchFlipProgress,
  type LaunchTotals,
} from '../contracts/launch-flip.ts';

// A page's failures are transient (PostgreSQL or Temporal away, a worker gone: the heartbeat
// notices within 10 s), and the flip is already effective for pricing: giving up would leave edges
// untold for good, so attempts are unbounded and the interval bounded at 30 s. What no retry can fix
// (no launch recorded, no Temporal client) fails by name (LaunchNotRecorded, NoTemporalClient).
const launch = wf.proxyActivities<LaunchActivities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: Infinity },
});

export async function launchFlip(input: LaunchFlipInput): Promise<LaunchTotals> {
  const pageSize = input.pageSize ?? DEFAULT_LAUNCH_PAGE_SIZE;
  const pagesPerRun = input.pagesPerRun ?? DEFAULT_LAUNCH_PAGES_PER_RUN;
  const progress: LaunchFlipProgress = {
    status: 'running',
    runs: input.runs ?? 1,
    after: input.after ?? null,
    totals: input.totals ?? null,
  };
  wf.setHandler(launchProgressQuery, () => progress);

  // The first run enrolls the beta referrers as partners before telling anyone.
  const firstRun = input.after === undefined && !input.admitting;
  if (firstRun) progress.totals = await launch.enrollLaunchPartners();

  let pages = 0;
  // Then it admits everyone still waitlisted, in the waitlist's order, page by page (signups wait
  // behind them until it has finished), before telling the edges. Flips started before this code
  // (their histories have no marker) go straight to telling.
  if (input.admitting || (firstRun && wf.patched('launch-admits-waitlist-v1'))) {
    for (; ; pages++) {
      if (pages === pagesPerRun) {
        return wf.continueAsNew<typeof launchFlip>({
          ...input,
          admitting: true,
          totals: progress.totals!,
          runs: progress.runs + 1,
        });
      }
      const page = await launch.admitLaunchPage({ limit: pageSize });
      progress.admission = { waitlistAdmitted: page.waitlistAdmitted, done: page.done };
      if (page.done) break;
    }
  }

  for (; ; pages++) {
    if (pages === pagesPerRun) {
      return wf.continueAsNew<typeof launchFlip>({
        ...input,
        admitting: false,
        after: progress.after,
        totals: progress.totals!,
        runs: progress.runs + 1,
      });
    }
    const page = await launch.tellLaunchPage({ after: progress.after, limit: pageSize, changedAt: input.changedAt });
    progress.totals = {
      total: page.total,
      converted: page.converted,
      skipped: page.skipped,
      partnersEnrolled: page.partnersEnrolled,
    };
    if (page.done) break;
    progress.after = page.last;
  }
  progress.totals = await launch.finishLaunchFlip();
  progress.status = 'completed';
  return progress.totals;
}
