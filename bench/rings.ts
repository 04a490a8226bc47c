// `npm run bench -- rings [--count 100000] [--seed 1]`: the fraud ring scan over `count` users with
// their sightings and edges, written in bulk: households (some sharing a tablet or a family card),
// offices behind one address, loners, carrier NAT addresses shared by strangers, a placeholder
// device id from a buggy client, and rings (accounts on one phone, chains paying with each other's
// cards, two phones referring across). Prints:
//   - the bare limit: a sequential scan (count) of the tables the scan reads, and a raw read of all
//     their rows into this process;
//   - the scan through its workflow and worker (in this process), end to end and by phase (read,
//     components and scoring, recording), and a second scan over the same graph (writes nothing);
//   - what it found: components, rings, edges held, against what the generator knows: ring edges
//     held, honest edges held (and why).
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, makeTelemetryFilterString, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import pg from 'pg';
import { createDatabasePool } from '../db/pool.ts';
import { createActivities } from '../activities/index.ts';
import { fraudRingScanStart, type RingScanOutcome } from '../contracts/fraud-ring-scan.ts';
import { workerOptions } from '../workers/worker-options.ts';
import type { BenchStack } from './run.ts';
import { flag, fmt } from './_measure.ts';

const BATCH = 20_000;

/** A small seeded generator: the same population for the same seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Kind = 'device' | 'ip' | 'network' | 'card';
type Place = 'loner' | 'household' | 'office' | 'ring';

export async function run({ databaseUrl, temporalAddress, args }: BenchStack): Promise<void> {
  const count = flag(args, 'count', 100_000);
  const rnd = mulberry32(flag(args, 'seed', 1));
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const between = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const say = (line: string) => console.error(`[rings] ${line}`);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });

  // ---- the population ----------------------------------------------------------------------------
  const ids = Array.from({ length: count }, () => randomUUID());
  const place: Place[] = new Array(count);
  const ringOf = new Int32Array(count).fill(-1);
  const cardRings = new Set<number>();
  const sightings = { user: [] as string[], kind: [] as Kind[], value: [] as string[], source: [] as string[] };
  const see = (i: number, kind: Kind, value: string, source = 'signup') => {
    sightings.user.push(ids[i]!);
    sightings.kind.push(kind);
    sightings.value.push(value);
    sightings.source.push(source);
  };
  const edges = { referrer: [] as number[], referee: [] as number[] };
  const refer = (r: number, e: number) => {
    edges.referrer.push(r);
    edges.referee.push(e);
  };
  const network = () => `AS${between(1, 40)}`;
  // A buggy client's placeholder device id: 0.3% of accounts, at least 250 (more than a person has).
  const placeholderShare = Math.max(0.003, 250 / count);
  const ringStyles = { phone: 0, cards: 0, twoPhones: 0 };
  let rings = 0;
  let households = 0;
  let offices = 0;

  for (let i = 0; i < count;) {
    const draw = rnd();
    const kind: Place = draw < 0.004 ? 'office' : draw < 0.354 ? 'household' : draw < 0.358 ? 'ring' : 'loner';
    const size = Math.min(
      count - i,
      kind === 'office'
        ? between(50, 300)
        : kind === 'household'
          ? pick([2, 2, 2, 2, 2, 3, 3, 3, 4, 5])
          : kind === 'ring'
            ? between(4, 12)
            : 1,
    );
    const g = i;
    const members = Array.from({ length: size }, (_, k) => i + k);
    const ip = `198.51.${Math.floor(g / 250) % 256}.${g % 250}`;
    const net = network();
    const tablet = kind === 'household' && rnd() < 0.15;
    const familyCard = kind === 'household' && rnd() < 0.25;
    const style = kind === 'ring' ? pick(['phone', 'cards', 'twoPhones'] as const) : null;
    if (kind === 'household') households++;
    if (kind === 'office') offices++;
    if (style === 'cards') cardRings.add(g);
    if (style) {
      rings++;
      ringStyles[style]++;
    }
    for (const [k, m] of members.entries()) {
      place[m] = kind;
      if (kind === 'ring') ringOf[m] = g;
      see(m, 'device', `dev-${m}`);
      if (tablet) see(m, 'device', `tablet-${g}`, 'activation');
      if (rnd() < placeholderShare) see(m, 'device', '00000000-0000-0000-0000-000000000000', 'activation');
      see(m, 'ip', kind === 'loner' || kind === 'ring' ? `203.0.${Math.floor(m / 250) % 256}.${m % 250}` : ip);
      see(m, 'network', kind === 'loner' || kind === 'ring' ? network() : net);
      // Half come back from a phone on a carrier's NAT: an address strangers share.
      if (rnd() < 0.5) see(m, 'ip', `100.64.${between(0, 19)}.${between(0, 249)}`, 'activation');
      if (style === 'phone') see(m, 'device', `ring-phone-${g}`, 'activation');
      if (style === 'twoPhones') see(m, 'device', `ring-phone-${g}-${k % 2}`, 'activation');
      if (style === 'cards' && k > 0) see(m, 'card', `ring-card-${g}-${k}`, 'payment:a');
      if (style === 'cards' && k < size - 1) see(m, 'card', `ring-card-${g}-${k + 1}`, 'payment:b');
      if (!style && rnd() < 0.4) see(m, 'card', familyCard ? `family-card-${g}` : `card-${m}`, 'payment:1');
    }
    // Referrals inside the group: rings refer each other (a chain, or across two phones); some
    // households and offices bring each other in; the group's first comes from outside.
    for (const [k, m] of members.entries()) {
      if (k === 0) continue;
      if (style) refer(style === 'cards' || style === 'twoPhones' ? m - 1 : g + (rnd() < 0.5 ? 0 : k - 1), m);
      else if (kind === 'household' && rnd() < 0.35) refer(g, m);
      else if (kind === 'office' && rnd() < 0.1) refer(between(g, m - 1), m);
    }
    i += size;
  }
  // Everyone not referred inside their group: 55% referred by an earlier user, half of them by one
  // of the first 1% (the graph's influencers).
  const referred = new Uint8Array(count);
  for (const e of edges.referee) referred[e] = 1;
  for (let m = 1; m < count; m++) {
    if (referred[m] || rnd() >= 0.55) continue;
    const r = rnd() < 0.5 ? Math.floor(rnd() * Math.min(m, Math.max(1, count / 100))) : Math.floor(rnd() * m);
    refer(r, m);
  }
  const edgeIds = edges.referee.map(() => randomUUID());
  // Rings activate every account (credits for each) and pay only with each other's cards.
  const vested = edges.referee.map((e) => place[e] === 'ring' || rnd() < 0.6);
  const paid = edges.referee.map((e, k) =>
    place[e] === 'ring' ? cardRings.has(ringOf[e]!) : vested[k]! && rnd() < 0.45,
  );
  const voided = edges.referee.map((e) => place[e] !== 'ring' && rnd() < 0.02);

  // ---- written in bulk ---------------------------------------------------------------------------
  const t0 = performance.now();
  for (let from = 0; from < count; from += BATCH) {
    const batch = ids.slice(from, from + BATCH);
    await pool.query(
      `WITH t AS (INSERT INTO tenants (id, name, owner_user_id) SELECT id, 'bench-rings', id FROM unnest($1::uuid[]) AS id)
       INSERT INTO users (id, tenant_id, email, inbox, referral_code)
       SELECT id, id, id || '@rings.bench', id || '@rings.bench', 'g' || substr(md5(id::text), 1, 12) FROM unnest($1::uuid[]) AS id`,
      [batch],
    );
  }
  for (let from = 0; from < sightings.user.length; from += BATCH) {
    const to = from + BATCH;
    await pool.query(
      `INSERT INTO fraud_sightings (user_id, kind, value, source)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) ON CONFLICT DO NOTHING`,
      [
        sightings.user.slice(from, to),
        sightings.kind.slice(from, to),
        sightings.value.slice(from, to),
        sightings.source.slice(from, to),
      ],
    );
  }
  for (let from = 0; from < edgeIds.length; from += BATCH) {
    const to = from + BATCH;
    const range = edgeIds.slice(from, to).map((_, k) => from + k);
    await pool.query(
      `INSERT INTO edges (id, referrer_id, referee_id, source, kind, phase_at_write, activation_window_days, vested_at, voided_at)
       SELECT id, r, e, 'link', 'beta_auto', 'beta', 30, CASE WHEN v THEN now() END, CASE WHEN x THEN now() END
       FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::boolean[], $5::boolean[]) AS t(id, r, e, v, x)`,
      [
        range.map((k) => edgeIds[k]),
        range.map((k) => ids[edges.referrer[k]!]),
        range.map((k) => ids[edges.referee[k]!]),
        range.map((k) => vested[k]),
        range.map((k) => voided[k]),
      ],
    );
    const payments = range.filter((k) => paid[k]);
    await pool.query(
      `INSERT INTO payments (id, user_id, amount_cents, currency, paid_at, edge_id)
       SELECT 'bench-' || e::text, u, 2000, 'USD', now(), e FROM unnest($1::uuid[], $2::uuid[]) AS t(e, u)`,
      [payments.map((k) => edgeIds[k]), payments.map((k) => ids[edges.referee[k]!])],
    );
  }
  await pool.query('VACUUM ANALYZE');
  const counts = (
    await pool.query(
      `SELECT (SELECT count(*) FROM fraud_sightings)::int AS sightings, (SELECT count(*) FROM edges)::int AS edges,
              (SELECT count(*) FROM payments)::int AS payments`,
    )
  ).rows[0] as { sightings: number; edges: number; payments: number };
  say(`written in ${fmt((performance.now() - t0) / 1000, 1)} s`);

  // ---- the bare limit ----------------------------------------------------------------------------
  const timed = async (f: () => Promise<unknown>) => {
    const t = performance.now();
    await f();
    return (performance.now() - t) / 1000;
  };
  const seqScan = await timed(() =>
    pool.query(
      `SELECT (SELECT count(*) FROM fraud_sightings), (SELECT count(*) FROM edges), (SELECT count(*) FROM payments)`,
    ),
  );
  const rawRead = await timed(async () => {
    await pool.query('SELECT user_id, kind, value FROM fraud_sightings');
    await pool.query('SELECT id, referrer_id, referee_id, vested_at, voided_at, expired_at, completed_at FROM edges');
    await pool.query('SELECT edge_id FROM payments');
  });

  // ---- the scan, through its workflow ------------------------------------------------------------
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
  });
  const db = await createDatabasePool(databaseUrl, 8);
  const taskQueue = 'bench-rings';
  const nativeConnection = await NativeConnection.connect({ address: temporalAddress });
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection });
  say('bundling the workflows');
  const worker = await Worker.create({
    ...workerOptions(),
    connection: nativeConnection,
    taskQueue,
    activities: createActivities({ db }),
  });
  const scan = async (n: number): Promise<{ seconds: number; outcome: RingScanOutcome }> => {
    const start = fraudRingScanStart(taskQueue, { everyMinutes: 60 });
    const t = performance.now();
    const outcome: RingScanOutcome = await client.workflow.execute(start.workflowType, {
      workflowId: `${start.workflowId}-bench-${n}`,
      taskQueue,
      args: start.args,
      staticSummary: start.summary,
    });
    return { seconds: (performance.now() - t) / 1000, outcome };
  };
  const [first, second] = await worker.runUntil(async () => {
    say('scanning');
    const a = await scan(1);
    say('scanning again');
    return [a, await scan(2)] as const;
  });

  // ---- against the truth -------------------------------------------------------------------------
  const edgeIndex = new Map<string, number>(edgeIds.map((id, k) => [id, k]));
  const held = (
    await pool.query<{ edge_id: string }>(`SELECT edge_id::text FROM edge_verdicts WHERE decided_by = 'rule:ring'`)
  ).rows.map((r) => edgeIndex.get(r.edge_id)!);
  const inRing = (k: number) =>
    ringOf[edges.referrer[k]!]! >= 0 && ringOf[edges.referrer[k]!] === ringOf[edges.referee[k]!];
  const ringEdges = edges.referee.map((_, k) => k).filter((k) => inRing(k));
  const heldSet = new Set(held);
  const honestHeld = held.filter((k) => !inRing(k));
  const why = { ringMemberReferrer: 0, ringMemberReferee: 0, household: 0, other: 0 };
  for (const k of honestHeld) {
    if (ringOf[edges.referrer[k]!]! >= 0) why.ringMemberReferrer++;
    else if (ringOf[edges.referee[k]!]! >= 0) why.ringMemberReferee++;
    else if (place[edges.referee[k]!] === 'household') why.household++;
    else why.other++;
  }
  await connection.close();
  await nativeConnection.close();
  await db.end();
  await pool.end();

  const o = first.outcome;
  console.log(
    `\nfraud ring scan over ${fmt(count)} users: ${fmt(counts.sightings)} sightings, ${fmt(counts.edges)} edges, ${fmt(counts.payments)} payments`,
  );
  console.log(
    `  population             ${fmt(households)} households, ${fmt(offices)} offices, ${fmt(rings)} rings (${ringStyles.phone} on one phone, ${ringStyles.cards} card chains, ${ringStyles.twoPhones} across two phones)`,
  );
  console.log(
    `  bare limit             ${fmt(seqScan, 2)} s sequential scan (count) of sightings, edges, payments; ${fmt(rawRead, 2)} s raw read of all their rows`,
  );
  console.log(
    `  scan (workflow)        ${fmt(first.seconds, 2)} s end to end: read ${fmt(o.readMs / 1000, 2)} s, components and scoring ${fmt(o.findMs / 1000, 2)} s, recording ${fmt(o.recordMs / 1000, 2)} s  (target <= 60 s; ${fmt(first.seconds / rawRead, 1)}x the raw read)`,
  );
  console.log(
    `  found                  ${fmt(o.components)} components, ${fmt(o.rings)} rings, ${fmt(o.ringEdges)} ring edges; ${fmt(o.held)} held, ${fmt(o.alreadyHeldOrVoided)} left alone, ${fmt(o.verdictsRecorded)} rule verdicts, ${o.ignoredValues} placeholder values ignored`,
  );
  console.log(
    `  against the truth      ${fmt(ringEdges.filter((k) => heldSet.has(k)).length)} of ${fmt(ringEdges.length)} ring edges held; ${fmt(honestHeld.length)} other edges held (${why.ringMemberReferrer} referred by a ring member, ${why.ringMemberReferee} bringing one in, ${why.household} in households, ${why.other} other)`,
  );
  console.log(
    `  scan again             ${fmt(second.seconds, 2)} s: ${second.outcome.held} held, ${second.outcome.verdictsRecorded} rule verdicts written, ${fmt(second.outcome.alreadyHeldOrVoided)} left alone`,
  );
}
