import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  DEFAULT_RING_SETTINGS,
  findRings,
  type RingEdge,
  type RingGraph,
  type RingSighting,
  type SignalKind,
} from '../../domain/fraud/rings.ts';

const see = (accountId: string, kind: SignalKind, value: string): RingSighting => ({ accountId, kind, value });
const edge = (referrerId: string, refereeId: string, e: Partial<RingEdge> = {}): RingEdge => ({
  id: `e-${refereeId}`,
  referrerId,
  refereeId,
  vested: true,
  paid: false,
  earning: true,
  ...e,
});
const held = (graph: RingGraph) =>
  findRings(graph)
    .verdicts.filter((v) => v.verdict.decision === 'hold')
    .map((v) => v.edgeId);
const accounts = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
/** Everyone seen with their own device, and the given address and network. */
const ownDevices = (ids: string[], ip: string, network: string) =>
  ids.flatMap((id) => [see(id, 'device', `dev-${id}`), see(id, 'ip', ip), see(id, 'network', network)]);

describe('rings', () => {
  it('holds every earning referral of five accounts on one device referring each other', () => {
    const ring = accounts('r', 5);
    const graph: RingGraph = {
      sightings: ring.flatMap((id) => [see(id, 'device', 'phone-1'), see(id, 'ip', '203.0.113.9')]),
      edges: [edge('r0', 'r1'), edge('r1', 'r2'), edge('r2', 'r3'), edge('r0', 'r4', { paid: true })],
    };
    const scan = findRings(graph);
    expect(scan.components).toHaveLength(1);
    const [c] = scan.components;
    expect(c).toMatchObject({
      key: 'r0.5',
      accounts: 5,
      referrals: 4,
      selfReferrals: 4,
      sharingAccounts: 5,
      largestGroup: 5,
      vestedUnpaid: 3,
      ring: true,
      sharedValues: [{ kind: 'device', value: 'phone-1', accounts: 5 }],
    });
    // 4 self-referrals x 20 + 5 sharing accounts x 5 + 3/4 of 50 for the unpaid ones
    expect(c!.score).toBe(80 + 25 + 38);
    expect(scan.verdicts.map((v) => [v.edgeId, v.verdict.decision])).toEqual([
      ['e-r1', 'hold'],
      ['e-r2', 'hold'],
      ['e-r3', 'hold'],
      ['e-r4', 'hold'],
    ]);
    const [v] = scan.verdicts;
    expect(v!.verdict).toMatchObject({ rule: 'ring', score: 143 });
    expect(v!.verdict.reason).toBe(
      'ring: 5 accounts, 5 sharing devices or cards, 4 of 4 referrals between them (score 143)',
    );
    expect(v!.verdict.evidence).toMatchObject({ component: 'r0.5', members: ring, holdScore: 100 });
  });

  it('a family of four behind one IP with one referral is no ring, nor anything the scan records', () => {
    const family = accounts('f', 4);
    const scan = findRings({
      sightings: ownDevices(family, '198.51.100.7', 'AS7922'),
      edges: [edge('f0', 'f1')],
    });
    expect(scan.components).toEqual([]);
    expect(scan.verdicts).toEqual([]);
  });

  it('an office of 200 on one IP and network with 20 referrals among them holds nothing', () => {
    const office = accounts('o', 200);
    const scan = findRings({
      sightings: ownDevices(office, '192.0.2.10', 'AS3320'),
      edges: Array.from({ length: 20 }, (_, i) => edge(`o${i}`, `o${100 + i}`)),
    });
    expect(scan.verdicts).toEqual([]);
  });

  it('holds a chain of referrals where each referrer paid with the card of the one they referred', () => {
    const chain = accounts('c', 5);
    const sightings = chain.flatMap((id, i) => [
      see(id, 'device', `dev-${id}`),
      ...(i > 0 ? [see(id, 'card', `card-${i}`)] : []),
      ...(i < chain.length - 1 ? [see(id, 'card', `card-${i + 1}`)] : []),
    ]);
    const edges = chain.slice(1).map((id, i) => edge(chain[i]!, id, { vested: true, paid: true }));
    expect(held({ sightings, edges })).toEqual(['e-c1', 'e-c2', 'e-c3', 'e-c4']);
  });

  it('a parent who referred two children paying with the family card is scored, never held', () => {
    const family = accounts('p', 3);
    const scan = findRings({
      sightings: family.flatMap((id) => [see(id, 'card', 'visa-family'), see(id, 'ip', '198.51.100.3')]),
      edges: [edge('p0', 'p1'), edge('p0', 'p2')],
    });
    expect(scan.verdicts.map((v) => v.verdict.decision)).toEqual(['score', 'score']);
    expect(scan.components[0]).toMatchObject({ selfReferrals: 2, ring: false });
  });

  it('three couples, each on its own card and referring one another once, are three components and no ring', () => {
    const sightings = ['a', 'b', 'c'].flatMap((c) => [
      see(`${c}1`, 'card', `card-${c}`),
      see(`${c}2`, 'card', `card-${c}`),
    ]);
    const edges = [...['a', 'b', 'c'].map((c) => edge(`${c}1`, `${c}2`)), edge('a1', 'b1'), edge('b2', 'c1')];
    const scan = findRings({ sightings, edges });
    expect(scan.components.map((c) => [c.accounts, c.selfReferrals, c.ring])).toEqual([
      [2, 1, false],
      [2, 1, false],
      [2, 1, false],
    ]);
    expect(held({ sightings, edges })).toEqual([]);
  });

  it('joins two groups once two referrals run between them', () => {
    const sightings = ['a', 'b'].flatMap((f) => [1, 2, 3].map((m) => see(`${f}${m}`, 'device', `tablet-${f}`)));
    const once = [edge('a1', 'a2'), edge('b1', 'b2'), edge('a1', 'b3')];
    expect(findRings({ sightings, edges: once }).components.map((c) => c.accounts)).toEqual([3, 3]);
    const twice = [...once, edge('b1', 'a3')];
    expect(findRings({ sightings, edges: twice }).components).toMatchObject([
      { accounts: 6, selfReferrals: 2, crossReferrals: 2, largestGroup: 3 },
    ]);
  });

  it('an influencer who referred members of many families sharing a tablet is in none of their components', () => {
    const sightings = ['a', 'b', 'c', 'd'].flatMap((f) =>
      [1, 2, 3, 4].map((m) => see(`${f}${m}`, 'device', `tablet-${f}`)),
    );
    const edges = ['a', 'b', 'c', 'd'].flatMap((f) => [1, 2, 3, 4].map((m) => edge('influencer', `${f}${m}`)));
    const scan = findRings({ sightings, edges });
    expect(scan.components).toEqual([]);
    expect(scan.verdicts).toEqual([]);
  });

  it('holds two devices of three accounts each referring across', () => {
    const sightings = [
      ...['a1', 'a2', 'a3'].map((id) => see(id, 'device', 'tablet-a')),
      ...['b1', 'b2', 'b3'].map((id) => see(id, 'device', 'tablet-b')),
    ];
    const edges = [edge('a1', 'b1'), edge('b1', 'a2'), edge('a2', 'b2'), edge('b2', 'a3'), edge('a3', 'b3')];
    const scan = findRings({ sightings, edges });
    expect(scan.components[0]).toMatchObject({ crossReferrals: 5, selfReferrals: 0, largestGroup: 3, ring: true });
    expect(held({ sightings, edges })).toHaveLength(5);
  });

  it('ignores a device id seen on more accounts than a person has (a placeholder)', () => {
    const many = accounts('m', 201);
    const sightings = many.map((id) => see(id, 'device', 'unknown'));
    const edges = many.slice(1, 50).map((id, i) => edge(many[i]!, id));
    const scan = findRings({ sightings, edges });
    expect(scan.ignoredValues).toBe(1);
    expect(scan.verdicts).toEqual([]);
  });

  it("gives no verdict to an edge that no longer earns; holds a ring member's referral from the ring's address, not one from elsewhere", () => {
    const ring = accounts('r', 5);
    const sightings = [
      ...ring.flatMap((id) => [see(id, 'device', 'phone-1'), see(id, 'ip', '203.0.113.5')]),
      see('fresh', 'device', 'fresh-phone'),
      see('fresh', 'ip', '203.0.113.5'),
      see('honest', 'device', 'own-phone'),
      see('honest', 'ip', '192.0.2.77'),
    ];
    const edges = [
      edge('r0', 'r1'),
      edge('r1', 'r2'),
      edge('r2', 'r3'),
      edge('r3', 'r4', { earning: false }),
      edge('r4', 'fresh'), // the ring's own address, a fresh phone: one of theirs
      edge('r4', 'honest', { paid: true }),
      edge('fresh', 'friend', { paid: true }),
    ];
    expect(held({ sightings, edges })).toEqual(['e-fresh', 'e-r1', 'e-r2', 'e-r3']);
    expect(findRings({ sightings, edges }).components[0]).toMatchObject({ accounts: 6, weakReferrals: 1 });
  });

  it("keeps a ring's key when an honest referee joins it, and changes it when an account on its devices joins", () => {
    const ring = accounts('r', 5);
    const sightings = ring.map((id) => see(id, 'device', 'phone-1'));
    const edges = ring.slice(1).map((id, i) => edge(ring[i]!, id));
    const key = (g: RingGraph) => findRings(g).components.map((c) => c.key);
    expect(key({ sightings, edges })).toEqual(['r0.5']);
    expect(key({ sightings, edges: [...edges, edge('r4', 'outsider')] })).toEqual(['r0.5']);
    expect(
      key({ sightings: [...sightings, see('r5', 'device', 'phone-1')], edges: [...edges, edge('r4', 'r5')] }),
    ).toEqual(['r0.6']);
  });

  it("lists at most the evidence's cap of members, those sharing a device or card first", () => {
    const ring = accounts('r', 40);
    const sightings = ring.slice(0, 30).map((id) => see(id, 'device', 'phone-1'));
    const edges = ring.slice(1).map((id, i) => edge(ring[i]!, id));
    const [v] = findRings({ sightings, edges }, { ...DEFAULT_RING_SETTINGS, evidenceMembers: 3 }).verdicts;
    // r29 -> r30 and on are ordinary referrals (r30 and on share nothing)
    expect(v!.verdict.evidence).toMatchObject({ accounts: 30, members: ['r0', 'r1', 'r10'], membersListed: 3 });
  });
});

