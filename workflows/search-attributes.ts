// The custom search attributes ops filter on in the Temporal UI. Registered on the dev server at
// start (scripts/local-temporal.ts) from this same list.
import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import type { EdgeLifecycleInput, LifecycleState as State } from '../domain/lifecycle.ts';

export const ReferrerId = defineSearchAttributeKey('ReferrerId', SearchAttributeType.KEYWORD);
export const RefereeId = defineSearchAttributeKey('RefereeId', SearchAttributeType.KEYWORD);
export const PartnerId = defineSearchAttributeKey('PartnerId', SearchAttributeType.KEYWORD);
export const EdgeKind = defineSearchAttributeKey('EdgeKind', SearchAttributeType.KEYWORD);
export const ProgramPhase = defineSearchAttributeKey('ProgramPhase', SearchAttributeType.KEYWORD);
export const LifecycleState = defineSearchAttributeKey('LifecycleState', SearchAttributeType.KEYWORD);

export const CUSTOM_SEARCH_ATTRIBUTES = [ReferrerId, RefereeId, PartnerId, EdgeKind, ProgramPhase, LifecycleState];

/** An edge's search attributes as plain name -> keyword, the form the outbox stores. */
export function edgeSearchAttributes(input: EdgeLifecycleInput, state: State): Record<string, string> {
  return {
    [ReferrerId.name]: input.referrerId,
    [RefereeId.name]: input.refereeId,
    ...(input.partnerId ? { [PartnerId.name]: input.partnerId } : {}),
    [EdgeKind.name]: input.kind,
    [ProgramPhase.name]: input.phase,
    [LifecycleState.name]: state,
  };
}

const byName = new Map(CUSTOM_SEARCH_ATTRIBUTES.map((key) => [key.name, key]));

export function toSearchAttributePairs(record: Record<string, string>): SearchAttributePair[] {
  return Object.entries(record).flatMap(([name, value]) => {
    const key = byName.get(name);
    return key ? [{ key, value }] : [];
  });
}
