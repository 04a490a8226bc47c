// The fraud signals a request carries, as the sightings written with its row: the device a client
// names, the address it called from and that address's network (autonomous system). With the rules
// off (FRAUD_RULES=off) nothing is recorded.
import { formatIp, parseIp } from '../domain/fraud/ip.ts';
import { networkOf, type AsnTable } from '../domain/fraud/networks.ts';
import type { Sighting } from '../db/fraud.ts';
import { asnTable } from '../platform/networks.ts';

/** Whether signals are recorded; the deployment's FraudSettings fit. Absent: recorded. */
export type SignalSettings = { enabled: boolean };

const recording = (settings: SignalSettings | undefined) => settings?.enabled !== false;

/** The shipped table, or none when it cannot be read (networks then fall back to address prefixes). */
async function tableOrNone(): Promise<AsnTable | null> {
  try {
    return await asnTable();
  } catch {
    return null;
  }
}

/** Starts loading the network table, so the first signup does not wait for it. */
export function warmSignals(settings: SignalSettings | undefined): void {
  if (recording(settings)) void tableOrNone();
}

/** A client's device and address (an address that does not parse is left out). */
export async function clientSightings(
  settings: SignalSettings | undefined,
  client: { deviceId?: string | undefined; ip?: string | undefined },
): Promise<Sighting[]> {
  if (!recording(settings)) return [];
  const sightings: Sighting[] = [];
  if (client.deviceId) sightings.push({ kind: 'device', value: client.deviceId });
  const ip = client.ip ? parseIp(client.ip) : null;
  if (ip) {
    sightings.push({ kind: 'ip', value: formatIp(ip) });
    sightings.push({ kind: 'network', value: networkOf(await tableOrNone(), ip) });
  }
  return sightings;
}

/** Whether a payment's card is recorded as a sighting. */
export const recordsCards = recording;
