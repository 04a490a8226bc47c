// Rings over the graph: accounts tied together by shared devices and payment instruments (strong
// links) and by the referrals between such groups of accounts, found as connected components and
// scored per component. A shared IP address is weak: it joins a referral's two accounts only when one of them
// is tied to others by a device or card, and never makes a ring on its own (a household or an office
// behind one address is no ring); a shared network (a carrier's, an office's) joins nothing. Pure:
// the scan reads the graph (db/fraud-rings.ts) and records what this answers.
import type { FraudRule, FraudVerdict } from './rule.ts';

export const RING_RULE = 'ring';

export type SignalKind = 'device' | 'ip' | 'network' | 'card';
/** Who else used this device or this card is, most likely, the same person. */
export const STRONG_SIGNALS = ['device', 'card'] as const satisfies readonly SignalKind[];
/**
 * Who else came from this address may be a housemate, a colleague or a stranger behind the same carrier NAT: it joins
 * a referral to a ring only beside a strong tie. (Who else is on this network is too many to mean anything here.)
 */
export const WEAK_SIGNALS = ['ip'] as const satisfies readonly SignalKind[];
const isStrong = (kind: SignalKind) => kind === 'device' || kind === 'card';

export type RingSighting = { accountId: string; kind: SignalKind; value: string };
export type RingEdge = {
  id: string;
  referrerId: string;
  refereeId: string;
  /** The referee activated (the edge vested). */
  vested: boolean;
  /** At least one payment came through the edge. */
  paid: boolean;
  /** It can still earn: not voided, expired or completed. Only those get a verdict. */
  earning: boolean;
};
export type RingGraph = { sightings: readonly RingSighting[]; edges: readonly RingEdge[] };

export type RingSettings = {
  /** A component scoring this much or more, and passing both gates below, is a ring: its earning edges are held. */
  holdScore: number;
  /**
   * Gate: referrals between accounts tied by shared devices or cards (inside one such group, or between two). Each
   * account is referred once, so three need four accounts: a couple or a parent with two children on one card never
   * makes a ring.
   */
  minLinkedReferrals: number;
  /** Gate: accounts in the component's largest group tied by shared devices or cards (two couples are not a ring). */
  minGroupAccounts: number;
  /**
   * Referrals it takes between two groups tied by shared devices or cards to join them: households that share a
   * tablet and happen to refer one another once stay apart; two phones referring back and forth join.
   */
  minReferralsBetweenGroups: number;
  /** Points per referral inside one group of accounts tied by shared devices or cards (a self-referral). */
  selfReferralPoints: number;
  /** Points per referral between two such groups. */
  crossReferralPoints: number;
  /** Points per account that shares a device or card with another account of the component. */
  sharingAccountPoints: number;
  /** Points per other referral inside between accounts seen on one IP address, up to `weakPointsCap`. */
  weakReferralPoints: number;
  weakPointsCap: number;
  /**
   * Points for the share of the component's referrals that vested but never brought a payment (all of them: these):
   * accounts made to collect rewards, where a family's referrals buy.
   */
  unpaidPoints: number;
  /** A device or card seen on more accounts than this joins none of them: a placeholder id, not a person. */
  maxAccountsPerValue: number;
  /** How many member ids and shared values a verdict's evidence lists. */
  evidenceMembers: number;
  evidenceValues: number;
};

export const DEFAULT_RING_SETTINGS: Readonly<RingSettings> = {
  holdScore: 100,
  minLinkedReferrals: 3,
  minGroupAccounts: 3,
  minReferralsBetweenGroups: 2,
  selfReferralPoints: 20,
  crossReferralPoints: 15,
  sharingAccountPoints: 5,
  weakReferralPoints: 5,
  weakPointsCap: 20,
  unpaidPoints: 50,
  maxAccountsPerValue: 200,
  evidenceMembers: 25,
  evidenceValues: 10,
};

