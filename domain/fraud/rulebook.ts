// Every fraud rule, built from the settings: what screening runs at each stage.
import type { EdgeFacts } from './facts.ts';
import type { FraudRule } from './rule.ts';
import type { FraudSettings } from './settings.ts';
import { cardOverlapRule } from './rules/card-overlap.ts';
import { deviceOverlapRule } from './rules/device-overlap.ts';
import { disposableEmailRule } from './rules/disposable-email.ts';
import { emailOverlapRule } from './rules/email-overlap.ts';
import { ipOverlapRule } from './rules/ip-overlap.ts';
import { ipVelocityRule } from './rules/ip-velocity.ts';
import { networkVelocityRule } from './rules/network-velocity.ts';
import { quickActivationRule } from './rules/quick-activation.ts';
import { referrerVelocityRule } from './rules/referrer-velocity.ts';
import { sharedCardRefereesRule } from './rules/shared-card-referees.ts';
import { sharedDeviceRefereesRule } from './rules/shared-device-referees.ts';
import { sharedIpRefereesRule } from './rules/shared-ip-referees.ts';

export function fraudRules(settings: FraudSettings, isDisposable: (domain: string) => boolean): FraudRule<EdgeFacts>[] {
  return [
    disposableEmailRule(isDisposable),
    emailOverlapRule,
    deviceOverlapRule,
    cardOverlapRule,
    sharedDeviceRefereesRule(settings),
    sharedCardRefereesRule(settings),
    referrerVelocityRule(settings),
    quickActivationRule(settings),
    ipOverlapRule,
    sharedIpRefereesRule(settings),
    ipVelocityRule(settings),
    networkVelocityRule(settings),
  ];
}
