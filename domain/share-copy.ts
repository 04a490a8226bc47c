// The share moment: a user's share link, what their Open Graph card says, and the pre-written copy
// per channel. Every line is drawn from facts read at that moment (the waitlist position, the
// highest milestone held), so nothing claims more than is true. Pure: no I/O.
import { LADDER } from './milestones.ts';

/** What a share draws on, read in one statement: who (masked), where they stand, what they hold. */
export type ShareFacts = {
  /** The user's referral code: the link and the card are named by it. */
  code: string;
  /** The name the card shows: `displayNameOf(email)` (the model has no name field). */
  displayName: string;
  status: 'waitlisted' | 'active';
  /** 1 is next in line; null once admitted. */
  position: number | null;
  /** The highest milestone rung the user holds now (live grant), or null. */
  topRung: number | null;
};

/** The channels copy is written for. */
export const SHARE_CHANNELS = ['x', 'linkedin', 'email', 'whatsapp', 'sms'] as const;

export type ShareCopy = {
  x: { text: string; url: string };
  linkedin: { text: string; url: string };
  email: { subject: string; body: string; url: string };
  whatsapp: { text: string; url: string };
  sms: { text: string; url: string };
};

export type Share = {
  code: string;
  link: string;
  ogImageUrl: string;
  card: { name: string; headline: string; reward: string | null };
  copy: ShareCopy;
};

const MASK = '***';

/**
 * The name a public card shows for an email: the local part's first character, masked
 * (`jane.doe@example.com` -> `j***`). The card is public to anyone who has the code, so the
 * address itself never appears.
 */
export function displayNameOf(email: string): string {
  const at = email.lastIndexOf('@');
  const first = [...(at < 0 ? email : email.slice(0, at))][0] ?? '';
  return `${first}${MASK}`;
}

const base = (publicBaseUrl: string) => publicBaseUrl.replace(/\/+$/, '');

/** The share link: PUBLIC_BASE_URL + /r/<referral code> (the code is URL-encoded). */
export function shareLink(publicBaseUrl: string, code: string): string {
  return `${base(publicBaseUrl)}/r/${encodeURIComponent(code)}`;
}

/** The card image: PUBLIC_BASE_URL + /og/<referral code>.png. */
export function ogImageUrl(publicBaseUrl: string, code: string): string {
  return `${base(publicBaseUrl)}/og/${encodeURIComponent(code)}.png`;
}

const count = (n: number, one: string, many: string) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/** The card's main line: the position while waiting, otherwise that the user is in. */
export function headlineOf(facts: Pick<ShareFacts, 'status' | 'position'>): string {
  if (facts.status === 'waitlisted' && facts.position !== null)
    return `#${facts.position.toLocaleString('en-US')} on the waitlist`;
  return 'In the beta';
}

/** The reward line: the highest rung held, with what it gave (null when none is held). */
export function rewardOf(topRung: number | null): string | null {
  if (topRung === null) return null;
  const rung = LADDER.find((r) => r.at === topRung);
  if (!rung) return null;
  const reached = count(rung.at, 'referral', 'referrals');
  return rung.title ? `${rung.title} (${reached}): ${rung.label}` : `${reached}: ${rung.label}`;
}

/** The sentence the copy opens with, first person, from the same facts as the card. */
function statusSentence(facts: Pick<ShareFacts, 'status' | 'position'>): string {
  if (facts.status === 'waitlisted' && facts.position !== null)
    return `I'm #${facts.position.toLocaleString('en-US')} on the waitlist.`;
  return "I'm in the beta.";
}

/**
 * The copy per channel. Where the link goes into a URL (intent and share URLs, mailto:, sms:) the
 * whole parameter is encoded with encodeURIComponent, so the URLs carry no raw space, `&`, `#` or
 * `?` of the text; the plain texts carry the link as it is.
 */
export function shareCopy(facts: Pick<ShareFacts, 'status' | 'position'>, link: string): ShareCopy {
  const opener = statusSentence(facts);
  // Nothing about what the friend gets: the copy claims only what the facts show.
  const invite = 'Join me through my link.';
  const short = `${opener} ${invite}`;
  const q = encodeURIComponent;
  const subject = 'Come build with me';
  const body = `Hi,\n\n${opener} ${invite}\n\n${link}\n`;
  const message = `${short} ${link}`;
  return {
    x: { text: short, url: `https://x.com/intent/tweet?text=${q(short)}&url=${q(link)}` },
    linkedin: { text: message, url: `https://www.linkedin.com/sharing/share-offsite/?url=${q(link)}` },
    email: { subject, body, url: `mailto:?subject=${q(subject)}&body=${q(body)}` },
    whatsapp: { text: message, url: `https://wa.me/?text=${q(message)}` },
    sms: { text: message, url: `sms:?&body=${q(message)}` },
  };
}

/** Everything a user is handed to share, from the facts read now. */
export function shareOf(facts: ShareFacts, publicBaseUrl: string): Share {
  const link = shareLink(publicBaseUrl, facts.code);
  return {
    code: facts.code,
    link,
    ogImageUrl: ogImageUrl(publicBaseUrl, facts.code),
    card: { name: facts.displayName, headline: headlineOf(facts), reward: rewardOf(facts.topRung) },
    copy: shareCopy(facts, link),
  };
}
