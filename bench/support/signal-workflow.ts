// The bare limit for signal handling: a workflow that does nothing but count signals until it has
// received the number it was started with.
import * as wf from '@temporalio/workflow';

export const tick = wf.defineSignal<[number]>('tick');

export async function signalCounter(expected: number): Promise<number> {
  let received = 0;
  wf.setHandler(tick, () => void (received += 1));
  await wf.condition(() => received >= expected);
  return received;
}
