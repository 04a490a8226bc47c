// Replays recorded histories of every path through the current workflow code: a change that
// would break workflows already running fails here.
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { workerOptions } from '../../workers/worker-options.ts';
import { HISTORIES_DIR, quietRuntime } from '../support/temporal.ts';

quietRuntime();

const fixtures = readdirSync(HISTORIES_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

describe('replay of recorded histories', () => {
  it('has a history for each recorded path', () => {
    expect(fixtures).toEqual(
      expect.arrayContaining([
        'referral-lifecycle-expired.json',
        'referral-lifecycle-vested.json', // recorded before payments existed: the lifecycle ended at vesting
        'referral-lifecycle-expired-with-payment.json',
        'referral-lifecycle-earning.json',
        'referral-lifecycle-held-voided.json',
        'referral-lifecycle-continued-as-new.json',
        'referral-lifecycle-screened.json', // fraud-screen-v1: held at activation, a payment held before pricing
        'referral-lifecycle-pricing-batches.json', // pricing-batches-v1: 30 payments waiting, priced 25 then 5
        'referral-lifecycle-held-expired.json',
        'referral-lifecycle-held-activated-voided.json',
        'referral-lifecycle-retention-gate.json', // a beta-seeded commission forfeited at its gate, another released
        'wave-release.json', // a run of the retired every-minute Schedule: one round
        'wave-release-loop-continued-as-new.json',
        'launch-flip-continued-as-new.json',
        'launch-flip.json',
        'launch-flip-admits-waitlist.json', // launch-admits-waitlist-v1: the first run, admitting the waitlist
        'launch-flip-admitting-continued.json', // a run that finished admitting, then told edges
        'payout-cycle.json',
        'payout-cycle-skipped.json',
        'fraud-ring-scan.json',
        'late-refund.json',
      ]),
    );
  });

  it.each(fixtures)('replays %s without nondeterminism', async (file) => {
    const history = historyFromJSON(JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8')));
    const { workflowBundle, workflowsPath } = workerOptions();
    await Worker.runReplayHistory(
      { ...(workflowBundle ? { workflowBundle } : { workflowsPath: workflowsPath! }), replayName: file },
      history,
      file,
    );
  });
});
