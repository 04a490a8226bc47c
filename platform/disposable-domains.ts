// The disposable email domains the referee's address is checked against: the maintained
// `disposable-email-domains` list shipped with the app (updated by bumping its pinned version), plus
// the deployment's own file (FRAUD_DISPOSABLE_DOMAINS_FILE: one domain per line, `#` comments), which
// is read again when it changes, so a domain can be added without a release.
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { disposableDomains } from '../domain/fraud/rules/disposable-email.ts';

const require = createRequire(import.meta.url);

/** How often, at most, the extra file's modification time is looked at. */
const RECHECK_MS = 60_000;

function shippedDomains(): string[] {
  const index = require('disposable-email-domains') as string[];
  const wildcards = require('disposable-email-domains/wildcard.json') as string[];
  return [...index, ...wildcards];
}

function extraDomains(file: string): string[] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .map((line) => line.replace(/#.*$/, '').trim())
      .filter(Boolean);
  } catch (err) {
    throw new Error(`FRAUD_DISPOSABLE_DOMAINS_FILE: cannot read ${file}: ${(err as Error).message}`);
  }
}

/**
 * Answers whether a domain is disposable. The shipped list is read once; the extra file is read at
 * once (a file that cannot be read throws, naming it) and again when its modification time changes.
 */
export function disposableDomainCheck(
  extraFile: string | null,
  now: () => number = Date.now,
): (domain: string) => boolean {
  const shipped = shippedDomains();
  let check = disposableDomains(extraFile ? [...shipped, ...extraDomains(extraFile)] : shipped);
  if (!extraFile) return check;
  let [checkedAt, modified] = [now(), statSync(extraFile).mtimeMs];
  return (domain) => {
    if (now() - checkedAt >= RECHECK_MS) {
      checkedAt = now();
      try {
        const m = statSync(extraFile).mtimeMs;
        if (m !== modified) [check, modified] = [disposableDomains([...shipped, ...extraDomains(extraFile)]), m];
      } catch {
        // Gone or unreadable for a moment: keep the list read last.
      }
    }
    return check(domain);
  };
}
