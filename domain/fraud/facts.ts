// What the rules read about one edge at one stage, gathered from PostgreSQL in one query
// (db/fraud.ts gatherFacts). Counts are taken up to the moment the screened event happened (the
// edge's write, the referee's signup), so screening an edge later sees what was known then.
import type { FraudStage } from './rule.ts';

/** What a client told us about a person: the device, the IP address and its network, a payment card. */
export const SIGNAL_KINDS = ['device', 'ip', 'network', 'card'] as const;
export type SignalKind = (typeof SIGNAL_KINDS)[number];

/** A person's distinct values per kind, over every sighting so far. */
export type Signals = Record<SignalKind, readonly string[]>;

export const NO_SIGNALS: Signals = { device: [], ip: [], network: [], card: [] };

/** Seen in the hour and the day up to a moment. */
export type Window = { hour: number; day: number };

export type EdgeFacts = {
  stage: FraudStage;
  edge: { id: string; createdAt: Date };
  referrer: {
    id: string;
    email: string;
    /** An approved, active partner: its audience is larger than a person's friends. */
    isPartner: boolean;
    signals: Signals;
  };
  referee: {
    id: string;
    email: string;
    signedUpAt: Date;
    activatedAt: Date | null;
    signals: Signals;
    /** The address and network the referee signed up from, when the signup told us. */
    signupIp: string | null;
    signupNetwork: string | null;
  };
  /**
   * For each of the referee's device, IP and card values: how many of the referrer's other referees
   * were seen with it.
   */
  siblings: readonly { kind: SignalKind; value: string; referees: number }[];
  /** Edges the referrer had written up to this one (this one included). */
  referrerEdges: Window;
  /** Signups from the referee's signup address and network up to the referee's (the referee included). */
  crowd: { ip: Window | null; network: Window | null };
  /** At payment: the payment screened and the card it was paid with, when told. */
  payment: { id: string; fingerprint: string | null } | null;
};

/** The values both people were seen with. */
export function shared(a: Signals, b: Signals, kind: SignalKind): string[] {
  const theirs = new Set(b[kind]);
  return a[kind].filter((v) => theirs.has(v));
}

/** The referee's value of `kind` the most of the referrer's other referees were seen with, and how many. */
export function mostShared(facts: EdgeFacts, kind: SignalKind): { value: string; referees: number } | null {
  let best: { value: string; referees: number } | null = null;
  for (const s of facts.siblings)
    if (s.kind === kind && (!best || s.referees > best.referees)) best = { value: s.value, referees: s.referees };
  return best;
}
