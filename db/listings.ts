// Listings: a creator's page on the marketplace, optionally served on a custom domain. The listing's
// share link attributes a visitor to its creator (edge source `listing`, the listing id kept as the
// edge's code).
import { sql, UniqueIntegrityConstraintViolationError } from 'slonik';
import { z } from 'zod';
import type { Db } from './pool.ts';

export const listingRow = z.object({
  id: z.uuid(),
  creator_id: z.uuid(),
  creator_referral_code: z.string(),
  title: z.string(),
  custom_domain: z.string().nullable(),
  created_at: z.date(),
});
export type ListingRow = z.infer<typeof listingRow>;

const listingColumns = sql.fragment`l.id, l.creator_id, u.referral_code AS creator_referral_code, l.title, l.custom_domain, l.created_at`;

export class CustomDomainTakenError extends Error {
  override name = 'CustomDomainTakenError';
}

export async function insertListing(
  db: Db,
  listing: { id: string; creatorId: string; title: string; customDomain: string | null },
): Promise<ListingRow | null> {
  try {
    return await db.maybeOne(sql.type(listingRow)`
      WITH l AS (
        INSERT INTO listings (id, creator_id, title, custom_domain)
        SELECT ${listing.id}, u.id, ${listing.title}, ${listing.customDomain} FROM users u WHERE u.id = ${listing.creatorId}
        RETURNING *
      )
      SELECT ${listingColumns} FROM l JOIN users u ON u.id = l.creator_id`);
  } catch (err) {
    if (err instanceof UniqueIntegrityConstraintViolationError && err.constraint === 'listings_custom_domain_key')
      throw new CustomDomainTakenError(listing.customDomain ?? '');
    throw err;
  }
}

export async function findListing(db: Db, id: string): Promise<ListingRow | null> {
  if (!z.uuid().safeParse(id).success) return null;
  return db.maybeOne(sql.type(listingRow)`
    SELECT ${listingColumns} FROM listings l JOIN users u ON u.id = l.creator_id WHERE l.id = ${id}`);
}

/** Whether some listing is served on this host (lower case): hand-offs may go there. */
export async function isListingDomain(db: Db, host: string): Promise<boolean> {
  return db.exists(sql.unsafe`SELECT 1 FROM listings WHERE custom_domain = ${host}`);
}
