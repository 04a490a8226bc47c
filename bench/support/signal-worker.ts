// A worker process for the bare signal workflow (bench/support/signal-workflow.ts), on its own task queue.
import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker, makeTelemetryFilterString } from '@temporalio/worker';

Runtime.install({
  logger: new DefaultLogger('WARN'),
  telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }) } },
});
const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
const worker = await Worker.create({
  connection,
  taskQueue: process.env.BENCH_TASK_QUEUE!,
  workflowsPath: fileURLToPath(new URL('./signal-workflow.ts', import.meta.url)),
  bundlerOptions: { logger: new DefaultLogger('ERROR') } as never,
  maxCachedWorkflows: 1_000,
});
process.send?.('ready');
await worker.run();
await connection.close();
