// The beta waitlist's rules: the score that orders it and how it is explained, the milestone
// ladder, the messages a waiting user may be shown (only when literally true), and how waves are
// planned so nobody waits longer than the target. Pure: no I/O.

const DAY_MS = 86_400_000;

// ---- Score -----------------------------------------------------------------------------------

/** Points per referral. Only a referral whose referee built an app counts; a signup alone is free to fake. */
export const POINTS = { vested: 10, unvested: 0 } as const;

export type ReferralCounts = { vested: number; waiting: number; expired: number };

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

// ---- Milestone ladder -------------------------------------------------------------------------

export type Reward =
  | { kind: 'credits'; amount: number }
  | { kind: 'badge'; name: string }
  | { kind: 'position_jump' }
  | { kind: 'pro_preview'; days: number }
  | { kind: 'pro'; days: number; vestsOnActivation: boolean }
  | { kind: 'studio'; days: number }
  | { kind: 'wave_skip' }
  | { kind: 'founding_price_lock' }
  | { kind: 'name_on_wall' }
  | { kind: 'founder_community' }
  | { kind: 'founder_calls' }
  | { kind: 'affiliate_revenue_share' };

export type Rung = { at: number; title: string | null; label: string; rewards: readonly Reward[] };

const MONTH_DAYS = 30;

/** The ladder of PRODUCT.md, exactly: vested referrals -> rewards, each rung granted once. */
export const LADDER: readonly Rung[] = [
  {
    at: 1,
    title: null,
    label: 'a badge, 250 credits and a jump up the list',
    rewards: [{ kind: 'badge', name: 'first-referral' }, { kind: 'credits', amount: 250 }, { kind: 'position_jump' }],
  },
  {
    at: 3,
    title: null,
    label: '1,000 credits and a 7-day Pro preview',
    rewards: [
      { kind: 'credits', amount: 1000 },
      { kind: 'pro_preview', days: 7 },
    ],
  },
  {
    at: 5,
    title: null,
    label: 'a skip to the next wave and the "Builder" badge',
    rewards: [{ kind: 'wave_skip' }, { kind: 'badge', name: 'Builder' }],
  },
  {
    at: 10,
    title: null,
    label: '1 month of Pro (starts when you build an app) and the founding price lock',
    rewards: [{ kind: 'pro', days: MONTH_DAYS, vestsOnActivation: true }, { kind: 'founding_price_lock' }],
  },
  {
    at: 25,
    title: 'Founder',
    label: '3 months of Pro, your name on the wall and the founder community',
    rewards: [
      { kind: 'pro', days: 3 * MONTH_DAYS, vestsOnActivation: false },
      { kind: 'name_on_wall' },
      { kind: 'founder_community' },
    ],
  },
  {
    at: 50,
    title: 'Champion',
    label: '6 months of Pro and build-with-founders calls',
    rewards: [{ kind: 'pro', days: 6 * MONTH_DAYS, vestsOnActivation: false }, { kind: 'founder_calls' }],
  },
  {
    at: 100,
    title: 'Legend',
    label: '1 year of Studio and a real affiliate revenue share',
    rewards: [{ kind: 'studio', days: 365 }, { kind: 'affiliate_revenue_share' }],
  },
];

/** Rungs reached with this many vested referrals. */
export function rungsReached(vested: number): Rung[] {
  return LADDER.filter((r) => vested >= r.at);
}

/** The next rung still to earn: not yet reached, and not granted before (a rung is granted once, ever). */
export function nextRung(vested: number, granted: ReadonlySet<number> = new Set()): Rung | null {
  return LADDER.find((r) => vested < r.at && !granted.has(r.at)) ?? null;
}

/** Whether a user with these grants is in the next wave regardless of score. */
export function hasWaveSkip(vested: number): boolean {
  return rungsReached(vested).some((r) => r.rewards.some((w) => w.kind === 'wave_skip'));
}

export function creditsOf(rung: Rung): number {
  return rung.rewards.reduce((sum, r) => sum + (r.kind === 'credits' ? r.amount : 0), 0);
}

/** An entitlement row a rung grants (credits go to the ledger instead; the jump is the score itself). */
export type EntitlementGrant = {
  kind: string;
  detail: string;
  durationDays: number | null;
  vestsOnActivation: boolean;
};

