// Fixtures for graph tests: users in chosen tenants (the partner keys of the test config name
// fixed tenant ids), partners, and signups through the API.
import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import type { DatabasePool } from '../../db/pool.ts';
import type { TestApi } from './app.ts';
import { TEST_KEYS } from './app.ts';

let n = 0;
export const uniqueEmail = (label = 'user') => `${label}-${Date.now().toString(36)}-${++n}@example.com`;

/** A user (and their tenant, with the given id) written directly, for tenants named by partner keys. */
export async function userInTenant(
  db: DatabasePool,
  tenantId: string,
  email = uniqueEmail('owner'),
): Promise<{ userId: string; tenantId: string; email: string }> {
  const userId = randomUUID();
  await db.query(sql.unsafe`
    WITH t AS (INSERT INTO tenants (id, name, owner_user_id) VALUES (${tenantId}, ${email}, ${userId}) ON CONFLICT (id) DO NOTHING)
    INSERT INTO users (id, tenant_id, email, inbox, referral_code) VALUES (${userId}, ${tenantId}, ${email}, ${email}, ${`c${userId.replaceAll('-', '').slice(0, 9)}`})`);
  return { userId, tenantId, email };
}

export type SignedUp = { id: string; tenantId: string; referralCode: string; token: string; email: string; body: any };

export async function signup(api: TestApi, body: Record<string, unknown> = {}): Promise<SignedUp> {
  const email = (body.email as string | undefined) ?? uniqueEmail();
  const res = await api.request('/v1/signups', { json: { email, ...body } });
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${JSON.stringify(res.body)}`);
  return {
    id: res.body.user.id,
    tenantId: res.body.user.tenantId,
    referralCode: res.body.user.referralCode,
    token: res.body.session.token,
    email,
    body: res.body,
  };
}

/** A partner for the tenant, approved unless told otherwise. */
export async function partner(
  api: TestApi,
  tenantId: string,
  { approved = true, ...terms }: Record<string, unknown> & { approved?: boolean } = {},
) {
  const created = await api.request('/v1/admin/partners', { json: { tenantId, ...terms }, key: TEST_KEYS.admin });
  if (created.status !== 201)
    throw new Error(`create partner failed: ${created.status} ${JSON.stringify(created.body)}`);
  if (!approved) return created.body;
  const res = await api.request(`/v1/admin/partners/${tenantId}/approve`, { method: 'POST', key: TEST_KEYS.admin });
  return res.body;
}
