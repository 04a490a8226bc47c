// Each workflow type's names are spelled in its contract only: the worker registers the workflow
// functions under the contract's type names, ids keep the `type:key` form ops search by, and no
// other source file writes a type name, an id prefix, a signal or query name, or a search attribute
// name as a literal of its own.
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as workflows from '../../workflows/index.ts';
import * as edge from '../../contracts/edge-lifecycle.ts';
import * as launch from '../../contracts/launch-flip.ts';
import * as lateRefund from '../../contracts/late-refund.ts';
import * as payout from '../../contracts/payout-cycle.ts';
import * as waves from '../../contracts/wave-release.ts';
import * as rings from '../../contracts/fraud-ring-scan.ts';
import * as whop from '../../contracts/whop-reconciliation.ts';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../../contracts/search-attributes.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const SOURCE_FOLDERS = ['domain', 'platform', 'db', 'services', 'activities', 'workflows', 'api', 'workers'];

function sources(): { path: string; code: string }[] {
  return SOURCE_FOLDERS.flatMap((folder) =>
    readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => {
        const path = join(folder, f);
        // Comments may name what they explain; only code counts.
        const code = readFileSync(join(ROOT, path), 'utf8')
          .split('\n')
          .filter((line) => !/^\s*(\/\/|\*|\/\*\*)/.test(line))
          .join('\n');
        return { path, code };
      }),
  );
}

const escape = (name: string) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Literal strings (quoted or the start of a template) equal to `name`, or starting with it when it is a prefix. */
function spells(code: string, name: string, prefix: boolean): boolean {
  const end = prefix ? '' : `['"\`]`;
  return new RegExp(`['"\`]${escape(name)}${end}`).test(code);
}

/**
 * A signal or query name used as one: passed to a signal, query or define call, or given as a signal name. Signal
 * names are plain words ('payment', 'refund'), so the same word in other roles (a fraud stage) is not a use.
 */
function spellsAsMessage(code: string, name: string): boolean {
  return new RegExp(`(signal|query)\\w*\\s*(<[^>]*>)?\\s*[(:=,]\\s*['"\`]${escape(name)}['"\`]`, 'i').test(code);
}

describe('workflow contracts', () => {
  it('name the workflow functions the worker registers', () => {
    expect(workflows.referralLifecycle.name).toBe(edge.EDGE_LIFECYCLE_TYPE);
    expect(workflows.launchFlip.name).toBe(launch.LAUNCH_FLIP_TYPE);
    expect(workflows.payoutCycle.name).toBe(payout.PAYOUT_CYCLE_TYPE);
    expect(workflows.waveRelease.name).toBe(waves.WAVE_RELEASE_TYPE);
    expect(workflows.lateRefund.name).toBe(lateRefund.LATE_REFUND_TYPE);
    expect(workflows.fraudRingScan.name).toBe(rings.FRAUD_RING_SCAN_TYPE);
    expect(workflows.whopReconciliation.name).toBe(whop.WHOP_RECONCILIATION_TYPE);
    expect(Object.keys(workflows).sort()).toEqual([
      'fraudRingScan',
      'lateRefund',
      'launchFlip',
      'payoutCycle',
      'referralLifecycle',
      'waveRelease',
      'whopReconciliation',
    ]);
  });

  it('build ids of the form type:key, and read a cycle id back from its workflow id', () => {
    expect(edge.edgeWorkflowId('u1')).toBe('edge:u1');
    expect(payout.payoutCycleWorkflowId('manual-1')).toBe('payout-cycle:manual-1');
    expect(payout.cycleIdOf(payout.payoutCycleWorkflowId('monthly-2027-01-01T06:00:00Z'))).toBe(
      'monthly-2027-01-01T06:00:00Z',
    );
    expect(waves.waveReleaseWorkflowId('referral-graph')).toBe('wave-release:referral-graph');
    expect(launch.launchFlipWorkflowId('referral-graph')).toBe('launch-flip');
    expect(launch.launchFlipWorkflowId('q1')).toBe('launch-flip:q1');
    expect(rings.fraudRingScanWorkflowId('referral-graph')).toBe('fraud-ring-scan:referral-graph');
    expect(lateRefund.lateRefundWorkflowId('re_1')).toBe('late-refund:re_1');
    expect(whop.whopReconciliationWorkflowId('referral-graph')).toBe('whop-reconciliation:referral-graph');
  });

  it('are the only source files that spell those names', () => {
    const names: { name: string; prefix: boolean }[] = [
      ...[
        edge.EDGE_LIFECYCLE_TYPE,
        launch.LAUNCH_FLIP_TYPE,
        payout.PAYOUT_CYCLE_TYPE,
        waves.WAVE_RELEASE_TYPE,
        rings.FRAUD_RING_SCAN_TYPE,
        lateRefund.LATE_REFUND_TYPE,
        whop.WHOP_RECONCILIATION_TYPE,
      ].map((name) => ({ name, prefix: false })),
      ...[
        'edge:',
        'payout-cycle:',
        'wave-release:',
        'launch-flip',
        'fraud-ring-scan',
        'late-refund:',
        'whop-reconciliation',
      ].map((name) => ({
        name,
        prefix: true,
      })),
    ];
    const messages = [
      edge.activatedSignal,
      edge.paymentSignal,
      edge.refundSignal,
      edge.verdictSignal,
      edge.phaseChangedSignal,
      waves.wavesChangedSignal,
      edge.stateQuery,
    ].map((d) => d.name);
    names.push(...CUSTOM_SEARCH_ATTRIBUTES.map((key) => ({ name: key.name, prefix: false })));
    const found = sources().flatMap(({ path, code }) => [
      ...names.filter(({ name, prefix }) => spells(code, name, prefix)).map(({ name }) => `${path}: ${name}`),
      ...messages.filter((name) => spellsAsMessage(code, name)).map((name) => `${path}: ${name}`),
    ]);
    expect(found).toEqual([]);
  });

  it('the check finds a name spelled outside its contract', () => {
    expect(spells("await handle.signal('payment', event)", 'payment', false)).toBe(true);
    expect(spells('const id = `edge:${refereeId}`', 'edge:', true)).toBe(true);
    expect(spells("const kind = 'payments'", 'payment', false)).toBe(false);
    expect(spellsAsMessage("await handle.signal('payment', event)", 'payment')).toBe(true);
    expect(spellsAsMessage("wf.defineSignal<[PaymentEvent]>('payment')", 'payment')).toBe(true);
    expect(spellsAsMessage("{ signalName: 'refund' }", 'refund')).toBe(true);
    expect(spellsAsMessage("export type FraudStage = 'edge_write' | 'payment'", 'payment')).toBe(false);
  });
});
