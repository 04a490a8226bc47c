// A beta auto-enrolled edge's workflow start, as the relay would build it from the edge's row, for
// benchmarks that start edge workflows without writing the graph through the API.
import { randomUUID } from 'node:crypto';
import { edgeLifecycleInput, edgeLifecycleStart, type EdgeFacts } from '../../contracts/edge-lifecycle.ts';
import type { WorkflowStart } from '../../contracts/workflow-start.ts';

export function betaEdgeStart(facts: Partial<EdgeFacts> = {}): WorkflowStart {
  const edge: EdgeFacts = {
    id: randomUUID(),
    referrer_id: randomUUID(),
    referee_id: randomUUID(),
    kind: 'beta_auto',
    source: 'link',
    phase_at_write: 'beta',
    created_at: new Date(),
    activation_window_days: 30,
    ...facts,
  };
  return edgeLifecycleStart(edgeLifecycleInput(edge, null));
}
