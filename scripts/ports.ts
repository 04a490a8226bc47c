import { createServer } from 'node:net';

/** Resolves when nothing listens on the port (on any address), else rejects with a fix-it line. */
export async function assertPortFree(port: number, what: string, envVar: string): Promise<void> {
  const free = await new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '::', ipv6Only: false }, () => server.close(() => resolve(true)));
  });
  if (!free)
    throw new Error(
      `port ${port} (${what}) is already in use: stop whatever holds it (\`ss -ltnp 'sport = :${port}'\` shows it) or set ${envVar} to another port.`,
    );
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * Polls `probe` until it succeeds or `timeoutMs` passes, then rejects naming `what`. `hopeless`: when it answers true
 * after a failed probe (the process died), the probe's error is the answer at once.
 */
export async function waitFor(
  what: string,
  probe: () => Promise<unknown>,
  timeoutMs = 60_000,
  hopeless: () => boolean = () => false,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      await probe();
      return;
    } catch (err) {
      lastError = err;
      if (hopeless()) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(
    `${what} did not come up within ${Math.round(timeoutMs / 1000)} s (${String((lastError as Error)?.message ?? lastError)})`,
  );
}
