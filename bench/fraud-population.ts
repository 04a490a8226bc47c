// `npm run bench -- fraud-population [--size 3]`: a synthetic population through the real API and
// worker (as their own processes, the API trusting its loopback proxy so each person's address
// comes from X-Forwarded-For): honest people who look like fraud and the frauds they resemble sign
// up with their device ids, activate, are scanned for rings, the program goes public (the launch
// flip), they pay with their cards; then, once every workflow has settled, per group: the edges,
// the decisions (allow / score / hold / block) and what the group's referrers earned, read from the
// LEDGER (cash in their tenants' earnings, pending + payable + paid; credits in their credit
// accounts, milestone rungs and credit commission, net of what was taken back). The claim checked:
// every fraud group earns $0 and 0 credits; no honest edge is held (each one that is, is listed
// with the rule and why), and each honest group earns exactly what the commission rules say. Exits
// non-zero when a fraud group earned anything or an honest group's money differs from the rules.
// The same population, smaller, is test/integration/fraud-population-ledger.test.ts.
import { Client, Connection } from '@temporalio/client';
import { sql } from 'slonik';
import { z } from 'zod';
import { fraudRingScanStart, type RingScanOutcome } from '../contracts/fraud-ring-scan.ts';
import { balanceOf } from '../db/ledger.ts';
import { createDatabasePool, type DatabasePool } from '../db/pool.ts';
import { BETA_AUTO_TERMS } from '../domain/commission.ts';
import { partnerEarnings, userCredits } from '../domain/ledger-postings.ts';
import { creditsOf, rungsReached } from '../domain/milestones.ts';
import { applyBps } from '../domain/money.ts';
import { freePort, waitFor } from '../scripts/ports.ts';
import type { BenchStack } from './run.ts';
import { flag, fmt } from './_measure.ts';
import { start, stop, systemEnv } from './_process.ts';

// ---- the population, driven through any running stack -------------------------------------------

export type PopulationDriver = {
  /** A call to the API; `ip` becomes the X-Forwarded-For of a proxy the API trusts. */
  request(
    path: string,
    init?: { json?: unknown; key?: 'admin' | 'server'; ip?: string; method?: string },
  ): Promise<{ status: number; body: any }>;
  db: DatabasePool;
  /** Runs one fraud ring scan through its workflow on the deployment's worker, to its end. */
  scanRings(): Promise<RingScanOutcome>;
  /** How long to wait for the workflows at each step. */
  settleTimeoutMs?: number;
  say?: (what: string) => void;
};

export type Kind = 'honest' | 'fraud';
export type Decision = 'allow' | 'score' | 'hold' | 'block';

export type GroupResult = {
  group: string;
  kind: Kind;
  edges: number;
  /** Signups naming a referrer the API refused outright (a self-referral to one inbox): no edge. */
  refused: number;
  decisions: Record<Decision, number>;
  /** Rules behind the holds and blocks, with how many edges each. */
  heldBy: Record<string, number>;
  /** Each held or blocked edge of an honest group, with its rule and reason. */
  honestHeld: string[];
  /** From the ledger: the group's referrers' cash (cents, pending + payable + paid) and credits, net. */
  cashCents: number;
  credits: number;
  /** Credits granted to the group's referrers and then taken back (milestone reversals, clawbacks), from the ledger. */
  creditsTakenBack: number;
  /** What the commission rules say the group earns when none of its edges is held (honest groups). */
  expected: { cashCents: number; credits: number } | null;
};

export type PopulationResult = {
  groups: GroupResult[];
  ring: RingScanOutcome;
  users: number;
  edges: number;
  payments: number;
};

type Person = { id: string; tenantId: string; device: string; ip: string };
type Planned = {
  group: string;
  kind: Kind;
  referrers: Person[];
  edges: { edgeId: string; referee: Person; activationDevice: string; card: string | null }[];
  /** Signups naming a referrer that the API refused (no edge written). */
  refused: number;
  /** The referrers' own payments, before their referees' (a card they pay with). */
  referrerCards: { payer: Person; card: string }[];
  /** What the rules pay when nothing is held: per referrer, vested beta referrals; partner edges, their rates. */
  partnerRates?: { salesBps: number; creditBps: number };
};

