// Fixtures for payout tests: an approved partner with a Stripe account and a payable balance (a
// commission past its holding period), written through the same services and ledger as production.
import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import type { DatabasePool } from '../../db/pool.ts';
import { postTransaction } from '../../db/ledger.ts';
import { commissionPosting, releasePosting } from '../../domain/ledger-postings.ts';
import { approve, createPartner } from '../../services/partners.ts';
import type { FakeStripe } from './fake-stripe.ts';
import { userInTenant } from './graph.ts';

export async function payablePartner(
  db: DatabasePool,
  cents: number,
  opts: { fake?: FakeStripe; payoutsEnabled?: boolean } = {},
): Promise<{ tenantId: string; account: string }> {
  const tenantId = randomUUID();
  const owner = await userInTenant(db, tenantId);
  const deps = { db, publicBaseUrl: 'http://localhost' };
  await createPartner(deps, { tenantId });
  await approve(deps, tenantId, 'test');
  const account = `acct_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  await db.query(
    sql.unsafe`UPDATE partners SET stripe_account_id = ${account}, stripe_account_status = 'enabled' WHERE tenant_id = ${tenantId}`,
  );
  opts.fake?.accounts.set(account, { payoutsEnabled: opts.payoutsEnabled ?? true });
  const to = { tenantId, referrerUserId: owner.userId };
  await postTransaction(
    db,
    commissionPosting({ paymentId: `p-${tenantId}`, edgeId: randomUUID(), to, earned: { cash: cents, credits: 0 } })!,
  );
  await postTransaction(db, releasePosting({ paymentId: `p-${tenantId}`, edgeId: randomUUID(), to, cash: cents })!);
  return { tenantId, account };
}
