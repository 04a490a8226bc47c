// The share moment: what a signed-in user is handed to share (GET /v1/share/me, also in the signup
// answer) and the personalized Open Graph card (GET /og/{code}.png), public and rate-limited.
import { z } from 'zod';
import { SHARE_CHANNELS, type Share } from '../../domain/share-copy.ts';
import { createOgCardRenderer, OG_HEIGHT, OG_WIDTH, type OgCardRenderer } from '../../services/og-card.ts';
import { ogCardFor, shareForUser, type ShareDeps } from '../../services/share.ts';
import { defineRoute } from '../route.ts';

/** How long a client or a crawler may reuse a card without asking again (seconds). */
export const OG_MAX_AGE_SECONDS = 300;

const intent = z.object({
  text: z.string(),
  url: z.string().describe('A share URL for the channel; the text and the link in it are URL-encoded.'),
});

export const shareView = z
  .object({
    code: z.string().describe("The user's referral code."),
    link: z.url().describe('The share link: PUBLIC_BASE_URL/r/<referral code>.'),
    ogImageUrl: z
      .url()
      .describe(`The personalized Open Graph card: a ${OG_WIDTH}x${OG_HEIGHT} PNG at PUBLIC_BASE_URL/og/<code>.png.`),
    card: z
      .object({
        name: z.string().describe("The name shown: the first character of the email's local part, masked."),
        headline: z.string().describe('"#N on the waitlist" while waiting, "In the beta" once admitted.'),
        reward: z
          .string()
          .nullable()
          .describe('The highest milestone the user holds now and what it gave; null if none.'),
      })
      .describe('What the card shows, line by line.'),
    copy: z
      .object({
        x: intent,
        linkedin: intent,
        email: z.object({
          subject: z.string(),
          body: z.string(),
          url: z.string().describe('A mailto: URL with the subject and the body URL-encoded.'),
        }),
        whatsapp: intent,
        sms: intent,
      })
      .describe(
        `Pre-written copy per channel (${SHARE_CHANNELS.join(', ')}), each carrying the share link, from the same facts as the card.`,
      ),
  })
  .describe('What to share, true at the moment of the answer.');

export const toShareView = (share: Share): z.infer<typeof shareView> => share;

const CODE = /^[A-Za-z0-9_-]{1,64}$/;

/** Whether an If-None-Match header names this entity tag (weak comparison, `*` matches any). */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const bare = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => tag.trim() === '*' || bare(tag) === bare(etag));
}

export function shareRoutes(deps: ShareDeps, renderer: OgCardRenderer = createOgCardRenderer()) {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/share/me',
      operationId: 'getMyShare',
      summary: "The caller's share link, card and copy",
      description:
        'The share link, the Open Graph card URL with what it shows, and pre-written copy per channel, drawn from the waitlist position and milestones as they are now (the same object the signup answer carries as `share`).',
      tags: ['share'],
      access: { users: true },
      responses: { 200: { description: 'What to share', schema: shareView } },
      handle: async ({ principal }) => {
        if (principal?.type !== 'user') throw new Error('unreachable: users only');
        return { status: 200, body: toShareView(await shareForUser(deps, principal.userId)) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/og/{code}.png',
      operationId: 'getOgCard',
      summary: 'The personalized Open Graph card of a referral code',
      description: `A ${OG_WIDTH}x${OG_HEIGHT} PNG (\`image/png\`) drawn server-side with the user's masked name and their waitlist position or highest milestone, as they are now. Carries an ETag over what it draws and \`Cache-Control: public, max-age=${OG_MAX_AGE_SECONDS}\`; a request whose If-None-Match names the current ETag gets a 304. An unknown code is a 404 \`referral_code_not_found\`.`,
      tags: ['share'],
      access: { public: true },
      rateLimitGroup: 'share',
      params: z.strictObject({
        code: z.string().regex(CODE, 'must be 1-64 letters, digits, _ or -').describe("A user's referral code."),
      }),
      responses: {
        200: { description: `The card, image/png, ${OG_WIDTH}x${OG_HEIGHT}` },
        304: { description: 'Not modified: the If-None-Match ETag is the current card' },
      },
      handle: async ({ params, req, res }) => {
        const card = await ogCardFor(deps, renderer, params.code);
        const headers = { ETag: card.etag, 'Cache-Control': `public, max-age=${OG_MAX_AGE_SECONDS}` };
        if (matchesIfNoneMatch(req.get('if-none-match'), card.etag)) return { status: 304, headers };
        const png = await card.png();
        // The route layer answers JSON; the image's bytes are written here, and the reply below
        // only names the status the route documents (nothing more is sent).
        res.status(200).set({ ...headers, 'Content-Type': 'image/png', 'Content-Length': String(png.length) });
        res.end(png);
        return { status: 200 };
      },
    }),
  ];
}