/** What a component is made of, as the verdicts on its edges explain it. */
export type RingFigures = {
  /**
   * Stable while the ring keeps its accounts tied by shared devices or cards: the smallest such account id and their
   * count. It names the ring's holds, so a ring that gained such an account holds again what a reviewer cleared.
   */
  key: string;
  accounts: number;
  referrals: number;
  /** Referrals inside one group of accounts tied by shared devices or cards. */
  selfReferrals: number;
  /** Referrals between two such groups. */
  crossReferrals: number;
  /** Accounts sharing a device or card with another account of the component. */
  sharingAccounts: number;
  /** Accounts in the largest group tied by shared devices or cards. */
  largestGroup: number;
  /** Other referrals inside whose two accounts were seen on one IP address (one of them joined through it). */
  weakReferrals: number;
  /** Referrals that vested and never brought a payment. */
  vestedUnpaid: number;
  score: number;
  ring: boolean;
  /** Member ids (those sharing a device or card first), at most `evidenceMembers`. */
  members: string[];
  /** The devices and cards shared inside it (most accounts first), at most `evidenceValues`. */
  sharedValues: { kind: SignalKind; value: string; accounts: number }[];
};

export type RingVerdict = { edgeId: string; component: string; verdict: FraudVerdict };
export type RingScan = {
  /** Accounts and referrals the scan saw. */
  accounts: number;
  referrals: number;
  /** Components with at least one referral inside, smallest key first. */
  components: RingFigures[];
  /** One per earning edge inside a component: hold when the component is a ring, score otherwise. */
  verdicts: RingVerdict[];
  /** Devices or cards ignored for being seen on more than `maxAccountsPerValue` accounts. */
  ignoredValues: number;
};

export type RingFacts = { component: RingFigures; settings: RingSettings };

/** The component's score from its figures, and whether it passes the gates. */
export function scoreComponent(
  f: Omit<RingFigures, 'key' | 'score' | 'ring' | 'members' | 'sharedValues'>,
  s: RingSettings,
): { score: number; ring: boolean } {
  const score =
    f.selfReferrals * s.selfReferralPoints +
    f.crossReferrals * s.crossReferralPoints +
    f.sharingAccounts * s.sharingAccountPoints +
    Math.min(s.weakPointsCap, f.weakReferrals * s.weakReferralPoints) +
    (f.referrals === 0 ? 0 : Math.round((s.unpaidPoints * f.vestedUnpaid) / f.referrals));
  const ring =
    f.selfReferrals + f.crossReferrals >= s.minLinkedReferrals &&
    f.largestGroup >= s.minGroupAccounts &&
    score >= s.holdScore;
  return { score, ring };
}

/** The verdict on one earning edge inside a component: the component's, the same for each of its edges. */
export const ringRule: FraudRule<RingFacts> = {
  name: RING_RULE,
  stages: ['periodic'],
  inputs: ['devices and cards shared between accounts', 'referral edges', 'IP addresses and networks', 'payments'],
  evaluate({ component: c, settings }) {
    const evidence = {
      component: c.key,
      accounts: c.accounts,
      referrals: c.referrals,
      selfReferrals: c.selfReferrals,
      crossReferrals: c.crossReferrals,
      sharingAccounts: c.sharingAccounts,
      largestGroup: c.largestGroup,
      weakReferrals: c.weakReferrals,
      vestedUnpaid: c.vestedUnpaid,
      score: c.score,
      holdScore: settings.holdScore,
      sharedValues: c.sharedValues,
      members: c.members,
      membersListed: c.members.length,
    };
    const linked = c.selfReferrals + c.crossReferrals;
    const what =
      `${c.accounts} accounts, ${c.sharingAccounts} sharing devices or cards, ` +
      `${linked} of ${c.referrals} referrals between them`;
    return c.ring
      ? { rule: RING_RULE, decision: 'hold', score: c.score, reason: `ring: ${what} (score ${c.score})`, evidence }
      : {
          rule: RING_RULE,
          decision: 'score',
          score: c.score,
          reason: `linked accounts, not a ring: ${what} (score ${c.score}, a ring needs ${settings.holdScore})`,
          evidence,
        };
  },
};

