// Invite code flavors: each has its own prefix, landing page and default credit grant (to the
// redeemer), the credits its inviter gets when the invitee builds an app, and the head start (waitlist
// points) its redeemer gets. The table is configuration (INVITE_FLAVORS overrides it as JSON); the
// rules below read whatever it says.

export const INVITE_FLAVORS = ['beta', 'free', 'og', 'partner'] as const;
export type InviteFlavor = (typeof INVITE_FLAVORS)[number];

export type FlavorSettings = {
  prefix: string;
  landingPage: string;
  /** Credits a redemption grants the redeemer (a code may say otherwise when minted). */
  defaultCredits: number;
  /** Credits the code's owner gets when the invitee builds an app (the edge vests); once per edge. */
  inviterCredits: number;
  /** Waitlist points the redeemer gets at redemption: a head start, its own line in the score. */
  headStart: number;
};
export type FlavorTable = Record<InviteFlavor, FlavorSettings>;

export const DEFAULT_FLAVORS: FlavorTable = {
  beta: { prefix: 'BETA', landingPage: '/beta', defaultCredits: 500, inviterCredits: 500, headStart: 10 },
  free: { prefix: 'FREE', landingPage: '/join', defaultCredits: 100, inviterCredits: 100, headStart: 5 },
  og: { prefix: 'OG', landingPage: '/og', defaultCredits: 2_000, inviterCredits: 1_000, headStart: 20 },
  partner: { prefix: 'PARTNER', landingPage: '/partners/welcome', defaultCredits: 0, inviterCredits: 0, headStart: 0 },
};

const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789'; // no 0/O, 1/I/L
export const INVITE_CODE_BODY_LENGTH = 8;

/** PREFIX-XXXXXXXX from random bytes (one byte per character). */
export function inviteCodeFor(settings: FlavorSettings, randomBytes: Uint8Array): string {
  let body = '';
  for (const byte of randomBytes.subarray(0, INVITE_CODE_BODY_LENGTH))
    body += CODE_ALPHABET[byte % CODE_ALPHABET.length];
  return `${settings.prefix}-${body}`;
}

/** Codes are matched without regard to case or surrounding spaces. */
export function normalizeInviteCode(code: string): string {
  return code.trim().toUpperCase();
}

/** A personal code may grant at most its flavor's default: users cannot print credits. */
export function personalCodeCredits(settings: FlavorSettings, requested: number | undefined): number {
  return Math.min(requested ?? settings.defaultCredits, settings.defaultCredits);
}

/**
 * Personal codes are limited: a user may hold `perUser` of them (PERSONAL_CODES_PER_USER), each with
 * at most `maxUses` redemptions (PERSONAL_CODE_MAX_USES), and only a user admitted off the waitlist
 * (status active) may make one. With one redemption per person, a user's codes bring at most
 * perUser x maxUses people, each redeeming credits once.
 */
export type PersonalCodeLimits = { perUser: number; maxUses: number };
export const DEFAULT_PERSONAL_CODE_LIMITS: PersonalCodeLimits = { perUser: 3, maxUses: 10 };

/** Why a user may not make another personal code; null when they may. */
export function whyNoPersonalCode(
  user: { status: 'waitlisted' | 'active' },
  codesHeld: number,
  limits: PersonalCodeLimits,
): 'not_admitted' | 'limit_reached' | null {
  if (user.status !== 'active') return 'not_admitted';
  if (codesHeld >= limits.perUser) return 'limit_reached';
  return null;
}

/**
 * A person redeems at most one invite code, ever; a partner invite is apart (it sets up the tenant,
 * once, and grants no seat).
 */
export const countsAsTheOneInvite = (flavor: InviteFlavor): boolean => flavor !== 'partner';

export type CodeState = { uses: number; maxUses: number; expiresAt: Date | null };
export type CodeUnusableReason = 'expired' | 'exhausted';

export function whyUnusable(code: CodeState, now: Date): CodeUnusableReason | null {
  if (code.expiresAt && code.expiresAt.getTime() <= now.getTime()) return 'expired';
  if (code.uses >= code.maxUses) return 'exhausted';
  return null;
}
