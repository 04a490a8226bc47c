// Invite code flavors: each has its own prefix, landing page and default credit grant. The table
// is configuration (INVITE_FLAVORS overrides it as JSON); the rules below read whatever it says.

export const INVITE_FLAVORS = ['beta', 'free', 'og', 'partner'] as const;
export type InviteFlavor = (typeof INVITE_FLAVORS)[number];

export type FlavorSettings = { prefix: string; landingPage: string; defaultCredits: number };
export type FlavorTable = Record<InviteFlavor, FlavorSettings>;

export const DEFAULT_FLAVORS: FlavorTable = {
  beta: { prefix: 'BETA', landingPage: '/beta', defaultCredits: 500 },
  free: { prefix: 'FREE', landingPage: '/join', defaultCredits: 100 },
  og: { prefix: 'OG', landingPage: '/og', defaultCredits: 2_000 },
  partner: { prefix: 'PARTNER', landingPage: '/partners/welcome', defaultCredits: 0 },
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

export type CodeState = { uses: number; maxUses: number; expiresAt: Date | null };
export type CodeUnusableReason = 'expired' | 'exhausted';

export function whyUnusable(code: CodeState, now: Date): CodeUnusableReason | null {
  if (code.expiresAt && code.expiresAt.getTime() <= now.getTime()) return 'expired';
  if (code.uses >= code.maxUses) return 'exhausted';
  return null;
}
