// The first vertical slice on the real servers: API -> PostgreSQL -> outbox relay -> Temporal ->
// query, then an activation signal through the API vests the edge.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'slonik';
import { z } from 'zod';
import { stateQuery } from '../../contracts/edge-lifecycle.ts';
import { LifecycleState, ReferrerId } from '../../contracts/search-attributes.ts';
import { TEST_KEYS, type TestApi } from '../support/app.ts';
import { startStack, type TestStack } from '../support/stack.ts';
import type { TestDatabase } from '../support/database.ts';
import { eventually, type RunningWorker } from '../support/temporal.ts';

let stack: TestStack;
let database: TestDatabase;
let worker: RunningWorker;
let api: TestApi;

beforeAll(async () => {
  stack = await startStack('slice', { pollIntervalMs: 1000 });
  ({ database, worker, api } = stack);
});
afterAll(async () => {
  await stack?.stop();
});

describe('signup with a ref', () => {
  it('writes the edge, starts edge:<refereeId>, and an activation vests it', async () => {
    const alice = await api.request('/v1/signups', { json: { email: 'alice@example.com' } });
    expect(alice.status).toBe(201);
    expect(alice.body.edge).toBeNull();

    const bob = await api.request('/v1/signups', {
      json: { email: 'Bob@Example.com', ref: alice.body.user.referralCode },
    });
    expect(bob.status).toBe(201);
    expect(bob.body.user.email).toBe('bob@example.com');
    expect(bob.body.edge).toMatchObject({
      referrerId: alice.body.user.id,
      refereeId: bob.body.user.id,
      kind: 'beta_auto',
      source: 'link',
      workflowId: `edge:${bob.body.user.id}`,
    });
    expect(bob.headers.get('set-cookie')).toMatch(/^session=.+HttpOnly.*SameSite=Lax/i);

    // In PostgreSQL: the edge (the outbox row the relay works from names it).
    const edges = await database.db.any(
      sql.type(
        z.object({ referrer_id: z.string(), referee_id: z.string() }),
      )`SELECT referrer_id, referee_id FROM edges`,
    );
    expect(edges).toEqual([{ referrer_id: alice.body.user.id, referee_id: bob.body.user.id }]);

    // In Temporal: the relay started the workflow, which answers its query.
    const handle = worker.client.workflow.getHandle(bob.body.edge.workflowId);
    const state = await eventually(async () => handle.query(stateQuery));
    expect(state).toMatchObject({
      edgeId: bob.body.edge.id,
      state: 'awaiting_activation',
      kind: 'beta_auto',
      phase: 'beta',
      waitingFor: 'activation',
    });
    const described = await handle.describe();
    expect(described.typedSearchAttributes.get(ReferrerId)).toBe(alice.body.user.id);
    expect(described.typedSearchAttributes.get(LifecycleState)).toBe('awaiting_activation');
    // What ops see in the workflow list: who brought whom, and what kind of edge.
    expect(await described.staticSummary()).toBe(
      `edge ${alice.body.user.id} -> ${bob.body.user.id}, beta_auto (link, written in beta)`,
    );

    const activation = await api.request('/v1/activations', {
      json: { userId: bob.body.user.id },
      key: TEST_KEYS.server,
    });
    expect(activation.status).toBe(202);
    expect(activation.body.edge).toEqual({ id: bob.body.edge.id, workflowId: bob.body.edge.workflowId, told: true });
    // Vested: the edge now waits for the referee's first payment.
    const vestedView = await eventually(async () => {
      const view = await handle.query(stateQuery);
      return view.state === 'awaiting_first_payment' ? view : undefined;
    });
    expect(vestedView).toMatchObject({ activatedAt: activation.body.activatedAt, waitingFor: 'first_payment' });
    expect((await handle.describe()).typedSearchAttributes.get(LifecycleState)).toBe('awaiting_first_payment');

    // Ops can find it in the UI by referrer and state (visibility is eventually consistent).
    const found = await eventually(async () => {
      const ids: string[] = [];
      for await (const wf of worker.client.workflow.list({
        query: `ReferrerId = '${alice.body.user.id}' AND LifecycleState = 'awaiting_first_payment'`,
      }))
        ids.push(wf.workflowId);
      return ids.length ? ids : undefined;
    });
    expect(found).toEqual([bob.body.edge.workflowId]);

    const vested = await database.db.oneFirst(
      sql.type(
        z.object({ vested_at: z.date().nullable() }),
      )`SELECT vested_at FROM edges WHERE id = ${bob.body.edge.id}`,
    );
    expect(vested?.toISOString()).toBe(activation.body.activatedAt);
  });

  it('answers an activation for a user nobody referred without touching Temporal', async () => {
    const carol = await api.request('/v1/signups', { json: { email: 'carol@example.com' } });
    const activation = await api.request('/v1/activations', {
      json: { userId: carol.body.user.id },
      key: TEST_KEYS.server,
    });
    expect(activation.status).toBe(202);
    expect(activation.body.edge).toBeNull();
    const again = await api.request('/v1/activations', { json: { userId: carol.body.user.id }, key: TEST_KEYS.server });
    expect(again.body.activatedAt).toBe(activation.body.activatedAt);
  });

  it('refuses a ref that names nobody, and writes nothing', async () => {
    const res = await api.request('/v1/signups', { json: { email: 'dave@example.com', ref: 'zzzzzzzzzz' } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'referrer_not_found', param: 'ref' });
    const count = await database.db.oneFirst(
      sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM users WHERE email = 'dave@example.com'`,
    );
    expect(count).toBe(0);
  });

  it('answers 404 for an activation of an unknown user', async () => {
    const res = await api.request('/v1/activations', {
      json: { userId: '00000000-0000-4000-8000-000000000000' },
      key: TEST_KEYS.server,
    });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('user_not_found');
  });
});