export function entitlementsOf(rung: Rung): EntitlementGrant[] {
  return rung.rewards.flatMap((r): EntitlementGrant[] => {
    switch (r.kind) {
      case 'credits':
      case 'position_jump':
        return [];
      case 'badge':
        return [{ kind: 'badge', detail: r.name, durationDays: null, vestsOnActivation: false }];
      case 'pro_preview':
        return [{ kind: 'pro_preview', detail: '', durationDays: r.days, vestsOnActivation: false }];
      case 'pro':
        return [{ kind: 'pro', detail: '', durationDays: r.days, vestsOnActivation: r.vestsOnActivation }];
      case 'studio':
        return [{ kind: 'studio', detail: '', durationDays: r.days, vestsOnActivation: false }];
      default:
        return [{ kind: r.kind, detail: '', durationDays: null, vestsOnActivation: false }];
    }
  });
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

// ---- Wave planning ----------------------------------------------------------------------------

export type WavePlanSettings = { targetWaitDays: number; cadenceDays: number; leadDays: number };
export const DEFAULT_WAVE_PLAN: WavePlanSettings = { targetWaitDays: 30, cadenceDays: 7, leadDays: 2 };

/**
 * When the next planned wave must open so that whoever has waited longest is admitted `leadDays`
 * before reaching the target, and whose signups it must cover: everyone who would otherwise pass
 * the target before the wave after it (one cadence later). Null when nobody is waiting.
 */
export function planWave(
  now: Date,
  oldestWaitingSince: Date | null,
  s: WavePlanSettings,
): { opensAt: Date; coverSignedUpBefore: Date } | null {
  if (oldestWaitingSince === null) return null;
  const mustOpenBy = oldestWaitingSince.getTime() + (s.targetWaitDays - s.leadDays) * DAY_MS;
  // Plan only once it is due within one cadence; until then the list may still be served by hand.
  if (mustOpenBy > now.getTime() + s.cadenceDays * DAY_MS) return null;
  const opensAt = new Date(Math.max(now.getTime(), mustOpenBy));
  return {
    opensAt,
    coverSignedUpBefore: new Date(opensAt.getTime() + (s.cadenceDays - s.targetWaitDays + s.leadDays) * DAY_MS),
  };
}

/**
 * Seats a planned wave needs: down to the last-placed user who must be covered, less seats other waves before it
 * release.
 */
export function plannedSeats(lastCoveredPosition: number | null, seatsInEarlierWaves: number): number {
  if (lastCoveredPosition === null) return 0;
  return Math.max(0, lastCoveredPosition - seatsInEarlierWaves);
}

/** When the release workflow next looks at the waves, and why: the next wave opening, or the next planning round. */
export type WakeUp = { at: Date; reason: { kind: 'wave_opens'; waveName: string } | { kind: 'planning' } };

/** The earlier of the next wave's opening and one planning interval from now (a wave already due: now). */
export function nextWakeUp(now: Date, nextWave: { name: string; opensAt: Date } | null, planEveryMs: number): WakeUp {
  const planning = now.getTime() + planEveryMs;
  if (nextWave && nextWave.opensAt.getTime() <= planning) {
    return {
      at: new Date(Math.max(now.getTime(), nextWave.opensAt.getTime())),
      reason: { kind: 'wave_opens', waveName: nextWave.name },
    };
  }
  return { at: new Date(planning), reason: { kind: 'planning' } };
}

// ---- Forecast ---------------------------------------------------------------------------------

/** Buckets of time waited, in days: [from, to). */
export const WAIT_BUCKETS: readonly { label: string; fromDays: number; toDays: number | null }[] = [
  { label: '0-7 days', fromDays: 0, toDays: 7 },
  { label: '7-14 days', fromDays: 7, toDays: 14 },
  { label: '14-30 days', fromDays: 14, toDays: 30 },
  { label: '30-60 days', fromDays: 30, toDays: 60 },
  { label: '60+ days', fromDays: 60, toDays: null },
];

export function bucketOf(waitedMs: number): number {
  const days = waitedMs / DAY_MS;
  const i = WAIT_BUCKETS.findIndex((b) => days >= b.fromDays && (b.toDays === null || days < b.toDays));
  return i === -1 ? 0 : i;
}

export type Cohort = { admitted: number; paying: number };
export type ForecastLine = {
  bucket: string;
  released: number;
  cohort: Cohort;
  rateBps: number | null;
  basis: 'cohort' | 'all_cohorts' | 'none';
  expectedHundredths: number | null;
};
export type Forecast = { release: number; expectedPaying: number | null; lines: ForecastLine[]; note: string };

/**
 * "Release X, expect Y paying": each released user counts at the measured conversion of the cohort
 * that waited as long as they have (all cohorts pooled where that bucket has no data). Y is rounded
 * to the nearest whole customer; every figure behind it is returned.
 */
export function forecast(release: number, releasedByBucket: readonly number[], cohorts: readonly Cohort[]): Forecast {
  const pooled = cohorts.reduce((a, c) => ({ admitted: a.admitted + c.admitted, paying: a.paying + c.paying }), {
    admitted: 0,
    paying: 0,
  });
  const lines: ForecastLine[] = WAIT_BUCKETS.map((b, i) => {
    const cohort = cohorts[i] ?? { admitted: 0, paying: 0 };
    const released = releasedByBucket[i] ?? 0;
    const basisCohort = cohort.admitted > 0 ? cohort : pooled.admitted > 0 ? pooled : null;
    const basis = cohort.admitted > 0 ? 'cohort' : pooled.admitted > 0 ? 'all_cohorts' : 'none';
    return {
      bucket: b.label,
      released,
      cohort,
      rateBps: basisCohort ? Math.floor((basisCohort.paying * 10_000) / basisCohort.admitted) : null,
      basis,
      // released x paying / admitted, in hundredths of a customer, rounded down.
      expectedHundredths: basisCohort ? Math.floor((released * basisCohort.paying * 100) / basisCohort.admitted) : null,
    };
  });
  if (pooled.admitted === 0) {
    return {
      release,
      expectedPaying: null,
      lines,
      note: 'No admitted cohort has been observed long enough yet: nothing to forecast from.',
    };
  }
  // Exact sum of the fractions, then rounded half up to whole customers.
  let num = 0n;
  let den = 1n;
  for (const [i, line] of lines.entries()) {
    if (line.released === 0) continue;
    const c = (cohorts[i]?.admitted ?? 0) > 0 ? cohorts[i]! : pooled;
    const n = BigInt(line.released) * BigInt(c.paying);
    const d = BigInt(c.admitted);
    num = num * d + n * den;
    den *= d;
  }
  const expectedPaying = Number((2n * num + den) / (2n * den));
  return {
    release,
    expectedPaying,
    lines,
    note: 'Each released user counts at the conversion of admitted users who had waited as long; buckets without data use all cohorts pooled.',
  };
}
