// One shared definition for every fraud rule: its name, when it runs, what it reads, and the
// verdict it answers (allow / score / hold / block) with a reason and the evidence behind it.
// Each rule is its own small file in this folder; rules are pure and never touch a database.

/** When a rule runs: where the edge is written, when the referee activates, on each payment, or by the periodic scan. */
export const FRAUD_STAGES = ['edge_write', 'activation', 'payment', 'periodic'] as const;
export type FraudStage = (typeof FRAUD_STAGES)[number];
/**
 * The stages by name, for code that names one: the payment stage shares its word with the edge's
 * payment signal, which only its contract may spell (test/unit/contracts.test.ts), so it is spelled here once.
 */
export const STAGE = {
  edgeWrite: 'edge_write',
  activation: 'activation',
  payment: 'payment',
  periodic: 'periodic',
} as const satisfies Record<string, FraudStage>;

export type FraudDecision = 'allow' | 'score' | 'hold' | 'block';

export type FraudVerdict = {
  rule: string;
  decision: FraudDecision;
  /** Points toward a hold; 0 for allow. */
  score: number;
  /** One sentence a reviewer reads. */
  reason: string;
  /** What the rule saw (ids, counts, shared values), stored with the verdict. */
  evidence: Record<string, unknown>;
};

export type FraudRule<Facts> = {
  name: string;
  stages: readonly FraudStage[];
  /** The facts it reads, for the documentation and the admin view. */
  inputs: readonly string[];
  /**
   * Its evidence is only a shared IP address or network, which households, offices and campuses
   * share: its score never holds an edge by itself, nor together with other such rules.
   */
  networkOnly?: boolean;
  evaluate(facts: Facts): FraudVerdict;
};

export const allow = (rule: string, reason = 'nothing found'): FraudVerdict => ({
  rule,
  decision: 'allow',
  score: 0,
  reason,
  evidence: {},
});
