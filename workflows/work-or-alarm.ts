// Waiting, inside a workflow, for whichever comes first: new work, or an alarm at the next moment
// something falls due. Neither is ever cancelled: an alarm made obsolete by an event just fires
// later and finds nothing due. (Fewer events per payment than a condition with a timeout, and no
// CancelTimer racing a firing timer, which the time-skipping test server mishandles:
// temporalio/sdk-java#3088.) Running edges' histories hold exactly these timers, so the rule for
// when a new one starts must not change: only when the moment due is earlier than the alarm set.
import * as wf from '@temporalio/workflow';

/** A moment something falls due, and what, as ops read it on the timer in the Temporal UI. */
export type Due = { at: number; summary: string };

export type WorkOrAlarm = {
  /** Wakes the waiter although no work arrived: something changed what is due (a hold placed or lifted). */
  nudge(): void;
  /** Returns when work arrives or `due` (if any) has come; at once if it already has. */
  until(due: Due | null): Promise<void>;
};

export function workOrAlarm(hasWork: () => boolean): WorkOrAlarm {
  let nudged = false;
  let work: Promise<void> | null = null;
  let alarm: { at: number; rings: Promise<void> } | null = null;

  const workArrives = () => (work ??= wf.condition(() => nudged || hasWork()).then(() => void (work = null)));
  const alarmAt = (due: Due) => {
    if (alarm === null || due.at < alarm.at) {
      const set: { at: number; rings: Promise<void> } = { at: due.at, rings: Promise.resolve() };
      set.rings = wf.sleep(Math.max(1, due.at - Date.now()), { summary: due.summary }).then(() => {
        if (alarm === set) alarm = null;
      });
      alarm = set;
    }
    return alarm.rings;
  };

  return {
    nudge: () => void (nudged = true),
    async until(due) {
      if (due === null || due.at > Date.now())
        await Promise.race(due === null ? [workArrives()] : [workArrives(), alarmAt(due)]);
      nudged = false;
    },
  };
}
