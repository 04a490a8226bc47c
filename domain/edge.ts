// The one relationship: referrer -> referee. Which kind an edge is decides what it can earn.

export const EDGE_SOURCES = ['link', 'invite_code', 'listing', 'partner_code'] as const;
export type EdgeSource = (typeof EDGE_SOURCES)[number];

export const EDGE_KINDS = ['beta_auto', 'intentional'] as const;
export type EdgeKind = (typeof EDGE_KINDS)[number];

export const PROGRAM_PHASES = ['beta', 'public'] as const;
export type ProgramPhase = (typeof PROGRAM_PHASES)[number];

export type EdgeKindInput = {
  phase: ProgramPhase;
  source: EdgeSource;
  /** The referrer is an approved partner, so any of their links or codes is an affiliate link. */
  referrerIsApprovedPartner: boolean;
};

/**
 * Intentional edges come from an approved partner's code or affiliate link and earn the partner's
 * rates in either phase. Every other edge made in beta is auto-enrolled (beta rewards now, the
 * beta tier of cash after the launch flip). After the flip a plain referral link is a deliberate
 * share of a product people can buy, so it is intentional too.
 */
export function edgeKindFor({ phase, source, referrerIsApprovedPartner }: EdgeKindInput): EdgeKind {
  if (source === 'partner_code' || referrerIsApprovedPartner) return 'intentional';
  return phase === 'beta' ? 'beta_auto' : 'intentional';
}
