/**
 * The output queue against a sink that takes part of each write, as a socket whose reader lags
 * does: what counts as pending, and the order of the bytes.
 */

import assert from "node:assert/strict";
import { OutQueue } from "../../src/transport/out_queue.ts";

/** A sink whose writes wait until the test says how many bytes each one took. */
function partialSink() {
  const writes: { data: Uint8Array; take: (n: number) => void }[] = [];
  const sink = {
    write: (data: Uint8Array) =>
      new Promise<number>((take) => writes.push({ data: data.slice(), take })),
  };
  return { sink, writes };
}

/** Let the queue's microtasks (the flush, the write completions) run. */
function turn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("OutQueue.pendingBytes counts what a partial write left unsent, not its whole batch", async () => {
  const { sink, writes } = partialSink();
  const out = new OutQueue(sink, { outputFailed: () => assert.fail("no write fails") });
  out.push(new Uint8Array(1000).fill(1));
  await turn();
  assert.equal(writes.length, 1);
  assert.equal(out.pendingBytes, 1000);

  writes[0].take(400);
  await turn();
  assert.deepEqual([writes.length, writes[1].data.length, out.pendingBytes], [2, 600, 600]);

  out.push(new Uint8Array(50).fill(2)); // collected while the rest is written
  assert.equal(out.pendingBytes, 650);
  writes[1].take(600);
  await turn();
  assert.deepEqual([writes.length, [...writes[2].data], out.pendingBytes], [
    3,
    new Array(50).fill(2),
    50,
  ]);

  const drained = out.drained();
  writes[2].take(50);
  await drained;
  assert.deepEqual([out.pendingBytes, out.bytesWritten], [0, 1050]);
});
