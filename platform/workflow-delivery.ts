// Starting and telling workflows, the one way every part of the system does it. Workflow ids are
// business ids and never reused (REJECT_DUPLICATE; a deployment's restartable singleton excepted):
// a start that already happened is a repeat, and a workflow that has ended refuses signal-with-start rather than being
// started again, which is how an ended workflow is told apart from one not started yet.
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy, type SignalDefinition } from '@temporalio/common';
import type { DeliveryOutcome, WorkflowStart } from '../contracts/workflow-start.ts';

type Signal = string | SignalDefinition<any[]>;

function startOptions(start: WorkflowStart, taskQueue: string) {
  return {
    workflowId: start.workflowId,
    taskQueue,
    args: start.args,
    typedSearchAttributes: start.searchAttributes,
    staticSummary: start.summary,
    workflowIdReusePolicy: start.restartable
      ? WorkflowIdReusePolicy.ALLOW_DUPLICATE
      : WorkflowIdReusePolicy.REJECT_DUPLICATE,
  };
}

/** Starts the workflow; one started before (this is a repeat) counts as started. */
export async function startOnce(client: Client, start: WorkflowStart, taskQueue: string): Promise<void> {
  try {
    await client.workflow.start(start.workflowType, startOptions(start, taskQueue));
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

/**
 * A plain signal, the cheaper call, for the usual case of a running workflow; false when none runs (not started yet, or
 * ended).
 */
export async function signalIfRunning(
  client: Client,
  workflowId: string,
  signal: Signal,
  args: readonly unknown[],
): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).signal(signal, ...args);
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/**
 * Signal-with-start from the workflow's recorded start: started with the message if it had not been, refused if it has
 * ended.
 */
export async function signalWithStart(
  client: Client,
  start: WorkflowStart,
  taskQueue: string,
  signal: Signal,
  args: readonly unknown[],
): Promise<DeliveryOutcome> {
  try {
    await client.workflow.signalWithStart(start.workflowType, {
      ...startOptions(start, taskQueue),
      signal,
      signalArgs: [...args],
    });
    return 'delivered';
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return 'workflow_closed';
    throw err;
  }
}
