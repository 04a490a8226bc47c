// The ring scan's one side effect: read the graph, find the rings (domain/fraud/rings.ts) and record
// their verdicts. Idempotent by ring and edge: a scan run again, or the next scan over the same
// rings, writes nothing new (db/fraud-rings.ts says which holds are written and which are not).
import type { DatabasePool } from 'slonik';
import { DEFAULT_RING_SETTINGS, findRings, type RingSettings } from '../domain/fraud/rings.ts';
import { readRingGraph, recordRingVerdicts } from '../db/fraud-rings.ts';
import type { RingScanOutcome } from '../contracts/fraud-ring-scan.ts';

export type FraudRingActivities = ReturnType<typeof createFraudRingActivities>;

export function createFraudRingActivities({
  db,
  settings = DEFAULT_RING_SETTINGS,
}: {
  db: DatabasePool;
  settings?: RingSettings;
}) {
  return {
    async scanFraudRings({ scanId }: { scanId: string }): Promise<RingScanOutcome> {
      const t0 = performance.now();
      const graph = await readRingGraph(db);
      const t1 = performance.now();
      const scan = findRings(graph, settings);
      const t2 = performance.now();
      const recorded = await recordRingVerdicts(db, scan.verdicts, { scanId });
      const t3 = performance.now();
      return {
        scanId,
        accounts: scan.accounts,
        referrals: scan.referrals,
        components: scan.components.length,
        rings: scan.components.filter((c) => c.ring).length,
        ringEdges: scan.verdicts.filter((v) => v.verdict.decision === 'hold').length,
        ...recorded,
        ignoredValues: scan.ignoredValues,
        readMs: Math.round(t1 - t0),
        findMs: Math.round(t2 - t1),
        recordMs: Math.round(t3 - t2),
      };
    },
  };
}
