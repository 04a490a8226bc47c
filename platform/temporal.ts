// Temporal connections. The API's client connects lazily, so the API starts (and answers /readyz
// with 503) while Temporal is still down.
import { Client, Connection } from '@temporalio/client';
import type { Config } from './env.ts';

export function createTemporalClient(config: Config): Client {
  const connection = Connection.lazy({ address: config.temporal.address });
  return new Client({ connection, namespace: config.temporal.namespace });
}

/** Resolves when Temporal answers a health check within `timeoutMs`; rejects otherwise. */
export async function checkTemporal(client: Client, timeoutMs = 2_000): Promise<void> {
  const connection = client.connection as Connection;
  await connection.withDeadline(Date.now() + timeoutMs, () => connection.workflowService.getSystemInfo({}));
}
