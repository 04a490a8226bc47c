// stripe-mock (Stripe's own mock of its API) on loopback ports we choose: tests check that the
// requests the Stripe SDK makes for us are valid Stripe requests. It keeps no state; payout logic
// is tested against test/support/fake-stripe.ts.
//
// stripe-mock always opens a second listener, for HTTPS, and left to itself binds it on every
// interface, on PORT when that variable is set and on 12112 otherwise: `PORT=4000 npm run dev`
// lost port 4000 to it, and a second stack (`npm test` beside `npm run dev`) failed with "address
// already in use". So both listeners are pinned to 127.0.0.1 on ports picked here, and stripe-mock
// gets none of our environment (scripts/child-env.ts).
import { spawn } from 'node:child_process';
import { childEnv } from './child-env.ts';
import { freePort, waitFor } from './ports.ts';
import { onShutdown, trackChild } from './shutdown.ts';

export type LocalStripeMock = {
  url: string;
  /** The HTTPS listener stripe-mock insists on, also on loopback. */
  httpsUrl: string;
  /** What stripe-mock said it listens on (`127.0.0.1:<port>`, HTTP then HTTPS). */
  listening: string[];
  stop(): Promise<void>;
};

/** A port picked free can be taken before stripe-mock binds it: then it tries again on others. */
const ATTEMPTS = 3;

export async function startStripeMock({
  bin,
  port,
  httpsPort,
}: {
  bin: string;
  /** The HTTP port; a free one when left out. */
  port?: number;
  /** The HTTPS port; a free one when left out. */
  httpsPort?: number;
}): Promise<LocalStripeMock> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const ports = { http: port ?? (await freePort()), https: httpsPort ?? (await freePort()) };
    try {
      return await startOnce(bin, ports);
    } catch (err) {
      lastError = err;
      const chosenByUs = port === undefined && httpsPort === undefined;
      if (!chosenByUs || !/address already in use/.test(String((err as Error).message))) break;
    }
  }
  throw lastError;
}

async function startOnce(bin: string, ports: { http: number; https: number }): Promise<LocalStripeMock> {
  const child = trackChild(
    spawn(bin, ['-http-addr', `127.0.0.1:${ports.http}`, '-https-addr', `127.0.0.1:${ports.https}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: childEnv(),
    }),
  );
  let output = '';
  const listening: string[] = [];
  child.stdout.on('data', (c: Buffer) => {
    for (const m of c.toString('utf8').matchAll(/Listening for HTTPS? at address: (\S+)/g)) listening.push(m[1]!);
  });
  child.stderr.on('data', (c: Buffer) => void (output = (output + c.toString('utf8')).slice(-2_000)));
  let spawnError: Error | undefined;
  child.once('error', (err) => void (spawnError = err));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const url = `http://127.0.0.1:${ports.http}`;
  const stop = async () => {
    unregister();
    if (child.exitCode === null && child.signalCode === null && !spawnError) child.kill('SIGTERM');
    await exited;
  };
  const unregister = onShutdown('stripe-mock', stop);
  try {
    await waitFor(
      'stripe-mock',
      async () => {
        if (spawnError) throw new Error(`stripe-mock could not start (${bin}: ${spawnError.message})`);
        if (child.exitCode !== null) throw new Error(`stripe-mock exited (${child.exitCode}): ${output.trim()}`);
        await fetch(`${url}/v1/balance`, { headers: { authorization: 'Bearer sk_test_123' } });
        if (listening.length < 2) throw new Error('not listening on both addresses yet');
      },
      30_000,
      () => spawnError !== undefined || child.exitCode !== null,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, httpsUrl: `https://127.0.0.1:${ports.https}`, listening, stop };
}
