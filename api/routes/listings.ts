import { z } from 'zod';
import { createListing, getListing, type ListingView } from '../../services/listings.ts';
import { defineRoute } from '../route.ts';

const shareLink = z
  .string()
  .describe(
    "The listing's share link: /r/<creator's referral code>?listing=<id>. A visitor it brings is the creator's referral (source `listing`).",
  );
const publicListing = z.object({
  id: z.uuid(),
  title: z.string(),
  customDomain: z.string().nullable(),
  shareLink,
  createdAt: z.iso.datetime(),
});
const listing = publicListing.extend({ creatorId: z.uuid() });

const toPublic = (l: ListingView): z.infer<typeof publicListing> => ({
  id: l.id,
  title: l.title,
  customDomain: l.custom_domain,
  shareLink: l.share_link,
  createdAt: l.created_at.toISOString(),
});

export function listingRoutes(deps: { db: Parameters<typeof createListing>[0]['db']; publicBaseUrl: string }) {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/listings',
      operationId: 'createListing',
      summary: 'Create a listing; the signed-in user is its creator',
      description:
        'A custom domain is a plain host name (400 `invalid_custom_domain` otherwise), one listing per domain (409 `custom_domain_taken`); a listing’s custom domain may receive cross-domain hand-offs (GET /r/{code}?to=).',
      tags: ['listings'],
      access: { users: true },
      idempotent: true,
      body: z.strictObject({
        title: z
          .string()
          .trim()
          .min(1)
          .max(200)
          .regex(/^[^\u0000]*[^\s\u0000][^\u0000]*$/)
          .describe('Trimmed; not blank.'),
        customDomain: z
          .string()
          .min(1)
          .max(253)
          .regex(/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/)
          .optional()
          .describe(
            'A host name the listing is also served on, e.g. shop.example.com (lower-cased; labels may not start or end with a hyphen; not an address).',
          ),
      }),
      responses: { 201: { description: 'Created', schema: listing } },
      handle: async ({ body, principal }) => {
        const row = await createListing(deps, {
          creatorId: principal!.type === 'user' ? principal!.userId : '',
          title: body.title,
          customDomain: body.customDomain,
        });
        return { status: 201, body: { ...toPublic(row), creatorId: row.creator_id } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/listings/{id}',
      operationId: 'getListing',
      summary: 'A listing, as anyone may see it',
      tags: ['listings'],
      access: { public: true },
      rateLimitGroup: 'links',
      params: z.strictObject({ id: z.uuid() }),
      responses: { 200: { description: 'The listing', schema: publicListing } },
      handle: async ({ params }) => ({ status: 200, body: toPublic(await getListing(deps, params.id)) }),
    }),
  ];
}