/** Union-find over dense account indices: path halving, union by size. */
class Components {
  private readonly parent: Int32Array;
  readonly size: Int32Array;
  constructor(n: number) {
    this.parent = new Int32Array(n);
    for (let i = 0; i < n; i++) this.parent[i] = i;
    this.size = new Int32Array(n).fill(1);
  }
  find(x: number): number {
    const p = this.parent;
    while (p[x]! !== x) {
      p[x] = p[p[x]!]!;
      x = p[x]!;
    }
    return x;
  }
  union(a: number, b: number): void {
    let x = this.find(a);
    let y = this.find(b);
    if (x === y) return;
    if (this.size[x]! < this.size[y]!) [x, y] = [y, x];
    this.parent[y] = x;
    this.size[x]! += this.size[y]!;
  }
}

type Building = Omit<RingFigures, 'key' | 'score' | 'ring' | 'members' | 'sharedValues'> & {
  memberIndices: number[];
  values: { kind: SignalKind; value: string; accounts: number }[];
};

/**
 * Finds the components and their verdicts. Accounts are joined into groups by a device or card they share (one seen
 * on more than `maxAccountsPerValue` accounts joins nobody); two groups are joined by `minReferralsBetweenGroups`
 * referrals between them; an account is joined to a group by a referral to or from it when both were seen on one IP
 * address. Any other referral joins nothing: an influencer referring families who share a tablet is not their ring.
 * A referral is inside a component when both its accounts are.
 */
