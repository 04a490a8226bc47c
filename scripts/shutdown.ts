// Whatever a run starts (PostgreSQL, Temporal, stripe-mock, the app's processes) stops with it,
// however the run ends: done, failed, interrupted (Ctrl-C, `kill`, a closed terminal) or crashed.
// A server registers its orderly stop as soon as its process is spawned, not once it is ready, so
// a run that fails while another server is still starting leaves nothing behind; and every process
// spawned is killed outright when ours exits, should an orderly stop not have run.
import type { ChildProcess } from 'node:child_process';

type Stop = { name: string; stop: () => Promise<void> };

const stops: Stop[] = [];
const children = new Set<ChildProcess>();
let stopping: Promise<void> | undefined;

/** The process is killed (SIGKILL) when ours exits, if it is still running then. */
export function trackChild<C extends ChildProcess>(child: C): C {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Registers an orderly stop, run by `shutdown()` (last registered first); the answer unregisters it. */
export function onShutdown(name: string, stop: () => Promise<void>): () => void {
  const entry = { name, stop };
  stops.push(entry);
  return () => {
    const i = stops.indexOf(entry);
    if (i >= 0) stops.splice(i, 1);
  };
}

/** Runs every registered stop, the last registered first, each at most once; a stop that fails does not keep the others from running. */
export function shutdown(log: (line: string) => void = () => {}): Promise<void> {
  stopping ??= (async () => {
    while (stops.length > 0) {
      const { name, stop } = stops.pop()!;
      await stop().catch((err: unknown) => log(`stopping ${name} failed: ${(err as Error)?.message ?? err}`));
    }
  })();
  return stopping;
}

const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;

/**
 * Signals and crashes stop everything before the process exits: the first signal stops in order, a
 * second one exits at once (the exit hook still kills every process we spawned). A signal exits with
 * 128 + its number unless `signalExitCode` says otherwise (Ctrl-C is how `npm run dev` is meant to end).
 */
export function installShutdownHandlers(log: (line: string) => void, signalExitCode?: number): void {
  let signals = 0;
  for (const [signal, number] of Object.entries(SIGNALS)) {
    process.on(signal, () => {
      signals += 1;
      const code = signalExitCode ?? 128 + number;
      if (signals > 1) process.exit(code);
      log(`${signal}: stopping everything this run started`);
      void shutdown(log).finally(() => process.exit(code));
    });
  }
  const crash = (err: unknown) => {
    log(`stopping after an unexpected error: ${(err as Error)?.stack ?? err}`);
    void shutdown(log).finally(() => process.exit(1));
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
}

process.on('exit', () => {
  for (const child of children) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});
