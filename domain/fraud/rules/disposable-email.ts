// A referee on a throwaway inbox is a fake account: the edge is blocked where it is written.
import { canonicalEmail } from '../../email.ts';
import type { EdgeFacts } from '../facts.ts';
import { allow, type FraudRule } from '../rule.ts';

export const DISPOSABLE_EMAIL = 'disposable-email';

/**
 * A lookup over a list of disposable domains: a domain is disposable when it or a domain above it
 * is listed (`x.mailinator.com` under `mailinator.com`).
 */
export function disposableDomains(domains: Iterable<string>): (domain: string) => boolean {
  const listed = new Set<string>();
  for (const d of domains) {
    const domain = d
      .trim()
      .toLowerCase()
      .replace(/^\*?\./, '');
    if (domain && !domain.startsWith('#')) listed.add(domain);
  }
  return (domain) => {
    const labels = domain.toLowerCase().split('.');
    for (let i = 0; i < labels.length - 1; i++) if (listed.has(labels.slice(i).join('.'))) return true;
    return false;
  };
}

export const domainOf = (email: string) => canonicalEmail(email).split('@')[1] ?? '';

export function disposableEmailRule(isDisposable: (domain: string) => boolean): FraudRule<EdgeFacts> {
  return {
    name: DISPOSABLE_EMAIL,
    stages: ['edge_write'],
    inputs: ['referee.email'],
    evaluate(facts) {
      const domain = domainOf(facts.referee.email);
      if (!isDisposable(domain)) return allow(DISPOSABLE_EMAIL);
      return {
        rule: DISPOSABLE_EMAIL,
        decision: 'block',
        score: 0,
        reason: `The referee signed up with a disposable email domain (${domain}).`,
        evidence: { domain },
      };
    },
  };
}