export function findRings(graph: RingGraph, settings: RingSettings = DEFAULT_RING_SETTINGS): RingScan {
  const index = new Map<string, number>();
  const ids: string[] = [];
  const at = (id: string): number => {
    let i = index.get(id);
    if (i === undefined) {
      i = ids.length;
      index.set(id, i);
      ids.push(id);
    }
    return i;
  };

  const strong = new Map<string, { kind: SignalKind; value: string; members: Set<number> }>();
  const weak = new Map<number, Set<string>>();
  for (const s of graph.sightings) {
    const a = at(s.accountId);
    const key = `${s.kind}\u0000${s.value}`;
    if (isStrong(s.kind)) {
      let group = strong.get(key);
      if (!group) strong.set(key, (group = { kind: s.kind, value: s.value, members: new Set() }));
      group.members.add(a);
    } else if (s.kind === 'ip') {
      let values = weak.get(a);
      if (!values) weak.set(a, (values = new Set()));
      values.add(key);
    }
  }
  const edges = graph.edges.map((e) => ({ edge: e, r: at(e.referrerId), e: at(e.refereeId) }));

  // Groups of accounts tied by shared devices or cards.
  const uf = new Components(ids.length);
  const shared: { kind: SignalKind; value: string; members: number[] }[] = [];
  let ignoredValues = 0;
  for (const g of strong.values()) {
    if (g.members.size < 2) continue;
    if (g.members.size > settings.maxAccountsPerValue) {
      ignoredValues++;
      continue;
    }
    const members = [...g.members];
    shared.push({ kind: g.kind, value: g.value, members });
    for (let i = 1; i < members.length; i++) uf.union(members[0]!, members[i]!);
  }
  const group = new Int32Array(ids.length);
  const sizes = new Int32Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    group[i] = uf.find(i);
    sizes[i] = uf.size[group[i]!]!;
  }
  const groupSize = (i: number) => sizes[i]!;

  // Referrals join: inside a group (nothing to join), between two groups with enough of them, and
  // from a group to an account seen on the same address.
  const between = new Map<string, number>();
  for (const { r, e } of edges) {
    const tied = (groupSize(r) > 1 ? 1 : 0) + (groupSize(e) > 1 ? 1 : 0);
    if (tied === 1 && sharesAny(weak.get(r), weak.get(e))) uf.union(r, e);
    if (tied < 2 || group[r] === group[e]) continue;
    const [a, b] = group[r]! < group[e]! ? [group[r]!, group[e]!] : [group[e]!, group[r]!];
    const pair = `${a}:${b}`;
    const n = (between.get(pair) ?? 0) + 1;
    between.set(pair, n);
    if (n === settings.minReferralsBetweenGroups) uf.union(a, b);
  }

  const building = new Map<number, Building>();
  const component = (root: number): Building => {
    let c = building.get(root);
    if (!c)
      building.set(
        root,
        (c = {
          accounts: 0,
          referrals: 0,
          selfReferrals: 0,
          crossReferrals: 0,
          sharingAccounts: 0,
          largestGroup: 0,
          weakReferrals: 0,
          vestedUnpaid: 0,
          memberIndices: [],
          values: [],
        }),
      );
    return c;
  };
  const inside: { edge: RingEdge; root: number }[] = [];
  for (const { edge, r, e } of edges) {
    const root = uf.find(r);
    if (root !== uf.find(e) || r === e) continue;
    const c = component(root);
    c.referrals++;
    if (groupSize(r) > 1 && group[r] === group[e]) c.selfReferrals++;
    else if (groupSize(r) > 1 && groupSize(e) > 1) c.crossReferrals++;
    else if (sharesAny(weak.get(r), weak.get(e))) c.weakReferrals++;
    if (edge.vested && !edge.paid) c.vestedUnpaid++;
    inside.push({ edge, root });
  }
  for (let i = 0; i < ids.length; i++) {
    const c = building.get(uf.find(i));
    if (!c) continue;
    c.accounts++;
    c.memberIndices.push(i);
    if (groupSize(i) > 1) {
      c.sharingAccounts++;
      if (groupSize(i) > c.largestGroup) c.largestGroup = groupSize(i);
    }
  }
  for (const v of shared) {
    const c = building.get(uf.find(v.members[0]!));
    if (c) c.values.push({ kind: v.kind, value: v.value, accounts: v.members.length });
  }

  const figures = new Map<number, RingFigures>();
  for (const [root, c] of building) {
    const { memberIndices, values, ...counts } = c;
    const sharingFirst = (i: number) => (groupSize(i) > 1 ? 0 : 1);
    const members = memberIndices
      .map((i) => ({ id: ids[i]!, order: sharingFirst(i) }))
      .sort((a, b) => a.order - b.order || compare(a.id, b.id));
    const anchor = members[0]!.id; // every component holds an account sharing a device or card
    figures.set(root, {
      key: `${anchor}.${counts.sharingAccounts}`,
      ...counts,
      ...scoreComponent(counts, settings),
      members: members.slice(0, settings.evidenceMembers).map((m) => m.id),
      sharedValues: values
        .sort((a, b) => b.accounts - a.accounts || compare(a.kind, b.kind) || compare(a.value, b.value))
        .slice(0, settings.evidenceValues),
    });
  }

  const verdicts: RingVerdict[] = inside
    .filter(({ edge }) => edge.earning)
    .map(({ edge, root }) => {
      const f = figures.get(root)!;
      return { edgeId: edge.id, component: f.key, verdict: ringRule.evaluate({ component: f, settings }) };
    })
    .sort((a, b) => compare(a.component, b.component) || compare(a.edgeId, b.edgeId));
  return {
    accounts: ids.length,
    referrals: graph.edges.length,
    components: [...figures.values()].sort((a, b) => compare(a.key, b.key)),
    verdicts,
    ignoredValues,
  };
}

function sharesAny(a: Set<string> | undefined, b: Set<string> | undefined): boolean {
  if (!a || !b) return false;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const v of small) if (large.has(v)) return true;
  return false;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
