// Every workflow type the worker runs.
export { referralLifecycle } from './referral-lifecycle.ts';
export { payoutCycle } from './payout-cycle.ts';
export { waveRelease } from './wave-release.ts';
export { launchFlip } from './launch-flip.ts';
export { fraudRingScan } from './fraud-ring-scan.ts';
export { lateRefund } from './late-refund.ts';
export { whopReconciliation } from './whop-reconciliation.ts';
