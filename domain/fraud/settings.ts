// The thresholds the fraud rules hold against, with the reasons for their defaults. Each can be
// overridden by an environment variable (platform/env.ts, docs/configuration.md).

export type FraudSettings = {
  /** FRAUD_RULES: off records no signals and runs no rule (every screening answers allow). */
  enabled: boolean;
  /** Summed scores at or above this hold the edge, when a signal other than a shared IP or network is among them. */
  holdScore: number;
  /** Edges one referrer may write in an hour, and in a day, before the next is held (a person's own referral link). */
  referrerEdgesPerHour: number;
  referrerEdgesPerDay: number;
  /** The same for an approved partner, whose audience can be large. */
  partnerEdgesPerHour: number;
  partnerEdgesPerDay: number;
  /** Signups from one IP address in an hour above which the address scores; above the burst it scores high. */
  ipSignupsPerHour: number;
  ipBurstPerHour: number;
  /** Signups from one network (autonomous system) in an hour above which it scores. */
  networkSignupsPerHour: number;
  /** Other referees of the same referrer on the referee's device at which the edge is held (fewer: a score). */
  sharedDeviceReferees: number;
  /** Other referees of the same referrer on the referee's IP address at which it scores. */
  sharedIpReferees: number;
  /** Other referees of the same referrer paying with one card at which the edge is held (fewer: a score). */
  sharedCardReferees: number;
  /** An activation this soon after the signup scores (a script, not a person building an app). */
  quickActivationSeconds: number;
  /** Extra disposable email domains, one per line, on top of the shipped list; re-read when it changes. */
  disposableDomainsFile: string | null;
};

export const DEFAULT_FRAUD_SETTINGS: FraudSettings = {
  enabled: true,
  holdScore: 100,
  // A person shares a link with friends: 20 signups in an hour, 100 in a day is already a campaign.
  referrerEdgesPerHour: 20,
  referrerEdgesPerDay: 100,
  // A partner's post or newsletter can bring hundreds within the hour.
  partnerEdgesPerHour: 500,
  partnerEdgesPerDay: 5_000,
  // A family or a small office signs up a handful from one address; a campus or a big office more.
  ipSignupsPerHour: 10,
  ipBurstPerHour: 50,
  // A big ISP carries many honest signups: only a crowd from one network counts, and only as a score.
  networkSignupsPerHour: 300,
  // Two people may share a family tablet; three referees of one referrer on one device are one person.
  sharedDeviceReferees: 2,
  sharedIpReferees: 3,
  // A company card may pay for two colleagues; three referees of one referrer on one card are one buyer.
  sharedCardReferees: 2,
  quickActivationSeconds: 60,
  disposableDomainsFile: null,
};
