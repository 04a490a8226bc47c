// The engine: running a stage's rules, and combining their verdicts (property-tested). Then the whole
// rulebook over the look-alikes: a family and an office are never held on their address alone; the
// same address with another kind of signal is.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { combineVerdicts, networkOnlyRules, runRules } from '../../domain/fraud/engine.ts';
import { fraudRules } from '../../domain/fraud/rulebook.ts';
import type { FraudDecision, FraudVerdict } from '../../domain/fraud/rule.ts';
import { DEFAULT_FRAUD_SETTINGS as D } from '../../domain/fraud/settings.ts';
import { facts, signals } from '../support/fraud-facts.ts';

const SEVERITY: Record<FraudDecision, number> = { allow: 0, score: 1, hold: 2, block: 3 };
const RULES = ['a', 'b', 'c', 'net-1', 'net-2'];
const NETWORK_ONLY = new Set(['net-1', 'net-2']);

const verdict: fc.Arbitrary<FraudVerdict> = fc
  .record({
    rule: fc.constantFrom(...RULES),
    decision: fc.constantFrom<FraudDecision>('allow', 'score', 'hold', 'block'),
    score: fc.integer({ min: 1, max: 150 }),
  })
  .map(({ rule, decision, score }) => ({
    rule,
    decision,
    // Verdicts as the rules give them: a score only with a score decision.
    score: decision === 'score' ? score : 0,
    reason: `${rule} says ${decision}`,
    evidence: {},
  }));
const verdicts = fc.array(verdict, { maxLength: 8 });
const holdScore = fc.integer({ min: 1, max: 300 });
const combine = (vs: readonly FraudVerdict[], threshold: number) =>
  combineVerdicts(vs, { holdScore: threshold }, NETWORK_ONLY);

describe('combining verdicts', () => {
  it('blocks on any block, else holds on any hold', () => {
    fc.assert(
      fc.property(verdicts, holdScore, (vs, t) => {
        const { decision } = combine(vs, t);
        if (vs.some((v) => v.decision === 'block')) expect(decision).toBe('block');
        else if (vs.some((v) => v.decision === 'hold')) expect(decision).toBe('hold');
      }),
    );
  });

  it('holds on scores alone exactly when their sum reaches the threshold and one is not a shared address', () => {
    fc.assert(
      fc.property(verdicts, holdScore, (all, t) => {
        const vs = all.filter((v) => v.decision === 'allow' || v.decision === 'score');
        const sum = vs.reduce((s, v) => s + v.score, 0);
        const corroborated = vs.some((v) => v.decision === 'score' && !NETWORK_ONLY.has(v.rule));
        const expected = sum >= t && corroborated ? 'hold' : sum > 0 ? 'score' : 'allow';
        expect(combine(vs, t).decision).toBe(expected);
      }),
    );
  });

  it('never holds on shared addresses and networks alone, however high they score', () => {
    fc.assert(
      fc.property(verdicts, holdScore, (all, t) => {
        const vs = all.filter((v) => NETWORK_ONLY.has(v.rule) && (v.decision === 'score' || v.decision === 'allow'));
        expect(['allow', 'score']).toContain(combine(vs, t).decision);
      }),
    );
  });

  it('sums every score, lists what fired in order, and does not depend on the order of the verdicts', () => {
    fc.assert(
      fc.property(verdicts, holdScore, fc.nat(), (vs, t, seed) => {
        const result = combine(vs, t);
        expect(result.score).toBe(vs.reduce((s, v) => s + v.score, 0));
        expect(result.fired).toEqual(vs.filter((v) => v.decision !== 'allow'));
        const shuffled = [...vs].sort(
          (x, y) => ((x.rule.charCodeAt(0) * 31 + seed) % 7) - ((y.rule.charCodeAt(0) * 31 + seed) % 7),
        );
        expect(combine(shuffled, t).decision).toBe(result.decision);
        expect(combine(shuffled, t).score).toBe(result.score);
      }),
    );
  });

  it('never lowers the decision when a verdict is added', () => {
    fc.assert(
      fc.property(verdicts, verdict, holdScore, (vs, extra, t) => {
        expect(SEVERITY[combine([...vs, extra], t).decision]).toBeGreaterThanOrEqual(SEVERITY[combine(vs, t).decision]);
      }),
    );
  });

  it('says why in words a reviewer reads', () => {
    const scored = (rule: string, score: number): FraudVerdict => ({
      rule,
      decision: 'score',
      score,
      reason: `${rule} reason.`,
      evidence: {},
    });
    expect(combine([], 100)).toMatchObject({ decision: 'allow', reason: 'No rule fired.' });
    expect(combine([scored('a', 60), scored('net-1', 40)], 100).reason).toBe(
      'Held: score 100 (holds at 100). a (60): a reason. net-1 (40): net-1 reason.',
    );
    expect(combine([scored('net-1', 80), scored('net-2', 40)], 100).reason).toMatch(
      /^Score 120 \(holds at 100, but only shared IP addresses or networks, which never hold alone\)/,
    );
  });
});