// ---- properties ---------------------------------------------------------------------------------

const KINDS: SignalKind[] = ['device', 'card', 'ip', 'network'];
/** Small graphs over a0..a(n-1): sightings from a few values per kind, each account referred at most once by an earlier one. */
const graphs = fc.integer({ min: 1, max: 14 }).chain((n) =>
  fc.record({
    sightings: fc.array(
      fc.record({
        accountId: fc.integer({ min: 0, max: n - 1 }).map((i) => `a${i}`),
        kind: fc.constantFrom(...KINDS),
        value: fc.integer({ min: 0, max: 3 }).map((v) => `v${v}`),
      }),
      { maxLength: 3 * n },
    ),
    edges: fc
      .array(
        fc.option(fc.record({ referrer: fc.nat(), vested: fc.boolean(), paid: fc.boolean(), earning: fc.boolean() })),
        {
          minLength: n,
          maxLength: n,
        },
      )
      .map((rows) =>
        rows.flatMap((row, i) =>
          row && i > 0
            ? [
                {
                  id: `e${i}`,
                  referrerId: `a${row.referrer % i}`,
                  refereeId: `a${i}`,
                  vested: row.vested,
                  paid: row.paid,
                  earning: row.earning,
                },
              ]
            : [],
        ),
      ),
  }),
);

