// The launch flip: the program goes public once; every beta auto-enrolled edge then earns cash at
// the beta tier, and its referrer becomes a partner at that tier (never re-signing up as an
// affiliate). Pricing reads the phase where a payment is priced, so the flip is effective for
// every edge at its commit; telling each edge's workflow follows, page by page.
import { phaseEventId, type PhaseChangedEvent } from './lifecycle.ts';
import { DEFAULT_PARTNER_TERMS, type PartnerTerms } from './partner-settings.ts';

/** The message each beta edge's workflow receives; the same id every time, so a repeat is a no-op. */
export function publicPhaseEvent(changedAt: string): PhaseChangedEvent {
  return { eventId: phaseEventId('public'), phase: 'public', changedAt };
}

/**
 * A beta referrer enrolled by the flip earns what its beta edges earn: the beta tier on the first
 * payment only, no credit commission; paid with the default payout settings. Its new edges (after
 * the flip every new edge is intentional) earn these rates as an approved partner.
 */
export function betaReferrerTerms(betaAutoBps: number): PartnerTerms {
  return { ...DEFAULT_PARTNER_TERMS, salesCommissionBps: betaAutoBps, creditCommissionBps: 0, recurring: false };
}

export const LAUNCH_STATUSES = ['not_started', 'starting', 'running', 'completed'] as const;
export type LaunchStatus = (typeof LAUNCH_STATUSES)[number];

/** not_started: still beta; starting: flipped, its workflow not started yet; running; completed. */
export function launchStatus(launch: { workflowStarted: boolean; finishedAt: Date | null } | null): LaunchStatus {
  if (!launch) return 'not_started';
  if (launch.finishedAt) return 'completed';
  return launch.workflowStarted ? 'running' : 'starting';
}

/** How the flip pages: edges per page (one activity each) and pages per run before continuing as new. */
export const DEFAULT_LAUNCH_PAGE_SIZE = 500;
export const DEFAULT_LAUNCH_PAGES_PER_RUN = 20;

/**
 * The mail each user the flip admits from the waitlist receives (once: its dedupe key names the
 * user, `launch-admitted:<userId>`).
 */
export const LAUNCH_ADMISSION_MAIL = {
  subject: "You're in",
  body: 'Good news: the program is open to everyone now and your seat is ready. Your account is active; sign in to start building.\n',
};

/**
 * The flip's admission as admins see it: admitted so far out of everyone it has to admit (those
 * admitted plus those still waiting: the waitlist at the flip, less any a wave admitted meanwhile,
 * plus signups it held back). Once finished, nobody waits and the total is what it admitted.
 */
export function admissionProgress(a: { admitted: number; waiting: number; finished: boolean }): {
  admitted: number;
  total: number;
  remaining: number;
} {
  const remaining = a.finished ? 0 : a.waiting;
  return { admitted: a.admitted, total: a.admitted + remaining, remaining };
}