describe('the rulebook', () => {
  const rules = fraudRules(D, (domain) => domain === 'mailinator.com');
  const networkOnly = networkOnlyRules(rules);
  const screen = (f: ReturnType<typeof facts>) => {
    const vs = runRules(rules, f.stage, f);
    return { verdicts: vs, ...combineVerdicts(vs, D, networkOnly) };
  };

  it('runs each stage its own rules, every one answering under its name', () => {
    const names = (stage: 'edge_write' | 'activation' | 'payment') =>
      runRules(rules, stage, facts({ stage })).map((v) => v.rule);
    expect(names('edge_write')).toEqual([
      'disposable-email',
      'email-overlap',
      'device-overlap',
      'shared-device-referees',
      'referrer-velocity',
      'ip-overlap',
      'shared-ip-referees',
      'ip-velocity',
      'network-velocity',
    ]);
    expect(names('activation')).toEqual([
      'device-overlap',
      'shared-device-referees',
      'referrer-velocity',
      'quick-activation',
      'shared-ip-referees',
      'ip-velocity',
    ]);
    expect(names('payment')).toEqual(['card-overlap', 'shared-card-referees']);
    expect(new Set(rules.map((r) => r.name)).size).toBe(rules.length);
    expect([...networkOnly].sort()).toEqual(['ip-overlap', 'ip-velocity', 'network-velocity', 'shared-ip-referees']);
  });

  it('allows an honest referral', () => {
    expect(screen(facts())).toMatchObject({ decision: 'allow', score: 0 });
  });

  // Everyone on the home or office address: the referrer, the referee, many of the referrer's other
  // referees, a burst of signups from it and from its network, each rule at its highest score.
  const sharedAddress = (refereeDevice: string) =>
    facts({
      referrer: { signals: signals({ device: ['dev-alice'], ip: ['203.0.113.7'], network: ['AS64500'] }) },
      referee: {
        signals: signals({ device: [refereeDevice], ip: ['203.0.113.7'], network: ['AS64500'] }),
        signupIp: '203.0.113.7',
        signupNetwork: 'AS64500',
      },
      siblings: [
        { kind: 'ip', value: '203.0.113.7', referees: 30 },
        ...(refereeDevice === 'dev-family-tablet'
          ? [{ kind: 'device' as const, value: refereeDevice, referees: 1 }]
          : []),
      ],
      crowd: { ip: { hour: 80, day: 200 }, network: { hour: 500, day: 2_000 } },
    });

  it('never holds a family or an office on their shared address alone', () => {
    const office = screen(sharedAddress('dev-colleague'));
    expect(office.score).toBeGreaterThanOrEqual(D.holdScore);
    expect(office).toMatchObject({ decision: 'score' });
    expect(office.fired.map((v) => v.rule).sort()).toEqual([
      'ip-overlap',
      'ip-velocity',
      'network-velocity',
      'shared-ip-referees',
    ]);
  });

  it('holds the same address once another kind of signal joins it (two referees on one device)', () => {
    expect(screen(sharedAddress('dev-family-tablet'))).toMatchObject({ decision: 'hold' });
  });

  it('blocks a disposable referee, whatever else is found', () => {
    const f = facts({ referee: { email: 'x@mailinator.com', signals: signals({ device: ['dev-alice'] }) } });
    expect(screen(f).decision).toBe('block');
  });
});
