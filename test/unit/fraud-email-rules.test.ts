// The email rules: a disposable referee domain blocks the edge; one inbox behind both addresses
// holds it. Each with its honest look-alike.
import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { disposableDomains, disposableEmailRule, DISPOSABLE_EMAIL } from '../../domain/fraud/rules/disposable-email.ts';
import { emailOverlapRule } from '../../domain/fraud/rules/email-overlap.ts';
import { disposableDomainCheck } from '../../platform/disposable-domains.ts';
import { facts } from '../support/fraud-facts.ts';

const listed = disposableDomains(['mailinator.com', '10minutemail.com', ' Guerrillamail.COM ', '# a comment', '']);
const disposable = disposableEmailRule(listed);
const referee = (email: string) => facts({ referee: { email } });

describe('disposable-email', () => {
  it('blocks a referee on a listed domain, or on a domain under one', () => {
    for (const email of ['x@mailinator.com', 'X@MAILINATOR.COM', 'bot@inbox.mailinator.com', 'a@guerrillamail.com']) {
      const verdict = disposable.evaluate(referee(email));
      expect(verdict).toMatchObject({ rule: DISPOSABLE_EMAIL, decision: 'block', score: 0 });
      expect(verdict.reason).toContain('disposable');
    }
    expect(disposable.evaluate(referee('bot@inbox.mailinator.com')).evidence).toEqual({
      domain: 'inbox.mailinator.com',
    });
  });

  it('allows real providers and company domains, including ones that merely end like a listed name', () => {
    for (const email of ['bob@gmail.com', 'bob@example.org', 'bob@notmailinator.com', 'bob@mailinator.com.au'])
      expect(disposable.evaluate(referee(email)).decision).toBe('allow');
  });

  it('runs where the edge is written only', () => {
    expect(disposable.stages).toEqual(['edge_write']);
  });
});

describe('the disposable domain list', () => {
  const dir = mkdtempSync(join(tmpdir(), 'disposable-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ships a maintained list that knows the well-known throwaway providers and none of the big mailboxes', () => {
    const check = disposableDomainCheck(null);
    for (const d of ['mailinator.com', '10minutemail.com', 'guerrillamail.com']) expect(check(d)).toBe(true);
    for (const d of ['gmail.com', 'outlook.com', 'yahoo.com', 'icloud.com', 'proton.me', 'example.com'])
      expect(check(d)).toBe(false);
  });

  it('adds the domains of FRAUD_DISPOSABLE_DOMAINS_FILE and reads it again when it changes', () => {
    const file = join(dir, 'extra.txt');
    writeFileSync(file, '# ours\nburner.test\n');
    let now = 0;
    const check = disposableDomainCheck(file, () => now);
    expect(check('burner.test')).toBe(true);
    expect(check('throwaway.test')).toBe(false);

    writeFileSync(file, 'burner.test\nthrowaway.test  # added later\n');
    utimesSync(file, new Date(), new Date(Date.now() + 5_000));
    expect(check('throwaway.test')).toBe(false); // looked at again only after a minute
    now = 60_000;
    expect(check('throwaway.test')).toBe(true);
    expect(check('mailinator.com')).toBe(true); // the shipped list stays
  });

  it('names the file it cannot read', () => {
    expect(() => disposableDomainCheck(join(dir, 'missing.txt'))).toThrow(/FRAUD_DISPOSABLE_DOMAINS_FILE: cannot read/);
  });
});

describe('email-overlap', () => {
  const pair = (referrerEmail: string, refereeEmail: string) =>
    emailOverlapRule.evaluate(facts({ referrer: { email: referrerEmail }, referee: { email: refereeEmail } }));

  it('holds when both addresses deliver to one inbox: +tags, Gmail dots, googlemail, case', () => {
    for (const [a, b] of [
      ['alice@example.com', 'alice+ref@example.com'],
      ['alice.smith@gmail.com', 'alicesmith@gmail.com'],
      ['alicesmith@gmail.com', 'a.l.i.c.e.s.m.i.t.h+2@googlemail.com'],
      ['Alice@Example.com', 'alice@example.com'],
    ]) {
      const verdict = pair(a!, b!);
      expect(verdict).toMatchObject({ rule: 'email-overlap', decision: 'hold' });
      expect(verdict.evidence).toMatchObject({ referrerEmail: a, refereeEmail: b });
    }
  });

  it('allows a different person with a dotted Gmail address, and dots that matter outside Gmail', () => {
    expect(pair('john.smith@gmail.com', 'john.smithson@gmail.com').decision).toBe('allow');
    expect(pair('jane.doe@gmail.com', 'jane.doe@outlook.com').decision).toBe('allow');
    expect(pair('john.smith@example.com', 'johnsmith@example.com').decision).toBe('allow');
    expect(pair('ann@example.com', 'ann@example.org').decision).toBe('allow');
  });
});
