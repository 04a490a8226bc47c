// The beta waitlist's rules: the score that orders it and how it is explained, and the messages a
// waiting user may be shown (only when literally true). The milestone ladder is in
// domain/milestones.ts, waves in domain/waves.ts. Pure: no I/O.
import { nextRung } from './milestones.ts';

// ---- Score -----------------------------------------------------------------------------------

/** Points per referral. Only a referral whose referee built an app counts; a signup alone is free to fake. */
export const POINTS = { vested: 10, unvested: 0 } as const;

/**
 * `held`: referrals held for review (a fraud hold), whatever their stage; apart from the other three.
 * `headStart`: the points the user got with their invite or referral link (domain/seats.ts).
 */
export type ReferralCounts = { vested: number; waiting: number; expired: number; held?: number; headStart?: number };

export type ScoreLine = { what: string; count: number; pointsEach: number; points: number };
export type Score = { points: number; lines: ScoreLine[] };

export function waitlistScore(counts: ReferralCounts): Score {
  const lines: ScoreLine[] = [
    {
      what: 'referrals who built an app (vested)',
      count: counts.vested,
      pointsEach: POINTS.vested,
      points: counts.vested * POINTS.vested,
    },
    {
      what: 'referrals who signed up but have not built an app yet: they count once they do',
      count: counts.waiting,
      pointsEach: POINTS.unvested,
      points: counts.waiting * POINTS.unvested,
    },
    { what: 'referrals whose activation window ended without an app', count: counts.expired, pointsEach: 0, points: 0 },
  ];
  if (counts.held)
    lines.push({
      what: 'referrals held for review: they count once cleared',
      count: counts.held,
      pointsEach: 0,
      points: 0,
    });
  if (counts.headStart)
    lines.push({
      what: 'head start: you came with an invite or a referral link',
      count: 1,
      pointsEach: counts.headStart,
      points: counts.headStart,
    });
  return { points: lines.reduce((sum, l) => sum + l.points, 0), lines };
}

/** A place in the order: wave skip first, then score, then who signed up first (then id, so no two tie). */
export type StandingKey = { skip: boolean; score: number; signedUpAt: Date; id: string };

/** Negative when `a` is ahead of `b` on the waitlist. */
export function compareStanding(a: StandingKey, b: StandingKey): number {
  if (a.skip !== b.skip) return a.skip ? -1 : 1;
  if (a.score !== b.score) return b.score - a.score;
  const t = a.signedUpAt.getTime() - b.signedUpAt.getTime();
  if (t !== 0) return t;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

// ---- Messages ---------------------------------------------------------------------------------

export type MessageFacts = {
  waitlisted: boolean;
  vested: number;
  /** Rungs granted so far. */
  granted: ReadonlySet<number>;
  /**
   * Distinct users still waiting who were behind this user a week ago (or at signup) and are ahead now, having moved.
   */
  passedThisWeek: number;
  /** The next wave still to open, with its real remaining seats. */
  nextWave: { name: string; opensAt: Date; seatsLeft: number } | null;
};

export type Message = { kind: 'passed_you' | 'next_milestone' | 'next_wave_seats'; text: string };

const plural = (n: number, one: string, many: string) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/** Only what is literally true of these facts: no message is made up to create urgency. */
export function waitlistMessages(f: MessageFacts): Message[] {
  const out: Message[] = [];
  if (f.waitlisted && f.passedThisWeek > 0) {
    out.push({ kind: 'passed_you', text: `${plural(f.passedThisWeek, 'person', 'people')} passed you this week.` });
  }
  const rung = nextRung(f.vested, f.granted);
  if (rung) {
    const k = rung.at - f.vested;
    out.push({ kind: 'next_milestone', text: `You're ${plural(k, 'referral', 'referrals')} from ${rung.label}.` });
  }
  if (f.waitlisted && f.nextWave && f.nextWave.seatsLeft > 0) {
    out.push({
      kind: 'next_wave_seats',
      text: `${f.nextWave.name} opens ${f.nextWave.opensAt.toISOString()} with ${plural(f.nextWave.seatsLeft, 'seat', 'seats')} left.`,
    });
  }
  return out;
}

/** The mail each user a wave admits receives, whoever admitted the wave (an admin or the release workflow). */
export const ADMISSION_MAIL = {
  subject: "You're in",
  body: (waveName: string) =>
    `Good news: ${waveName} just opened and you have a seat. Your account is active; sign in to start building.\n`,
};
