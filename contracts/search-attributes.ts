// The custom search attributes ops filter on in the Temporal UI, shared by the workflow contracts.
// Registered on the dev server at start (scripts/local-temporal.ts) from this same list.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const ReferrerId = defineSearchAttributeKey('ReferrerId', SearchAttributeType.KEYWORD);
export const RefereeId = defineSearchAttributeKey('RefereeId', SearchAttributeType.KEYWORD);
export const PartnerId = defineSearchAttributeKey('PartnerId', SearchAttributeType.KEYWORD);
export const EdgeKind = defineSearchAttributeKey('EdgeKind', SearchAttributeType.KEYWORD);
export const ProgramPhase = defineSearchAttributeKey('ProgramPhase', SearchAttributeType.KEYWORD);
export const LifecycleState = defineSearchAttributeKey('LifecycleState', SearchAttributeType.KEYWORD);

export const CUSTOM_SEARCH_ATTRIBUTES = [ReferrerId, RefereeId, PartnerId, EdgeKind, ProgramPhase, LifecycleState];