/** Components as a breadth-first search finds them, for comparison: sorted member lists. */
function naiveComponents(g: RingGraph, maxAccountsPerValue: number): string[][] {
  const byValue = new Map<string, Set<string>>();
  for (const s of g.sightings)
    if (s.kind === 'device' || s.kind === 'card') {
      const k = `${s.kind}:${s.value}`;
      byValue.set(k, (byValue.get(k) ?? new Set()).add(s.accountId));
    }
  const links = new Map<string, Set<string>>();
  const link = (a: string, b: string) => {
    links.set(a, (links.get(a) ?? new Set()).add(b));
    links.set(b, (links.get(b) ?? new Set()).add(a));
  };
  for (const members of byValue.values())
    if (members.size >= 2 && members.size <= maxAccountsPerValue)
      for (const a of members) for (const b of members) if (a < b) link(a, b);
  const groups = naiveGroups(g, maxAccountsPerValue);
  const ips = (id: string) =>
    new Set(g.sightings.filter((s) => s.accountId === id && s.kind === 'ip').map((s) => s.value));
  const sameAddress = (a: string, b: string) => [...ips(a)].some((v) => ips(b).has(v));
  const between = new Map<string, number>();
  for (const e of g.edges) {
    const [r, f] = [groups.get(e.referrerId)?.id, groups.get(e.refereeId)?.id];
    if (r && f && r !== f) between.set([r, f].sort().join(' '), (between.get([r, f].sort().join(' ')) ?? 0) + 1);
  }
  for (const e of g.edges) {
    const [r, f] = [groups.get(e.referrerId)?.id, groups.get(e.refereeId)?.id];
    if (r && f && r !== f && between.get([r, f].sort().join(' '))! >= 2) link(e.referrerId, e.refereeId);
    if ((r === undefined) !== (f === undefined) && sameAddress(e.referrerId, e.refereeId))
      link(e.referrerId, e.refereeId);
  }
  const seen = new Set<string>();
  const out: string[][] = [];
  for (const start of links.keys()) {
    if (seen.has(start)) continue;
    const members: string[] = [];
    const queue = [start];
    seen.add(start);
    while (queue.length) {
      const a = queue.pop()!;
      members.push(a);
      for (const b of links.get(a) ?? []) if (!seen.has(b)) (seen.add(b), queue.push(b));
    }
    const set = new Set(members);
    if (g.edges.some((e) => set.has(e.referrerId) && set.has(e.refereeId))) out.push(members.sort());
  }
  return out.sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
}

