// Screening an edge at a stage of its life: the facts from PostgreSQL, the stage's rules over them,
// every rule's verdict stored, and on a hold or a block one edge verdict (hold, or void) with the
// message that tells the edge's workflow. Idempotent by edge, stage and subject: a retry answers
// from the verdicts stored the first time and writes nothing twice.
import { ApplicationFailure } from '@temporalio/common';
import type { DatabasePool } from 'slonik';
import { combineVerdicts, networkOnlyRules, runRules, type Screening } from '../domain/fraud/engine.ts';
import type { EdgeFacts } from '../domain/fraud/facts.ts';
import { fraudRules } from '../domain/fraud/rulebook.ts';
import { STAGE, type FraudRule, type FraudStage } from '../domain/fraud/rule.ts';
import { DEFAULT_FRAUD_SETTINGS, type FraudSettings } from '../domain/fraud/settings.ts';
import { gatherFacts, recordRuleVerdicts, ruleVerdictsOf, toFraudVerdict } from '../db/fraud.ts';
import { insertVerdict } from '../db/verdicts.ts';
import { disposableDomainCheck } from '../platform/disposable-domains.ts';
import { EDGE_NOT_FOUND, PAYMENT_NOT_RECORDED } from './commission.ts';

/** Where the lifecycle screens an edge: 'edge_write' | 'activation' | 'payment' (the periodic scan is the rings'). */
export type ScreenStage = Exclude<FraudStage, 'periodic'>;

export type ScreenInput = {
  edgeId: string;
  stage: ScreenStage;
  /** The payment id at payment. */
  subject?: string;
};
export type ScreenResult = {
  decision: 'allow' | 'score' | 'hold' | 'block';
  score: number;
  reason: string;
  /** The rules that fired (said anything but allow). */
  rules: string[];
  /** The edge verdict a hold or a block wrote (`fraud:<stage>:<edgeId>:<subject>`); null otherwise. */
  verdictId: string | null;
};

/** The id of the edge verdict a screening's hold or block writes: one per edge, stage and subject. */
export const screeningVerdictId = ({ edgeId, stage, subject }: ScreenInput) =>
  `fraud:${stage}:${edgeId}:${subject ?? ''}`;

export type FraudActivities = ReturnType<typeof createFraudActivities>;

export function createFraudActivities(deps: { db: DatabasePool; settings?: FraudSettings }) {
  const settings = deps.settings ?? DEFAULT_FRAUD_SETTINGS;
  const { db } = deps;
  // Built at the first screening: the disposable-domain list is 120,000 names.
  let rules: FraudRule<EdgeFacts>[] | null = null;
  let networkOnly: ReadonlySet<string> = new Set();
  const rulebook = () => {
    if (!rules) {
      rules = fraudRules(settings, disposableDomainCheck(settings.disposableDomainsFile));
      networkOnly = networkOnlyRules(rules);
    }
    return rules;
  };

  return {
    async screenEdge(input: ScreenInput): Promise<ScreenResult> {
      if (!settings.enabled)
        return {
          decision: 'allow',
          score: 0,
          reason: 'Fraud rules are off (FRAUD_RULES=off).',
          rules: [],
          verdictId: null,
        };
      if (input.stage === STAGE.payment && !input.subject)
        throw ApplicationFailure.nonRetryable('A payment screening names its payment (subject).', PAYMENT_NOT_RECORDED);
      const subject = input.stage === STAGE.payment ? input.subject! : '';
      const stageRules = rulebook();
      let stored = await ruleVerdictsOf(db, input.edgeId, { stage: input.stage, subject });
      if (stored.length === 0) {
        const facts = await gatherFacts(db, input.edgeId, input.stage, subject);
        if (!facts) throw ApplicationFailure.nonRetryable(`No edge ${input.edgeId}.`, EDGE_NOT_FOUND);
        if (input.stage === STAGE.payment && !facts.payment)
          throw ApplicationFailure.nonRetryable(`No payment ${subject} on edge ${input.edgeId}.`, PAYMENT_NOT_RECORDED);
        const verdicts = runRules(stageRules, input.stage, facts);
        stored = await recordRuleVerdicts(db, input.edgeId, input.stage, subject, verdicts);
        // A screening racing this one (a timed-out attempt still running) may have written them in a
        // transaction this statement could not see yet: read them again, now that it has committed.
        if (stored.length < verdicts.length)
          stored = await ruleVerdictsOf(db, input.edgeId, { stage: input.stage, subject });
      }
      const screening = combineVerdicts(stored.map(toFraudVerdict), settings, networkOnly);
      const verdictId =
        screening.decision === 'hold' || screening.decision === 'block'
          ? await writeEdgeVerdict(db, { ...input, subject }, screening)
          : null;
      return {
        decision: screening.decision,
        score: screening.score,
        reason: screening.reason,
        rules: screening.fired.map((v) => v.rule),
        verdictId,
      };
    },
  };
}

/** The hold (or, for a block, the void) the screening raised, with the rules, score and evidence behind it. */
async function writeEdgeVerdict(db: DatabasePool, input: ScreenInput, screening: Screening): Promise<string> {
  const id = screeningVerdictId(input);
  const rules = screening.fired.map((v) => v.rule).join(',');
  const written = await insertVerdict(db, {
    id,
    edgeId: input.edgeId,
    verdict: screening.decision === 'block' ? 'void' : 'hold',
    reason: screening.reason,
    decidedBy: `fraud:${rules}`,
    rule: rules,
    score: screening.score,
    evidence: {
      stage: input.stage,
      ...(input.subject ? { subject: input.subject } : {}),
      rules: Object.fromEntries(
        screening.fired.map((v) => [
          v.rule,
          { decision: v.decision, score: v.score, reason: v.reason, evidence: v.evidence },
        ]),
      ),
    },
  });
  if (!written) throw ApplicationFailure.nonRetryable(`No edge ${input.edgeId}.`, EDGE_NOT_FOUND);
  return id;
}
