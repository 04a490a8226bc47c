// Runs the rules of a stage over the facts and combines their verdicts into one decision:
// any block blocks; else any hold holds; else the summed score holds at the threshold, provided a
// signal other than a shared IP address or network is among the scores (a household or an office is
// never held on its address alone); else a score, or allow when nothing fired.
import type { FraudDecision, FraudRule, FraudStage, FraudVerdict } from './rule.ts';

export type Screening = {
  decision: FraudDecision;
  /** The verdicts' scores summed. */
  score: number;
  /** One paragraph a reviewer reads: the decision and the rules behind it. */
  reason: string;
  /** The verdicts that were not allow, in the rules' order. */
  fired: readonly FraudVerdict[];
};

export const rulesOfStage = <F>(rules: readonly FraudRule<F>[], stage: FraudStage) =>
  rules.filter((r) => r.stages.includes(stage));

/** Every rule of the stage, each answering for itself under its own name. */
export function runRules<F>(rules: readonly FraudRule<F>[], stage: FraudStage, facts: F): FraudVerdict[] {
  return rulesOfStage(rules, stage).map((rule) => ({ ...rule.evaluate(facts), rule: rule.name }));
}

/** The names of the rules whose evidence is only a shared IP address or network. */
export const networkOnlyRules = <F>(rules: readonly FraudRule<F>[]): ReadonlySet<string> =>
  new Set(rules.filter((r) => r.networkOnly).map((r) => r.name));

const listed = (verdicts: readonly FraudVerdict[], withScore: boolean) =>
  verdicts.map((v) => `${v.rule}${withScore ? ` (${v.score})` : ''}: ${v.reason}`).join(' ');

export function combineVerdicts(
  verdicts: readonly FraudVerdict[],
  { holdScore }: { holdScore: number },
  networkOnly: ReadonlySet<string>,
): Screening {
  const fired = verdicts.filter((v) => v.decision !== 'allow');
  const score = verdicts.reduce((sum, v) => sum + v.score, 0);
  const of = (decision: FraudDecision) => fired.filter((v) => v.decision === decision);
  const blocks = of('block');
  if (blocks.length > 0) return { decision: 'block', score, reason: `Blocked. ${listed(blocks, false)}`, fired };
  const holds = of('hold');
  if (holds.length > 0) return { decision: 'hold', score, reason: `Held. ${listed(holds, false)}`, fired };
  const scored = fired.filter((v) => v.score > 0);
  if (scored.length === 0) return { decision: 'allow', score, reason: 'No rule fired.', fired };
  const corroborated = scored.some((v) => !networkOnly.has(v.rule));
  if (score >= holdScore && corroborated)
    return {
      decision: 'hold',
      score,
      reason: `Held: score ${score} (holds at ${holdScore}). ${listed(scored, true)}`,
      fired,
    };
  const why = score >= holdScore ? ', but only shared IP addresses or networks, which never hold alone' : '';
  return {
    decision: 'score',
    score,
    reason: `Score ${score} (holds at ${holdScore}${why}). ${listed(scored, true)}`,
    fired,
  };
}
