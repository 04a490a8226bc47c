import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { EDGE_SOURCES, PROGRAM_PHASES, edgeKindFor } from '../../domain/edge.ts';
import { edgeWorkflowId } from '../../contracts/edge-lifecycle.ts';
import { activationDeadline } from '../../domain/lifecycle.ts';

describe('edge kind', () => {
  it('is intentional for a partner code or an approved partner, in either phase', () => {
    for (const phase of PROGRAM_PHASES) {
      expect(edgeKindFor({ phase, source: 'partner_code', referrerIsApprovedPartner: false })).toBe('intentional');
      for (const source of EDGE_SOURCES)
        expect(edgeKindFor({ phase, source, referrerIsApprovedPartner: true })).toBe('intentional');
    }
  });

  it('is beta_auto for every other edge written in beta', () => {
    for (const source of ['link', 'invite_code', 'listing'] as const) {
      expect(edgeKindFor({ phase: 'beta', source, referrerIsApprovedPartner: false })).toBe('beta_auto');
      expect(edgeKindFor({ phase: 'public', source, referrerIsApprovedPartner: false })).toBe('intentional');
    }
  });

  it('never makes a beta_auto edge after the launch flip', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...EDGE_SOURCES),
        fc.boolean(),
        (source, partner) =>
          edgeKindFor({ phase: 'public', source, referrerIsApprovedPartner: partner }) === 'intentional',
      ),
    );
  });
});

describe('edge workflow id', () => {
  it('is the business id of the referee, so starting twice never makes two', () => {
    expect(edgeWorkflowId('abc')).toBe('edge:abc');
  });
});

describe('activation deadline', () => {
  it('is the window in whole days after the edge was written', () => {
    expect(activationDeadline(new Date('2026-01-31T10:00:00Z'), 30).toISOString()).toBe('2026-03-02T10:00:00.000Z');
  });
});
