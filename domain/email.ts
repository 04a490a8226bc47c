// Email addresses: one canonical form for uniqueness, a stricter one for spotting the same inbox.

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function isEmail(value: string): boolean {
  return value.length <= 254 && EMAIL.test(value);
}

/** Case-folded address: two signups differing only in case are the same person. */
export function canonicalEmail(email: string): string {
  return email.trim().toLowerCase();
}

const DOTS_IGNORED = new Set(['gmail.com', 'googlemail.com']);

/**
 * The inbox an address delivers to: +tags dropped everywhere, dots dropped where the provider
 * ignores them. Used to refuse self-referral through aliases, never to reject a signup.
 */
export function inboxOf(email: string): string {
  const [local = '', domain = ''] = canonicalEmail(email).split('@');
  let base = local.split('+')[0] ?? '';
  const host = domain === 'googlemail.com' ? 'gmail.com' : domain;
  if (DOTS_IGNORED.has(host)) base = base.replaceAll('.', '');
  return `${base}@${host}`;
}