const AMOUNT_CENTS = 2_000;
const PARTNER_RATES = { salesBps: 2_000, creditBps: 500 };

/** A distinct public-looking address for each person (never shared unless a group shares one). */
function addresses() {
  let i = 0;
  return () => {
    const n = i++;
    const j = Math.floor(n / 5);
    return `${[24, 66, 81, 98, 151][n % 5]}.${(j % 250) + 1}.${Math.floor(j / 250) % 250}.${10 + (n % 7)}`;
  };
}

export async function runPopulation(d: PopulationDriver, size = 1): Promise<PopulationResult> {
  const say = d.say ?? (() => {});
  const run = Date.now().toString(36);
  const nextIp = addresses();
  let users = 0;
  let seq = 0;
  const uniq = () => `${run}${++seq}`;
  const must = async (path: string, init: Parameters<PopulationDriver['request']>[1], status: number[]) => {
    const res = await d.request(path, init);
    if (!status.includes(res.status))
      throw new Error(`${init?.method ?? 'POST'} ${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const join = async (p: {
    email?: string;
    ref?: string;
    device?: string;
    ip?: string;
  }): Promise<{ person: Person; edgeId: string | null }> => {
    const device = p.device ?? `dev-${uniq()}`;
    const ip = p.ip ?? nextIp();
    const body = await must(
      '/v1/signups',
      {
        json: { email: p.email ?? `p-${uniq()}@example.com`, deviceId: device, ...(p.ref ? { ref: p.ref } : {}) },
        ip,
      },
      [201],
    );
    users += 1;
    return { person: { id: body.user.id, tenantId: body.user.tenantId, device, ip }, edgeId: body.edge?.id ?? null };
  };
  const plans: Planned[] = [];
  const plan = (group: string, kind: Kind, extra: Partial<Planned> = {}) => {
    const p: Planned = { group, kind, referrers: [], edges: [], referrerCards: [], refused: 0, ...extra };
    plans.push(p);
    return p;
  };
  /** A referee of `referrer` in plan `p`; activates on `activationDevice` (their own by default), pays with `card`. */
  const refer = async (
    p: Planned,
    referrer: Person,
    o: { email?: string; device?: string; ip?: string; activationDevice?: string; card?: string | null } = {},
  ) => {
    const { person, edgeId } = await join({ ...o, ref: referrer.id });
    if (!edgeId) throw new Error(`${p.group}: the signup wrote no edge`);
    p.edges.push({
      edgeId,
      referee: person,
      activationDevice: o.activationDevice ?? person.device,
      card: o.card === undefined ? `card-${uniq()}` : o.card,
    });
    return person;
  };
  const referrer = async (p: Planned, o: Parameters<typeof join>[0] = {}) => {
    const { person } = await join(o);
    p.referrers.push(person);
    return person;
  };

  say('signups');
  // Honest: independent referrals, each person on their own device and address, paying with their own card.
  const independent = plan('independent referrals', 'honest');
  for (let i = 0; i < 10 * size; i++) await refer(independent, await referrer(independent));

  // Honest: a family behind one home address; two of the children share the family tablet.
  const family = plan('family behind one address', 'honest');
  for (let f = 0; f < size; f++) {
    const home = nextIp();
    const parent = await referrer(family, { ip: home });
    for (const device of ['partner', 'kid-1', 'tablet', 'tablet'])
      await refer(family, parent, { device: `dev-${run}-fam${f}-${device}`, ip: home });
  }

  // Honest: colleagues at one office, each on their own laptop; two of them pay with the company card.
  const office = plan('colleagues at one office', 'honest');
  for (let o = 0; o < size; o++) {
    const address = nextIp();
    const colleague = await referrer(office, { ip: address });
    for (let i = 0; i < 9; i++)
      await refer(office, colleague, { ip: address, card: i < 2 ? `card-${run}-company-${o}` : undefined });
  }

  // Honest: a dotted Gmail address of another person (john.smith and john.smithson are two people).
  const dotted = plan('dotted Gmail, another person', 'honest');
  for (let i = 0; i < 3 * size; i++) {
    const tag = uniq();
    const john = await referrer(dotted, { email: `john.smith.${tag}@gmail.com` });
    await refer(dotted, john, { email: `john.smithson.${tag}@gmail.com` });
  }

  // Honest: a real customer paying with their own card, referred by someone who pays with theirs.
  const ownCard = plan('customer paying with their own card', 'honest');
  for (let i = 0; i < 5 * size; i++) {
    const r = await referrer(ownCard);
    ownCard.referrerCards.push({ payer: r, card: `card-${uniq()}` });
    await refer(ownCard, r);
  }

  // Honest: an approved partner's audience, arriving within the hour (past a person's velocity limit).
  const audience = plan("a partner's audience", 'honest', { partnerRates: PARTNER_RATES });
  const creator = await referrer(audience);
  await must(
    '/v1/admin/partners',
    {
      json: {
        tenantId: creator.tenantId,
        salesCommissionBps: PARTNER_RATES.salesBps,
        creditCommissionBps: PARTNER_RATES.creditBps,
      },
      key: 'admin',
    },
    [201],
  );
  await must(`/v1/admin/partners/${creator.tenantId}/approve`, { method: 'POST', key: 'admin' }, [200, 201]);
  for (let i = 0; i < 25 * size; i++) await refer(audience, creator);

  // Fraud: one person referring themselves under a +tag and dots of the same Gmail inbox (another
  // device and address), then buying through the second account.
  // The signup itself refuses one inbox on both ends (400 self_referral): no edge, counted as refused.
  const selfTag = plan('self-referral, +tag and dots', 'fraud');
  for (let i = 0; i < 3 * size; i++) {
    const tag = uniq();
    const me = await referrer(selfTag, { email: `mallory.${tag}@gmail.com` });
    const res = await d.request('/v1/signups', {
      json: { email: `Mal.lory.${tag}+promo@gmail.com`, deviceId: `dev-${uniq()}`, ref: me.id },
      ip: nextIp(),
    });
    if (res.status !== 400 || res.body?.error?.code !== 'self_referral')
      throw new Error(`a self-referral under a +tag answered ${res.status}: ${JSON.stringify(res.body)}`);
    selfTag.refused += 1;
  }

  // Fraud: one person on both ends, on their own device (another address), buying through the second account.
  const sameDevice = plan('same device both ends', 'fraud');
  for (let i = 0; i < 3 * size; i++) {
    const me = await referrer(sameDevice);
    await refer(sameDevice, me, { device: me.device });
  }

  // Fraud: a device farm, six accounts on one phone behind one referrer (each from a proxy address),
  // all built an app on it; fake accounts pay nothing.
  const farm = plan('device farm', 'fraud');
  for (let f = 0; f < size; f++) {
    const farmer = await referrer(farm);
    for (let i = 0; i < 6; i++) await refer(farm, farmer, { device: `dev-${run}-farm-${f}`, card: null });
  }

  // Fraud: a referrer's burst, 25 scripted accounts in minutes, a fresh device and address each, all activated.
  const burst = plan('referrer burst', 'fraud');
  for (let b = 0; b < Math.max(1, Math.floor(size / 2)); b++) {
    const burster = await referrer(burst);
    for (let i = 0; i < 25; i++) await refer(burst, burster, { card: null });
  }

  // Fraud: scripted signups from one address (55 in minutes), then a referrer's accounts from it,
  // two to a phone, all activated.
  const scripted = plan('scripted burst from one address', 'fraud');
  for (let s = 0; s < Math.max(1, Math.floor(size / 2)); s++) {
    const address = nextIp();
    for (let i = 0; i < 55; i++) await join({ ip: address });
    const bot = await referrer(scripted);
    for (let i = 0; i < 8; i++)
      await refer(scripted, bot, { device: `dev-${run}-bot-${s}-${Math.floor(i / 2)}`, ip: address, card: null });
  }

  // Fraud: a self-purchase through a second account with the referrer's own card.
  const selfPurchase = plan("self-purchase with the referrer's card", 'fraud');
  for (let i = 0; i < 3 * size; i++) {
    const r = await referrer(selfPurchase);
    const card = `card-${uniq()}`;
    selfPurchase.referrerCards.push({ payer: r, card });
    await refer(selfPurchase, r, { card });
  }

  // Fraud: throwaway inboxes.
  const disposable = plan('disposable email', 'fraud');
  for (let i = 0; i < size; i++) {
    const spammer = await referrer(disposable);
    for (const domain of ['mailinator.com', 'guerrillamail.com', '10minutemail.com'])
      await refer(disposable, spammer, { email: `x${uniq()}@${domain}` });
  }

  // Fraud: a ring on two phones, three accounts on each, referring across (A->D->B->E->C->F), each
  // from its own proxy address; all activated, none pays.
  const ring = plan('ring on shared devices', 'fraud');
  for (let r = 0; r < size; r++) {
    const [one, two] = [`dev-${run}-ring-${r}-1`, `dev-${run}-ring-${r}-2`];
    let current = await referrer(ring, { device: one });
    for (let i = 1; i < 6; i++) {
      const next = await refer(ring, current, { device: i % 2 === 1 ? two : one, card: null });
      ring.referrers.push(next);
      current = next;
    }
    ring.referrers.pop(); // the last account refers nobody
  }

  const edges = plans.flatMap((p) => p.edges);
  const edgeIds = edges.map((e) => e.edgeId);
  const timeout = d.settleTimeoutMs ?? 300_000;

  say(`${users} signups, ${edges.length} edges: waiting for every edge's workflow to screen its write`);
  await waitFor(
    'every edge screened at its write',
    async () => {
      const n = await d.db.oneFirst(sql.type(z.object({ n: z.number() }))`
        SELECT count(DISTINCT edge_id)::int AS n FROM fraud_rule_verdicts
        WHERE stage = 'edge_write' AND edge_id = ANY(${sql.array(edgeIds, 'uuid')})`);
      if (n < edgeIds.length) throw new Error(`${n} of ${edgeIds.length}`);
    },
    timeout,
  );

  say('activations');
  for (const e of edges)
    await must(
      '/v1/activations',
      { json: { userId: e.referee.id, deviceId: e.activationDevice }, key: 'server' },
      [200, 201, 202],
    );
  await waitFor(
    'every edge vested, held or voided',
    async () => {
      const n = await d.db.oneFirst(sql.type(z.object({ n: z.number() }))`
        SELECT count(*)::int AS n FROM edges WHERE id = ANY(${sql.array(edgeIds, 'uuid')})
          AND vested_at IS NULL AND held_at IS NULL AND voided_at IS NULL`);
      if (n > 0) throw new Error(`${n} waiting`);
    },
    timeout,
  );

  say('ring scan');
  const ringOutcome = await d.scanRings();

  say('launch flip');
  await must('/v1/admin/launch', { key: 'admin', method: 'POST' }, [202]);
  await waitFor(
    'the launch flip to finish',
    async () => {
      const body = await must('/v1/admin/launch', { key: 'admin', method: 'GET' }, [200]);
      if (body.status !== 'completed') throw new Error(body.status);
    },
    timeout,
  );

  say('payments');
  const payments: { paymentId: string; edgeId: string | null }[] = [];
  const pay = async (payer: Person, card: string, edgeId: string | null) => {
    const paymentId = `ch_${uniq()}`;
    await must(
      '/v1/payments',
      {
        json: {
          paymentId,
          userId: payer.id,
          amountCents: AMOUNT_CENTS,
          currency: 'USD',
          paymentMethodFingerprint: card,
        },
        key: 'server',
      },
      [201],
    );
    payments.push({ paymentId, edgeId });
  };
  for (const p of plans) for (const c of p.referrerCards) await pay(c.payer, c.card, null);
  for (const e of edges) if (e.card) await pay(e.referee, e.card, e.edgeId);

  const onEdges = payments.filter((p) => p.edgeId !== null);
  await waitFor(
    "every referee's payment priced, or its edge held or voided",
    async () => {
      const n = await d.db.oneFirst(sql.type(z.object({ n: z.number() }))`
        SELECT count(*)::int AS n FROM payments p JOIN edges e ON e.id = p.edge_id
        WHERE p.id = ANY(${sql.array(
          onEdges.map((p) => p.paymentId),
          'text',
        )}) AND p.pricing IS NULL AND e.held_at IS NULL AND e.voided_at IS NULL`);
      if (n > 0) throw new Error(`${n} payments waiting`);
    },
    timeout,
  );
  // A void's take-back and the ledger's last postings come from the workflows: wait until the
  // voided edges' workflows stamped them and every priced payment's commission is in the ledger.
  await waitFor(
    'every priced commission in the ledger',
    async () => {
      const n = await d.db.oneFirst(sql.type(z.object({ n: z.number() }))`
        SELECT count(*)::int AS n FROM payments p
        WHERE p.id = ANY(${sql.array(
          onEdges.map((p) => p.paymentId),
          'text',
        )}) AND p.pricing ->> 'status' = 'earned'
          AND NOT EXISTS (SELECT 1 FROM ledger_transactions t WHERE t.idempotency_key = 'commission:' || p.id)
          AND coalesce((p.pricing -> 'earned' ->> 'cash')::int, 0) + coalesce((p.pricing -> 'earned' ->> 'credits')::int, 0) > 0`);
      if (n > 0) throw new Error(`${n} commissions not posted`);
    },
    timeout,
  );

  say('reading the ledger');
  const groups: GroupResult[] = [];
  for (const p of plans) {
    const ids = p.edges.map((e) => e.edgeId);
    const rows = await d.db.any(sql.type(
      z.object({
        id: z.string(),
        held: z.boolean(),
        voided: z.boolean(),
        blocked: z.boolean(),
        scored: z.boolean(),
        rules: z.string().nullable(),
        reasons: z.string().nullable(),
      }),
    )`
      SELECT e.id::text AS id,
             EXISTS (SELECT 1 FROM edge_verdicts v WHERE v.edge_id = e.id AND v.verdict = 'hold') AS held,
             e.voided_at IS NOT NULL AS voided,
             EXISTS (SELECT 1 FROM fraud_rule_verdicts f WHERE f.edge_id = e.id AND f.decision = 'block') AS blocked,
             EXISTS (SELECT 1 FROM fraud_rule_verdicts f WHERE f.edge_id = e.id AND f.decision = 'score') AS scored,
             (SELECT coalesce(v.rule, v.decided_by) FROM edge_verdicts v WHERE v.edge_id = e.id AND v.verdict IN ('hold', 'void') ORDER BY v.created_at, v.id LIMIT 1) AS rules,
             (SELECT string_agg(v.reason, '; ') FROM edge_verdicts v WHERE v.edge_id = e.id AND v.verdict IN ('hold', 'void')) AS reasons
      FROM edges e WHERE e.id = ANY(${sql.array(ids, 'uuid')})`);
    const decisions: Record<Decision, number> = { allow: 0, score: 0, hold: 0, block: 0 };
    const heldBy: Record<string, number> = {};
    const honestHeld: string[] = [];
    for (const r of rows) {
      const decision: Decision = r.blocked ? 'block' : r.held ? 'hold' : r.scored ? 'score' : 'allow';
      decisions[decision] += 1;
      if (decision === 'hold' || decision === 'block') {
        const rule = r.rules ?? 'reviewer';
        heldBy[rule] = (heldBy[rule] ?? 0) + 1;
        if (p.kind === 'honest') honestHeld.push(`${r.id} ${rule}: ${r.reasons ?? ''}`);
      }
    }
    let cashCents = 0;
    let credits = 0;
    const referrers = [...new Map(p.referrers.map((r) => [r.id, r])).values()];
    for (const tenantId of new Set(referrers.map((r) => r.tenantId)))
      for (const stage of ['pending', 'payable', 'paid'] as const)
        cashCents += await balanceOf(d.db, partnerEarnings(tenantId, stage));
    for (const r of referrers) credits += await balanceOf(d.db, userCredits(r.id));
    // What they earned as referrers: a ring's members are referees too, and a referee's own grant at
    // signup through a link or an invite (theirs to build with; reversed by a void, kept through a
    // hold) is not what their referrals earned.
    credits -= await d.db.oneFirst(sql.type(z.object({ n: z.number() }))`
      SELECT coalesce(sum(le.amount), 0)::int AS n FROM ledger_entries le
      JOIN ledger_accounts a ON a.id = le.account_id
      JOIN ledger_transactions t ON t.id = le.transaction_id
      WHERE a.owner_type = 'user' AND a.purpose = 'credits' AND a.owner_id = ANY(${sql.array(
        referrers.map((r) => r.id),
        'text',
      )})
        AND (t.kind IN ('invite_credits', 'link_invitee_credits')
             OR (t.kind = 'invite_credits_reversal' AND (t.metadata ->> 'grantKey' LIKE 'link-invitee:%' OR t.metadata ->> 'grantKey' LIKE 'redemption:%')))`);
    const creditsTakenBack = await d.db.oneFirst(sql.type(z.object({ n: z.number() }))`
      SELECT coalesce(sum(-le.amount), 0)::int AS n FROM ledger_entries le
      JOIN ledger_accounts a ON a.id = le.account_id
      WHERE a.owner_type = 'user' AND a.purpose = 'credits' AND a.owner_id = ANY(${sql.array(
        referrers.map((r) => r.id),
        'text',
      )}) AND le.amount < 0`);
    groups.push({
      group: p.group,
      kind: p.kind,
      edges: p.edges.length,
      refused: p.refused,
      decisions,
      heldBy,
      honestHeld,
      cashCents,
      credits,
      creditsTakenBack,
      expected: p.kind === 'honest' ? expectedEarnings(p) : null,
    });
  }
  return { groups, ring: ringOutcome, users, edges: edges.length, payments: payments.length };
}

/**
 * What the commission rules pay a group none of whose edges is held: each referrer's milestone
 * credits for their vested beta referrals, 10% (the beta tier) of each referee's first payment
 * after the flip; a partner's edges, its cash and credit rates on each payment.
 */
function expectedEarnings(p: Planned): { cashCents: number; credits: number } {
  let cashCents = 0;
  let credits = 0;
  const perReferrer = new Map<string, number>();
  for (const e of p.edges) {
    if (!e.card) continue;
    if (p.partnerRates) {
      cashCents += applyBps(AMOUNT_CENTS, p.partnerRates.salesBps);
      credits += applyBps(AMOUNT_CENTS, p.partnerRates.creditBps);
    } else cashCents += applyBps(AMOUNT_CENTS, BETA_AUTO_TERMS.salesBps);
  }
  if (!p.partnerRates) for (const r of p.referrers) perReferrer.set(r.id, p.edges.length / p.referrers.length);
  for (const vested of perReferrer.values())
    credits += rungsReached(vested).reduce((sum, rung) => sum + creditsOf(rung), 0);
  return { cashCents, credits };
}

/** The table, the claim and whether it holds. */
export function report(result: PopulationResult): { lines: string[]; ok: boolean; failures: string[] } {
  const failures: string[] = [];
  const lines = [
    `${fmt(result.users)} users, ${fmt(result.edges)} edges, ${fmt(result.payments)} payments; ring scan: ${result.ring.components} components, ${result.ring.rings} rings, ${result.ring.held} edges held`,
    `${'group'.padEnd(46)} ${'edges'.padStart(5)} refused  allow score  hold block   ${'cash $'.padStart(8)} ${'credits'.padStart(8)}  expected ($ / credits)   taken back  held or blocked by`,
  ];
  for (const g of result.groups) {
    const d = g.decisions;
    const expected = g.expected ? `${(g.expected.cashCents / 100).toFixed(2)} / ${g.expected.credits}` : '0.00 / 0';
    lines.push(
      `${`${g.kind} ${g.group}`.padEnd(46)} ${String(g.edges).padStart(5)} ${String(g.refused).padStart(7)}  ${String(d.allow).padStart(5)} ${String(d.score).padStart(5)} ${String(d.hold).padStart(5)} ${String(d.block).padStart(5)}   ${(g.cashCents / 100).toFixed(2).padStart(8)} ${String(g.credits).padStart(8)}  ${expected.padEnd(22)}  ${String(g.creditsTakenBack).padStart(10)}  ${Object.entries(
        g.heldBy,
      )
        .map(([rule, n]) => `${rule} ${n}`)
        .join(', ')}`,
    );
    if (g.kind === 'fraud' && (g.cashCents !== 0 || g.credits !== 0))
      failures.push(`fraud group "${g.group}" earned $${(g.cashCents / 100).toFixed(2)} and ${g.credits} credits`);
    if (g.kind === 'honest' && g.honestHeld.length === 0 && g.expected)
      if (g.cashCents !== g.expected.cashCents || g.credits !== g.expected.credits)
        failures.push(
          `honest group "${g.group}" earned $${(g.cashCents / 100).toFixed(2)} / ${g.credits} credits, the rules say $${(g.expected.cashCents / 100).toFixed(2)} / ${g.expected.credits}`,
        );
  }
  const honestHeld = result.groups.flatMap((g) => g.honestHeld.map((h) => `${g.group}: ${h}`));
  const fraudEarned = result.groups.filter((g) => g.kind === 'fraud' && (g.cashCents !== 0 || g.credits !== 0));
  lines.push(
    `claim: fraud groups earn $0 and 0 credits: ${fraudEarned.length === 0 ? 'holds' : `FAILS (${fraudEarned.map((g) => g.group).join(', ')})`}`,
    `       honest edges held or blocked: ${honestHeld.length}${honestHeld.length ? '' : ' (none)'}`,
    ...honestHeld.map((h) => `         ${h}`),
  );
  return { lines, ok: failures.length === 0, failures };
}

// ---- the bench: the system as its own processes ---------------------------------------------------

const ADMIN_KEY = 'admin_bench_key_0123456789';
const SERVER_KEY = 'server_bench_key_0123456789';

export async function run({ databaseUrl, temporalAddress, args }: BenchStack): Promise<void> {
  const size = flag(args, 'size', 3);
  const taskQueue = 'bench-population';
  const port = await freePort();
  const env = systemEnv(databaseUrl, temporalAddress, {
    PORT: String(port),
    TEMPORAL_TASK_QUEUE: taskQueue,
    API_KEYS: `admin:${ADMIN_KEY},server:${SERVER_KEY}`,
    RATE_LIMIT_PER_MINUTE: '100000000', // one load generator: the per-IP limit is not what is shown
    TRUST_PROXY: 'loopback',
  });
  const api = start('api/server.ts', env);
  const relays = start('workers/relays.ts', env);
  const worker = start('workers/main.ts', env);
  const base = `http://127.0.0.1:${port}`;
  const db = await createDatabasePool(databaseUrl, 4);
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection });
  const t0 = performance.now();
  const say = (what: string) => console.log(`[${fmt((performance.now() - t0) / 1000, 1)} s] ${what}`);
  try {
    await waitFor(
      'the API',
      async () => {
        if ((await fetch(`${base}/readyz`)).status !== 200) throw new Error('not up');
      },
      120_000,
    );
    let scans = 0;
    const result = await runPopulation(
      {
        db,
        say,
        async request(path, init = {}) {
          const res = await fetch(`${base}${path}`, {
            method: init.method ?? (init.json === undefined ? 'GET' : 'POST'),
            headers: {
              ...(init.json === undefined ? {} : { 'content-type': 'application/json' }),
              ...(init.key ? { authorization: `Bearer ${init.key === 'admin' ? ADMIN_KEY : SERVER_KEY}` } : {}),
              ...(init.ip ? { 'x-forwarded-for': init.ip } : {}),
            },
            ...(init.json === undefined ? {} : { body: JSON.stringify(init.json) }),
          });
          const text = await res.text();
          return { status: res.status, body: text ? JSON.parse(text) : undefined };
        },
        // The deployment's worker process runs it, as its Schedule would (an id of its own).
        async scanRings() {
          const s = fraudRingScanStart(taskQueue, { everyMinutes: 60 });
          return client.workflow.execute(s.workflowType, {
            workflowId: `${s.workflowId}-population-${++scans}`,
            taskQueue,
            args: s.args,
            staticSummary: s.summary,
          });
        },
      },
      size,
    );
    say('done');
    const { lines, ok, failures } = report(result);
    console.log(`\nfraud population, size ${size}, through the API, relays and worker processes\n${lines.join('\n')}`);
    if (!ok) {
      throw new Error(`the claim fails:\n${failures.join('\n')}`);
    }
  } finally {
    await Promise.all([stop(api), stop(worker), stop(relays)]);
    await connection.close();
    await db.end();
  }
}
