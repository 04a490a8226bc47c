// Email addresses: one canonical form for uniqueness, a stricter one for spotting the same inbox.

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/**
 * Characters no address we mail should hold: controls (NUL, escapes, line breaks), format characters
 * (zero-width spaces and joiners, the bidi overrides and isolates that make an address read other
 * than it is, the BOM), line and paragraph separators, private-use and unassigned code points.
 */
const HIDDEN_OR_CONTROL = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Cs}\p{Zl}\p{Zp}]/u;

export function isEmail(value: string): boolean {
  return value.length <= 254 && EMAIL.test(value) && !HIDDEN_OR_CONTROL.test(value);
}

/**
 * An address shown to someone who may not see it whole: the first character of the local part and
 * of the domain, and the top-level domain (`jane@gmail.com` -> `j***@g***.com`).
 */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 0) return '***';
  const local = [...email.slice(0, at)];
  const domain = email.slice(at + 1);
  const dot = domain.lastIndexOf('.');
  const host = [...(dot > 0 ? domain.slice(0, dot) : domain)];
  const tld = dot > 0 ? domain.slice(dot) : '';
  return `${local[0] ?? ''}***@${host[0] ?? ''}***${tld}`;
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