/** Groups of accounts tied by shared devices or cards only (breadth-first), as account -> group id and size. */
function naiveGroups(g: RingGraph, maxAccountsPerValue: number): Map<string, { id: string; size: number }> {
  const strongOnly = { sightings: g.sightings, edges: [] };
  const out = new Map<string, { id: string; size: number }>();
  const byValue = new Map<string, Set<string>>();
  for (const s of strongOnly.sightings)
    if (s.kind === 'device' || s.kind === 'card') {
      const k = `${s.kind}:${s.value}`;
      byValue.set(k, (byValue.get(k) ?? new Set()).add(s.accountId));
    }
  const links = new Map<string, Set<string>>();
  for (const members of byValue.values())
    if (members.size >= 2 && members.size <= maxAccountsPerValue)
      for (const a of members) for (const b of members) if (a !== b) links.set(a, (links.get(a) ?? new Set()).add(b));
  for (const start of links.keys()) {
    if (out.has(start)) continue;
    const members = [start];
    const seen = new Set(members);
    for (let i = 0; i < members.length; i++)
      for (const b of links.get(members[i]!) ?? []) if (!seen.has(b)) (seen.add(b), members.push(b));
    for (const m of members) out.set(m, { id: start, size: members.length });
  }
  return out;
}

const everyMember = { ...DEFAULT_RING_SETTINGS, evidenceMembers: 1_000, maxAccountsPerValue: 4 };

