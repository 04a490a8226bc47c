import { describe, expect, it } from '@jest/globals';
import { admissionProgress } from '../../domain/launch.ts';
import { graduatesToPartner, graduationSource, LADDER } from '../../domain/milestones.ts';

describe("the launch flip's admission of the waitlist", () => {
  it('counts admitted so far out of admitted plus still waiting, and nobody remaining once finished', () => {
    expect(admissionProgress({ admitted: 0, waiting: 30, finished: false })).toEqual({
      admitted: 0,
      total: 30,
      remaining: 30,
    });
    // A signup held back after the flip raises the total; a wave admitting some meanwhile lowers it.
    expect(admissionProgress({ admitted: 14, waiting: 17, finished: false })).toEqual({
      admitted: 14,
      total: 31,
      remaining: 17,
    });
    expect(admissionProgress({ admitted: 31, waiting: 0, finished: true })).toEqual({
      admitted: 31,
      total: 31,
      remaining: 0,
    });
  });
});

describe('legend graduates', () => {
  it('only the top rung (Legend, 100) graduates its referrer to partner, recorded as milestone:100', () => {
    expect(LADDER.filter(graduatesToPartner).map((r) => r.at)).toEqual([100]);
    expect(graduationSource(100)).toBe('milestone:100');
  });
});
