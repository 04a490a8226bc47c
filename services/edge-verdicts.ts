// What was decided about an edge and why: the verdicts (an admin's, or a hold the fraud rules raised)
// and every fraud rule's verdict at each stage it was screened.
import type { DatabasePool } from 'slonik';
import { edgeVerdictsWithRules, type EdgeVerdictRow, type RuleVerdictRow } from '../db/fraud.ts';
import { notFound } from './errors.ts';

export async function edgeVerdictsExplained(
  deps: { db: DatabasePool },
  edgeId: string,
): Promise<{ verdicts: readonly EdgeVerdictRow[]; ruleVerdicts: readonly RuleVerdictRow[] }> {
  const found = await edgeVerdictsWithRules(deps.db, edgeId);
  if (!found) throw notFound('edge_not_found', `No edge ${edgeId}.`, 'edgeId');
  return found;
}
