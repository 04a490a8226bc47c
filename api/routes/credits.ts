// Credits people can use: the signed-in user's balance and movements, and the product's spends.
import { z } from 'zod';
import type { DatabasePool } from '../../db/pool.ts';
import type { MovementRow, SpendRow } from '../../db/credits.ts';
import { creditsOf, spend } from '../../services/credits.ts';
import { defineRoute } from '../route.ts';

const iso = z.iso.datetime();

const movementView = z.object({
  id: z.string().describe('The ledger entry.'),
  credits: z.number().int().describe('Positive: credits in; negative: credits out.'),
  kind: z
    .string()
    .describe(
      'What moved them: `invite_credits` (an invite you redeemed), `link_invitee_credits` (the link you signed up through), `invite_inviter_credits` (someone you invited built an app), `milestone_credits`, `commission`, `credit_spend`, and the reversals (`invite_credits_reversal`, `milestone_credits_reversal`, `clawback`, `void`, `forfeit`).',
    ),
  reason: z.string().nullable().describe("A spend's reason, as the product gave it."),
  edgeId: z.uuid().nullable(),
  spendId: z.string().nullable(),
  at: iso,
});
const toMovementView = (m: MovementRow): z.infer<typeof movementView> => {
  const text = (key: string) => (typeof m.metadata[key] === 'string' ? (m.metadata[key] as string) : null);
  return {
    id: String(m.entry_id),
    credits: m.amount,
    kind: m.kind,
    reason: text('reason'),
    edgeId: text('edgeId'),
    spendId: text('spendId'),
    at: m.created_at.toISOString(),
  };
};

const spendView = z.object({
  spendId: z.string(),
  userId: z.uuid(),
  credits: z.number().int(),
  reason: z.string().nullable(),
  balanceAfter: z.number().int().describe('The balance right after this spend.'),
  createdAt: iso,
});
const toSpendView = (s: SpendRow): z.infer<typeof spendView> => ({
  spendId: s.id,
  userId: s.user_id,
  credits: s.credits,
  reason: s.reason,
  balanceAfter: s.balance_after,
  createdAt: s.created_at.toISOString(),
});

const MAX_SPEND = 100_000_000;

export function creditRoutes({ db }: { db: DatabasePool }) {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/credits/me',
      operationId: 'getMyCredits',
      summary: "The caller's credits: balance and movements, from the ledger",
      description:
        "The balance is the ledger's; movements are its entries on your credits account, newest first (page with `cursor`). Credits are spent only on building: they are never cash.",
      tags: ['credits'],
      access: { users: true },
      query: z.strictObject({
        limit: z.coerce.number().int().min(1).max(200).default(50),
        cursor: z.string().min(1).max(20).optional().describe('`nextCursor` of the previous page.'),
      }),
      responses: {
        200: {
          description: 'Your credits',
          schema: z.object({
            userId: z.uuid(),
            balance: z.number().int(),
            movements: z.array(movementView),
            nextCursor: z.string().nullable(),
          }),
        },
      },
      handle: async ({ principal, query }) => {
        if (principal?.type !== 'user') throw new Error('unreachable: users only');
        const page = await creditsOf(db, principal.userId, query);
        return {
          status: 200,
          body: {
            userId: principal.userId,
            balance: page.balance,
            movements: page.movements.map(toMovementView),
            nextCursor: page.nextCursor,
          },
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/credits/spend',
      operationId: 'spendCredits',
      summary: "Spend a user's credits on a build (the product's server key)",
      description:
        "Takes `credits` from the user's balance through the ledger, whole or not at all, once per `spendId`: the same `spendId` with the same body answers the first spend again (200); with another body, 409 `spend_id_conflict`. A balance that does not cover it is 409 `insufficient_credits` and nothing changes; an unknown user is 404 `user_not_found`. Credits are never paid out as cash.",
      tags: ['credits'],
      access: { roles: ['server'] },
      body: z.strictObject({
        spendId: z
          .string()
          .min(1)
          .max(128)
          .regex(/^[\w.:-]+$/, 'letters, digits, _ . : - only')
          .describe('Your id for this spend (e.g. the build id): the idempotency key.'),
        userId: z.uuid(),
        credits: z.number().int().min(1).max(MAX_SPEND),
        reason: z.string().trim().min(1).max(200).optional().describe('What the credits were spent on.'),
      }),
      responses: {
        201: { description: 'Spent', schema: spendView },
        200: { description: 'This spend was made already (same id and body): its answer', schema: spendView },
      },
      handle: async ({ body }) => {
        const result = await spend(db, body);
        return { status: result.replayed ? 200 : 201, body: toSpendView(result.spend) };
      },
    }),
  ];
}
