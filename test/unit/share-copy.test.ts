import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  displayNameOf,
  headlineOf,
  ogImageUrl,
  rewardOf,
  shareCopy,
  shareLink,
  shareOf,
  type ShareCopy,
} from '../../domain/share-copy.ts';
import { LADDER } from '../../domain/milestones.ts';

/** Only characters a URL may carry as they are (RFC 3986 unreserved, reserved and %-escapes). */
const URL_SAFE = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]+$/;

/** Each channel's share URL, and the query parameters that carry its text and link. */
const carriers = (copy: ShareCopy) => [
  { url: copy.x.url, params: ['text', 'url'] },
  { url: copy.linkedin.url, params: ['url'] },
  { url: copy.email.url, params: ['subject', 'body'] },
  { url: copy.whatsapp.url, params: ['text'] },
  { url: copy.sms.url, params: ['body'] },
];

const facts = fc.record({
  status: fc.constantFrom('waitlisted' as const, 'active' as const),
  position: fc.option(fc.integer({ min: 1, max: 10_000_000 }), { nil: null }),
});
const bases = fc.constantFrom(
  'https://example.com',
  'https://example.com/',
  'http://localhost:3000',
  'https://join.example.org/beta',
);
const codes = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);

describe('share copy', () => {
  it('carries the link on every channel, URL-encoded wherever it goes into a URL', () => {
    fc.assert(
      fc.property(facts, bases, codes, (f, base, code) => {
        const link = shareLink(base, code);
        const copy = shareCopy(f, link);
        for (const { url, params } of carriers(copy)) {
          expect(url).toMatch(URL_SAFE);
          const parsed = new URL(url);
          const decoded = params.map((p) => parsed.searchParams.get(p) ?? '');
          // The link is recovered whole from the URL (encoding kept every character), nothing lost.
          expect(decoded.some((value) => value.includes(link))).toBe(true);
        }
        // The text of each channel as the URL carries it is the text the copy shows.
        expect(new URL(copy.x.url).searchParams.get('text')).toBe(copy.x.text);
        expect(new URL(copy.whatsapp.url).searchParams.get('text')).toBe(copy.whatsapp.text);
        expect(new URL(copy.sms.url).searchParams.get('body')).toBe(copy.sms.text);
        expect(new URL(copy.email.url).searchParams.get('subject')).toBe(copy.email.subject);
        expect(new URL(copy.email.url).searchParams.get('body')).toBe(copy.email.body);
        for (const text of [copy.linkedin.text, copy.whatsapp.text, copy.sms.text, copy.email.body])
          expect(text).toContain(link);
      }),
    );
  });

  it('says the position while waiting, and only what the facts show', () => {
    const waiting = shareCopy({ status: 'waitlisted', position: 1234 }, 'https://e.com/r/abc');
    expect(waiting.x.text).toBe("I'm #1,234 on the waitlist. Join me through my link.");
    expect(waiting.x.url).toBe(
      "https://x.com/intent/tweet?text=I'm%20%231%2C234%20on%20the%20waitlist.%20Join%20me%20through%20my%20link.&url=https%3A%2F%2Fe.com%2Fr%2Fabc",
    );
    const admitted = shareCopy({ status: 'active', position: null }, 'https://e.com/r/abc');
    expect(admitted.whatsapp.text).toBe("I'm in the beta. Join me through my link. https://e.com/r/abc");
    expect(admitted.email).toMatchObject({ subject: 'Come build with me' });
  });
});

describe('share link, card and name', () => {
  it('builds the link and the card URL on PUBLIC_BASE_URL, with or without a trailing slash', () => {
    expect(shareLink('https://example.com/', 'k7m2p9q4rs')).toBe('https://example.com/r/k7m2p9q4rs');
    expect(ogImageUrl('https://example.com', 'k7m2p9q4rs')).toBe('https://example.com/og/k7m2p9q4rs.png');
    expect(shareLink('https://example.com', 'a b/c')).toBe('https://example.com/r/a%20b%2Fc');
  });

  it('masks the email: the first character of the local part only', () => {
    expect(displayNameOf('jane.doe@example.com')).toBe('j***');
    expect(displayNameOf('élodie@example.fr')).toBe('é***');
    expect(displayNameOf('😀x@example.com')).toBe('😀***');
    fc.assert(
      fc.property(fc.emailAddress(), (email) => {
        const name = displayNameOf(email);
        expect(name.endsWith('***')).toBe(true);
        expect(name).not.toContain('@');
        expect([...name]).toHaveLength(4);
      }),
    );
  });

  it('heads the card with the position while waiting, "In the beta" once admitted', () => {
    expect(headlineOf({ status: 'waitlisted', position: 42 })).toBe('#42 on the waitlist');
    expect(headlineOf({ status: 'waitlisted', position: 12_345 })).toBe('#12,345 on the waitlist');
    expect(headlineOf({ status: 'active', position: null })).toBe('In the beta');
  });

  it('names the highest rung held with what it gave, and nothing when none is', () => {
    expect(rewardOf(null)).toBeNull();
    expect(rewardOf(1)).toBe('1 referral: a badge, 250 credits and a jump up the list');
    expect(rewardOf(25)).toBe(
      'Founder (25 referrals): 3 months of Pro, your name on the wall and the founder community',
    );
    for (const rung of LADDER) expect(rewardOf(rung.at)).toContain(rung.label);
    expect(rewardOf(7)).toBeNull();
  });

  it('hands out the link, the card URL, what the card shows and the copy from one set of facts', () => {
    const share = shareOf(
      { code: 'k7m2p9q4rs', displayName: 'j***', status: 'waitlisted', position: 3, topRung: 1 },
      'https://example.com',
    );
    expect(share).toMatchObject({
      code: 'k7m2p9q4rs',
      link: 'https://example.com/r/k7m2p9q4rs',
      ogImageUrl: 'https://example.com/og/k7m2p9q4rs.png',
      card: { name: 'j***', headline: '#3 on the waitlist', reward: expect.stringContaining('250 credits') },
    });
    expect(share.copy.sms.text).toContain('#3 on the waitlist');
  });
});
