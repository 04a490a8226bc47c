// A local Temporal dev server (real Temporal on SQLite, Web UI included) with the project's
// search attributes registered. Uses the provisioned CLI; without one, the SDK's own download.
import { spawn, type ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../contracts/search-attributes.ts';
import { childEnv } from './child-env.ts';
import { waitFor } from './ports.ts';
import { onShutdown, trackChild } from './shutdown.ts';

export type LocalTemporal = { address: string; uiUrl: string | null; stop(): Promise<void> };

export type LocalTemporalOptions = {
  cli: string | undefined;
  port: number;
  uiPort: number | null;
  /** SQLite file to keep state between runs; in memory when null. */
  dbFile: string | null;
};

// Without these the persistent SQLite store runs at a third of the in-memory speed.
const SQLITE_PRAGMAS = ['--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal'];

export async function startLocalTemporal({ cli, port, uiPort, dbFile }: LocalTemporalOptions): Promise<LocalTemporal> {
  const address = `127.0.0.1:${port}`;
  const uiUrl = uiPort ? `http://localhost:${uiPort}` : null;
  if (!cli) return startDownloaded({ port, uiPort, dbFile, address, uiUrl });
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    ...(uiPort ? ['--ui-port', String(uiPort)] : ['--headless']),
    ...(dbFile ? ['--db-filename', dbFile, ...SQLITE_PRAGMAS] : []),
    ...CUSTOM_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]),
    '--log-level',
    'error',
  ];
  // Our environment stays ours: the CLI reads TEMPORAL_* variables of its own (scripts/child-env.ts).
  const child: ChildProcess = trackChild(spawn(cli, args, { stdio: ['ignore', 'ignore', 'pipe'], env: childEnv() }));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => void (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', resolve);
    // Not started at all (not executable, say): an error event, no exit.
    child.once('error', (err) => {
      stderr += `${cli}: ${err.message}`;
      resolve(null);
    });
  });
  const stop = async () => {
    unregister();
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const unregister = onShutdown('the Temporal dev server', stop);
  let ended = false;
  void exited.then(() => (ended = true));
  try {
    await Promise.race([
      waitFor(
        `the Temporal dev server on ${address}`,
        async () => {
          const connection = await Connection.connect({ address, connectTimeout: 1_000 });
          try {
            await connection.workflowService.getSystemInfo({});
            // Search attributes are registered asynchronously after the frontend answers.
            const { customAttributes } = await connection.operatorService.listSearchAttributes({
              namespace: 'default',
            });
            if (!CUSTOM_SEARCH_ATTRIBUTES.every((k) => customAttributes && k.name in customAttributes))
              throw new Error('search attributes not registered yet');
          } finally {
            await connection.close();
          }
        },
        60_000,
        () => ended, // no polling on once it died
      ),
      exited.then((code) => {
        throw new Error(
          `the Temporal dev server exited (code ${code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
        );
      }),
    ]);
  } catch (err) {
    unregister();
    child.kill('SIGKILL');
    await exited;
    throw err;
  }
  return { address, uiUrl, stop };
}

async function startDownloaded({
  port,
  uiPort,
  dbFile,
  address,
  uiUrl,
}: Omit<LocalTemporalOptions, 'cli'> & { address: string; uiUrl: string | null }): Promise<LocalTemporal> {
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'cached-download' },
      ip: '127.0.0.1',
      port,
      ...(uiPort ? { ui: true, uiPort } : {}),
      ...(dbFile ? { dbFilename: dbFile } : {}),
      searchAttributes: CUSTOM_SEARCH_ATTRIBUTES,
      extraArgs: [...(dbFile ? SQLITE_PRAGMAS : []), '--log-level', 'error'],
    },
  }).catch((err: Error) => {
    throw new Error(
      `no Temporal CLI: Go is not installed to build one and the SDK's own download failed (${err.message}); install Go, or set TEMPORAL_CLI to a Temporal CLI binary, or TEMPORAL_ADDRESS to a running server.`,
    );
  });
  const unregister = onShutdown('the Temporal dev server', () => env.teardown());
  return {
    address,
    uiUrl,
    stop: () => {
      unregister();
      return env.teardown();
    },
  };
}

/**
 * Temporal's time-skipping test server (from `executable`, else the SDK's download), with the
 * project's search attributes registered: it starts with none, and the workflows upsert ours.
 */
export async function startTimeSkippingServer(executable: string | undefined) {
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const { default: proto } = await import('@temporalio/proto');
  const options = executable ? { server: { executable: { type: 'existing-path' as const, path: executable } } } : {};
  // The SDK gives the test server 5 s to answer; on a loaded machine its JVM can take longer to
  // start. A start that timed out is tried again, up to 5 times with a growing pause (the SDK stops the process it
  // started).
  let env: Awaited<ReturnType<typeof TestWorkflowEnvironment.createTimeSkipping>> | undefined;
  for (let attempt = 1; env === undefined; attempt++) {
    try {
      env = await TestWorkflowEnvironment.createTimeSkipping(options);
    } catch (error) {
      if (attempt >= 5 || !/did not start within/.test(String(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1_000 * attempt));
    }
  }
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(
      CUSTOM_SEARCH_ATTRIBUTES.map((key) => [
        key.name,
        proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      ]),
    ),
  });
  return env;
}
