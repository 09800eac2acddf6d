/**
 * Opening and closing many connections with a bounded number in progress (a broker's listen
 * backlog is small: Mosquitto's is 100).
 *
 * @module
 */

import type { BenchClient } from "./client.ts";

/**
 * Run `task(0..count-1)` with at most `concurrency` in progress; rejects with the first error
 * after the tasks already started have settled.
 */
export async function forEachLimited(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    // Each worker takes indices until none are left or one failed: at most `count` tasks.
    while (next < count && failure === undefined) {
      const i = next++;
      try {
        await task(i);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  if (failure !== undefined) throw failure;
}

/**
 * Send DISCONNECT on every client and wait (up to `waitMs` each, 256 at a time) for the broker
 * to close first. Resolves to how many the broker closed within the wait.
 */
export async function disconnectAll(clients: BenchClient[], waitMs: number): Promise<number> {
  let closedFirst = 0;
  await forEachLimited(clients.length, 256, async (i) => {
    if (await clients[i].disconnect(waitMs)) closedFirst++;
  });
  return closedFirst;
}
