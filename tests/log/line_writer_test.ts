/**
 * LineWriter: one write per turn, partial writes, a bounded buffer that drops and counts when
 * the reader stops and says so once it resumes, write errors told once; Logger.close bounded.
 */

import assert from "node:assert/strict";
import { droppedLinesWarning, LineWriter } from "../../src/log/line_writer.ts";
import { Logger } from "../../src/log/logger.ts";
import { delay } from "../integration/harness.ts";

/**
 * A descriptor that records what is written, at most `chunk` bytes per write, and whose
 * writes wait while `stalled` (a reader that stopped reading).
 */
class FakeTarget {
  writes: string[] = [];
  #decoder = new TextDecoder();
  #resume: (() => void) | undefined;
  #stall: Promise<void> | undefined;

  constructor(readonly chunk = Infinity) {}

  /** Make later writes wait until resume(). */
  stall(): void {
    this.#stall = new Promise((resolve) => this.#resume = resolve);
  }

  resume(): void {
    this.#stall = undefined;
    this.#resume?.();
  }

  async write(p: Uint8Array): Promise<number> {
    await this.#stall;
    const n = Math.min(p.length, this.chunk);
    this.writes.push(this.#decoder.decode(p.subarray(0, n)));
    return n;
  }

  get text(): string {
    return this.writes.join("");
  }
}

Deno.test("LineWriter writes the lines of one turn in one write, in order", async () => {
  const target = new FakeTarget();
  const writer = new LineWriter(target);
  writer.write("one");
  writer.write("two");
  writer.write("three");
  assert.deepEqual(target.writes, []); // nothing written synchronously
  await writer.flush();
  assert.deepEqual(target.writes, ["one\ntwo\nthree\n"]);
  writer.write("four");
  await writer.flush();
  assert.deepEqual(target.writes, ["one\ntwo\nthree\n", "four\n"]);
});

Deno.test("LineWriter finishes partial writes before the next lines", async () => {
  const target = new FakeTarget(5);
  const writer = new LineWriter(target);
  writer.write("a line of 20 bytes.");
  await delay(0);
  writer.write("next");
  await writer.flush();
  assert.equal(target.text, "a line of 20 bytes.\nnext\n");
  assert.ok(target.writes.every((w) => w.length <= 5));
});

Deno.test("a full LineWriter drops and counts lines, then one line says how many, where they were", async () => {
  const target = new FakeTarget();
  const writer = new LineWriter(target, { maxBytes: 30 });
  const stamp = (m: string) => `123: ${m}`;
  target.stall();
  writer.write("line 0", stamp); // in flight, stalled: 7 of 30 bytes
  await delay(0);
  writer.write("line 1", stamp);
  writer.write("line 2", stamp);
  writer.write("line 3", stamp); // 28 bytes held
  writer.write("line 4", (m) => `unused: ${m}`); // over the limit: dropped
  writer.write("5", stamp); // would fit, but lines are missing before it: dropped too
  assert.equal(writer.dropped, 2);
  target.resume();
  await delay(0);
  writer.write("line 6"); // after a write completed: taken again
  await writer.flush();
  assert.equal(
    target.text,
    "line 0\nline 1\nline 2\nline 3\n123: " + droppedLinesWarning(2) + "\nline 6\n",
  );
  assert.equal(
    droppedLinesWarning(2),
    "Warning: 2 log lines dropped: log output was not being read.",
  );
  assert.equal(writer.dropped, 2);
});

Deno.test("a LineWriter whose writes fail tells onError once per failing run", async () => {
  const errors: string[] = [];
  let fail = true;
  const writer = new LineWriter({
    write: (p) => fail ? Promise.reject(new Error("disk full")) : Promise.resolve(p.length),
  }, { onError: (e) => errors.push(e.message) });
  writer.write("one");
  await writer.flush();
  writer.write("two");
  await writer.flush();
  assert.deepEqual(errors, ["disk full"]);
  fail = false;
  writer.write("three");
  await writer.flush();
  fail = true;
  writer.write("four");
  await writer.flush();
  assert.deepEqual(errors, ["disk full", "disk full"]);
});

Deno.test("Logger.close waits for pending lines at most its timeout; droppedLines sums destinations", async () => {
  const stalled = new FakeTarget();
  stalled.stall();
  const writer = new LineWriter(stalled, { maxBytes: 10 });
  const logger = new Logger({
    timestamp: false,
    sinks: [{
      write: (line) => writer.write(line),
      flush: () => writer.flush(),
      get dropped() {
        return writer.dropped;
      },
    }, { write: () => {}, dropped: 3 }],
  });
  logger.notice("kept");
  logger.notice("dropped line");
  const started = Date.now();
  await logger.close(100);
  assert.ok(Date.now() - started < 1000);
  assert.equal(logger.droppedLines, 4);
  stalled.resume(); // let the pending write end before the test does
  await writer.flush();
  assert.equal(stalled.text, "kept\n" + droppedLinesWarning(1) + "\n");
});
