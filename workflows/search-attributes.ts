// Transitional: the outbox still stores search attributes as name -> keyword; the keys live in
// contracts/search-attributes.ts.
import type { SearchAttributePair } from '@temporalio/common';
import type { EdgeLifecycleInput, LifecycleState as State } from '../domain/lifecycle.ts';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../contracts/search-attributes.ts';
import { edgeSearchAttributes as pairs } from '../contracts/edge-lifecycle.ts';

export * from '../contracts/search-attributes.ts';

export function edgeSearchAttributes(input: EdgeLifecycleInput, state: State): Record<string, string> {
  return Object.fromEntries(pairs(input, state).map((p) => [p.key.name, String(p.value)]));
}

const byName = new Map(CUSTOM_SEARCH_ATTRIBUTES.map((key) => [key.name, key]));

export function toSearchAttributePairs(record: Record<string, string>): SearchAttributePair[] {
  return Object.entries(record).flatMap(([name, value]) => {
    const key = byName.get(name);
    return key ? [{ key, value }] : [];
  });
}
