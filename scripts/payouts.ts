// The finance CLI: `npm run payouts -- preview|run|status [cycleId] [--frequency monthly]`.
// The same services as the API (services/payouts.ts), straight against PostgreSQL and Temporal:
// DATABASE_URL (default: the dev database `npm run dev` runs), TEMPORAL_ADDRESS, TEMPORAL_TASK_QUEUE.
import { Client, Connection } from '@temporalio/client';
import { z } from 'zod';
import { createDatabasePool } from '../db/pool.ts';
import { PAYOUT_FREQUENCIES, type PayoutFrequency } from '../domain/partner-settings.ts';
import { getCycle, previewCycle, startCycle } from '../services/payouts.ts';
import { ServiceError } from '../services/errors.ts';

const env = z
  .object({
    DATABASE_URL: z
      .string()
      .default(`postgres://postgres:postgres@127.0.0.1:${process.env.DEV_PG_PORT ?? 55432}/referral_graph`),
    TEMPORAL_ADDRESS: z.string().default('localhost:7233'),
    TEMPORAL_NAMESPACE: z.string().default('default'),
    TEMPORAL_TASK_QUEUE: z.string().default('referral-graph'),
  })
  .parse(process.env);

const USAGE = `usage: npm run payouts -- <command>
  preview [--frequency f]   who a cycle would pay now, how much, who rolls forward and why (nothing moves)
  run [--frequency f]       start a cycle and follow it to the end
  status <cycleId>          a cycle's progress and outcome per partner
frequencies: ${PAYOUT_FREQUENCIES.join(', ')} (default: all)`;

const cents = (n: number) =>
  `${n < 0 ? '-' : ''}$${(Math.abs(n) / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

function table(rows: Record<string, string | number>[]): void {
  if (rows.length === 0) return void console.log('(none)');
  const keys = Object.keys(rows[0]!);
  const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => String(r[k]).length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (typeof rows[0]![keys[i]!] === 'number' ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ');
  console.log(line(keys));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(keys.map((k) => String(r[k]))));
}

function progressBar(done: number, total: number): string {
  const width = 30;
  const share = total === 0 ? 1 : Math.min(1, done / total);
  const filled = Math.round(share * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(share * 100)).padStart(3)}% ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} partners`;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const fi = rest.indexOf('--frequency');
  const frequency = fi >= 0 ? rest[fi + 1] : undefined;
  if (frequency !== undefined && !(PAYOUT_FREQUENCIES as readonly string[]).includes(frequency)) {
    console.error(`unknown frequency "${frequency}"\n${USAGE}`);
    return 2;
  }
  const frequencies = frequency ? [frequency as PayoutFrequency] : undefined;
  if (!command || !['preview', 'run', 'status'].includes(command)) {
    console.error(USAGE);
    return 2;
  }
  const db = await createDatabasePool(env.DATABASE_URL, 4);
  try {
    if (command === 'preview') {
      const preview = await previewCycle({ db }, { frequencies });
      table(
        preview.items.slice(0, 200).map((i) => ({
          partner: i.tenantId,
          period: i.period,
          outcome: i.outcome,
          rail: i.rail ?? '',
          amount: cents(i.amountCents),
          reason: i.reason ?? '',
        })),
      );
      if (preview.items.length > 200) console.log(`... and ${preview.items.length - 200} more`);
      const t = preview.totals;
      console.log(
        `\n${t.partners} partners: ${t.wouldPay} would be paid ${cents(t.wouldPayCents)}, ${t.rolledForward} roll forward, ${t.skipped} skipped, ${t.inProgress} in progress (nothing moved)`,
      );
      return 0;
    }
    const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
    try {
      const temporal = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
      let cycleId = rest.find((a) => !a.startsWith('--') && a !== frequency);
      if (command === 'run') {
        const due = (await previewCycle({ db }, { frequencies })).totals.partners;
        const started = await startCycle(
          { db, temporal, taskQueue: env.TEMPORAL_TASK_QUEUE },
          { requestedBy: `cli:${process.env.USER ?? 'finance'}`, frequencies },
        );
        cycleId = started.cycleId;
        console.error(`cycle ${cycleId} started (workflow ${started.workflowId})`);
        const handle = temporal.workflow.getHandle(started.workflowId);
        const result = handle.result();
        let finished = false;
        void result.finally(() => void (finished = true)).catch(() => {});
        while (!finished) {
          const seen = await getCycle({ db }, cycleId).then(
            (c) => c.totals.reduce((s, t) => s + t.partners, 0),
            () => 0,
          );
          if (process.stderr.isTTY) process.stderr.write(`\r${progressBar(seen, due)}`);
          await Promise.race([result.catch(() => {}), new Promise((r) => setTimeout(r, 500))]);
        }
        const outcome = await result;
        if (process.stderr.isTTY) process.stderr.write(`\r${progressBar(due, due)}\n`);
        if (outcome.status === 'skipped') {
          console.error(`another cycle was running: ${outcome.runningCycleId}`);
          return 1;
        }
      }
      if (!cycleId) {
        console.error(`status needs a cycle id\n${USAGE}`);
        return 2;
      }
      const view = await getCycle({ db }, cycleId, { limit: 1_000 });
      console.log(
        `cycle ${view.cycle.id}: ${view.cycle.status}, ${view.cycle.trigger} by ${view.cycle.requested_by}, started ${view.cycle.started_at.toISOString()}${view.cycle.completed_at ? `, completed ${view.cycle.completed_at.toISOString()}` : ''}\n`,
      );
      table(view.totals.map((t) => ({ outcome: t.outcome, partners: t.partners, amount: cents(t.amount_cents) })));
      const notable = view.items.filter((i) => i.outcome !== 'paid').slice(0, 100);
      if (notable.length) {
        console.log('');
        table(
          notable.map((i) => ({
            partner: i.tenant_id,
            outcome: i.outcome,
            reason: i.reason ?? '',
            amount: cents(i.amount_cents),
            payout: i.payout_id ?? '',
          })),
        );
      }
      return 0;
    } finally {
      await connection.close();
    }
  } catch (err) {
    if (err instanceof ServiceError) {
      console.error(`${err.code}: ${err.message}`);
      return 1;
    }
    throw err;
  } finally {
    await db.end();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
