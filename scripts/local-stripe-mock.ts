// stripe-mock (Stripe's own mock of its API) on a loopback port: tests check that the requests the
// Stripe SDK makes for us are valid Stripe requests. It keeps no state; payout logic is tested
// against test/support/fake-stripe.ts.
import { spawn } from 'node:child_process';
import { waitFor } from './ports.ts';

export type LocalStripeMock = { url: string; stop(): Promise<void> };

export async function startStripeMock({ bin, port }: { bin: string; port: number }): Promise<LocalStripeMock> {
  // HTTPS on a port the system picks: its default (12112) would keep two test runs from running side by side.
  const child = spawn(bin, ['-http-addr', `127.0.0.1:${port}`, '-https-addr', '127.0.0.1:'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => void (stderr = (stderr + c.toString('utf8')).slice(-2_000)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  };
  try {
    await waitFor(
      'stripe-mock',
      async () => {
        if (child.exitCode !== null) throw new Error(`stripe-mock exited (${child.exitCode}): ${stderr}`);
        await fetch(`${url}/v1/balance`, { headers: { authorization: 'Bearer sk_test_123' } });
      },
      30_000,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, stop };
}
