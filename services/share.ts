// The share moment's use cases: what a user is handed to share (link, card, copy per channel) and
// the card image itself, both from the facts read at that moment (db/share.ts) through the pure
// rules of domain/share-copy.ts.
import type { DatabasePool } from 'slonik';
import { shareFactsByCode, shareFactsByUser, type ShareFactsRow } from '../db/share.ts';
import { displayNameOf, shareOf, type Share, type ShareFacts } from '../domain/share-copy.ts';
import { notFound } from './errors.ts';
import type { CardFacts, OgCardRenderer } from './og-card.ts';

export type ShareDeps = { db: DatabasePool; publicBaseUrl: string };

const factsOf = (row: ShareFactsRow): ShareFacts => ({
  code: row.referral_code,
  displayName: displayNameOf(row.email),
  status: row.status,
  position: row.position,
  topRung: row.top_rung,
});

/** What the user is handed to share, true now. */
export async function shareForUser({ db, publicBaseUrl }: ShareDeps, userId: string): Promise<Share> {
  const row = await shareFactsByUser(db, userId);
  if (!row) throw notFound('user_not_found', `No user ${userId}.`);
  return shareOf(factsOf(row), publicBaseUrl);
}

export type OgCard = { etag: string; png: () => Promise<Buffer> };

/**
 * The card of the user a referral code names: its ETag (from the facts it draws, read now) and a
 * way to the PNG, drawn only when asked for (a client whose copy is current gets a 304 instead).
 */
export async function ogCardFor(
  { db, publicBaseUrl }: ShareDeps,
  renderer: OgCardRenderer,
  code: string,
): Promise<OgCard> {
  const row = await shareFactsByCode(db, code);
  if (!row) throw notFound('referral_code_not_found', 'No user has this referral code.', 'code');
  const share = shareOf(factsOf(row), publicBaseUrl);
  const facts: CardFacts = { ...share.card, link: share.link };
  return { etag: renderer.etagOf(facts), png: () => renderer.render(facts) };
}
