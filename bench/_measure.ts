// Load helpers for the benchmarks: a fixed number of operations at a fixed concurrency, with
// per-operation latencies.

export type Measured = { count: number; seconds: number; perSecond: number; p50: number; p99: number; errors: number };

/** The figures of a finished run: its rate over the whole run, latency percentiles, errors. */
function measured(count: number, started: number, latencies: number[], errors: number): Measured {
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    count,
    seconds,
    perSecond: latencies.length / seconds,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    errors,
  };
}

export async function measure(count: number, concurrency: number, op: (i: number) => Promise<void>): Promise<Measured> {
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t = performance.now();
        try {
          await op(i);
          latencies.push(performance.now() - t);
        } catch (err) {
          if (errors++ === 0) console.error('first error:', err);
        }
      }
    }),
  );
  return measured(count, started, latencies, errors);
}

/** `count` operations issued at `perSecond`, whatever their latency (an open-loop load). */
export async function pace(count: number, perSecond: number, op: (i: number) => Promise<void>): Promise<Measured> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const due = started + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const t = performance.now();
    pending.push(
      op(i).then(
        () => void latencies.push(performance.now() - t),
        () => void errors++,
      ),
    );
  }
  await Promise.all(pending);
  return measured(count, started, latencies, errors);
}

export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : fallback;
}