describe('rings, for any graph', () => {
  it('finds the components a breadth-first search finds', () => {
    fc.assert(
      fc.property(graphs, (g) => {
        const found = findRings(g, everyMember).components.map((c) => [...c.members].sort());
        expect(found.sort((a, b) => (a[0]! < b[0]! ? -1 : 1))).toEqual(
          naiveComponents(g, everyMember.maxAccountsPerValue),
        );
      }),
    );
  });

  it('counts self and cross referrals, sharing accounts and the largest group as the groups are', () => {
    fc.assert(
      fc.property(graphs, (g) => {
        const groups = naiveGroups(g, everyMember.maxAccountsPerValue);
        for (const c of findRings(g, everyMember).components) {
          const members = new Set(c.members);
          const inside = g.edges.filter((e) => members.has(e.referrerId) && members.has(e.refereeId));
          const self = inside.filter((e) => groups.get(e.referrerId)?.id === (groups.get(e.refereeId)?.id ?? '-'));
          const cross = inside.filter((e) => groups.has(e.referrerId) && groups.has(e.refereeId) && !self.includes(e));
          expect([c.referrals, c.selfReferrals, c.crossReferrals]).toEqual([inside.length, self.length, cross.length]);
          expect(c.sharingAccounts).toBe(c.members.filter((m) => groups.has(m)).length);
          expect(c.largestGroup).toBe(Math.max(...c.members.map((m) => groups.get(m)?.size ?? 0)));
          expect(c.vestedUnpaid).toBe(inside.filter((e) => e.vested && !e.paid).length);
        }
      }),
    );
  });

  it('never holds, nor even joins, accounts that share only IP addresses and networks', () => {
    fc.assert(
      fc.property(graphs, (g) => {
        const weakOnly = { ...g, sightings: g.sightings.filter((s) => s.kind === 'ip' || s.kind === 'network') };
        const scan = findRings(weakOnly);
        expect(scan.components).toEqual([]);
        expect(scan.verdicts).toEqual([]);
      }),
    );
  });

  it('answers the same whatever the order of its input', () => {
    fc.assert(
      fc.property(graphs, fc.infiniteStream(fc.nat()), (g, draws) => {
        const shuffle = <T>(xs: readonly T[]) => {
          const out = [...xs];
          for (let i = out.length - 1; i > 0; i--) {
            const j = draws.next().value % (i + 1);
            [out[i], out[j]] = [out[j]!, out[i]!];
          }
          return out;
        };
        expect(findRings({ sightings: shuffle(g.sightings), edges: shuffle(g.edges) }, everyMember)).toEqual(
          findRings(g, everyMember),
        );
      }),
    );
  });

  it('holds exactly the earning edges inside components that pass both gates and the score', () => {
    const s = { ...DEFAULT_RING_SETTINGS, holdScore: 60, minLinkedReferrals: 2, minGroupAccounts: 2 };
    fc.assert(
      fc.property(graphs, (g) => {
        const scan = findRings(g, s);
        const byKey = new Map(scan.components.map((c) => [c.key, c]));
        for (const v of scan.verdicts) {
          const c = byKey.get(v.component)!;
          const passes =
            c.selfReferrals + c.crossReferrals >= s.minLinkedReferrals &&
            c.largestGroup >= s.minGroupAccounts &&
            c.score >= s.holdScore;
          expect(v.verdict.decision).toBe(passes ? 'hold' : 'score');
          expect(v.verdict.score).toBe(c.score);
        }
        const verdicted = new Set(scan.verdicts.map((v) => v.edgeId));
        const inside = new Set(
          scan.components.flatMap((c) =>
            g.edges.filter((e) => c.members.includes(e.referrerId) && c.members.includes(e.refereeId)).map((e) => e.id),
          ),
        );
        // evidenceMembers caps the lists: compare only when every member is listed
        if (scan.components.every((c) => c.members.length === c.accounts))
          expect([...verdicted].sort()).toEqual(
            g.edges
              .filter((e) => e.earning && inside.has(e.id))
              .map((e) => e.id)
              .sort(),
          );
      }),
    );
  });
});
