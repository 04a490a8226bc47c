// Stand-in for the screening activity engineer "rules" writes (activities/fraud.ts, issue 14): the
// same interface, so the edge's workflow and the review routes compile and run against it. It
// knows one rule only, the shared payment instrument at payment time (a self-purchase by the
// referrer's card), which it answers with a hold written as the real activity writes it. At the
// merge the rules engineer's file replaces this one whole.
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { insertVerdict } from '../db/verdicts.ts';

export type FraudSettings = Record<string, unknown>;
export type ScreenInput = { edgeId: string; stage: 'edge_write' | 'activation' | 'payment'; subject?: string };
export type ScreenResult = {
  decision: 'allow' | 'score' | 'hold' | 'block';
  score: number;
  reason: string;
  rules: string[];
  verdictId: string | null;
};

const ALLOW: ScreenResult = { decision: 'allow', score: 0, reason: 'nothing found', rules: [], verdictId: null };

export function createFraudActivities({ db }: { db: DatabasePool; settings?: FraudSettings }) {
  return {
    async screenEdge(input: ScreenInput): Promise<ScreenResult> {
      if (input.stage !== 'payment' || !input.subject) return ALLOW;
      const shared = await db.maybeOne(sql.type(z.object({ referrer_id: z.uuid() }))`
        SELECT e.referrer_id FROM payments p JOIN edges e ON e.id = p.edge_id
        WHERE p.id = ${input.subject} AND e.id = ${input.edgeId} AND p.payment_method_fingerprint IS NOT NULL
          AND EXISTS (SELECT 1 FROM fraud_sightings s
                      WHERE s.user_id = e.referrer_id AND s.kind = 'card' AND s.value = p.payment_method_fingerprint)`);
      if (!shared) return ALLOW;
      const verdictId = `fraud:${input.stage}:${input.edgeId}:${input.subject}`;
      const reason = "the payment's card is one the referrer paid with";
      await insertVerdict(db, {
        id: verdictId,
        edgeId: input.edgeId,
        verdict: 'hold',
        reason,
        decidedBy: 'fraud:shared_card',
      });
      return { decision: 'hold', score: 100, reason, rules: ['shared_card'], verdictId };
    },
  };
}

export type FraudActivities = ReturnType<typeof createFraudActivities>;
