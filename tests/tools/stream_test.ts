/**
 * `pub -l` streaming: 10,000 lines at QoS 1 from `pub -l` into `sub -q 1` of the same
 * implementation, and into an in-process observer, against both brokers: every line arrives,
 * once, in order.
 *
 * @module
 */

import assert from "node:assert/strict";
import { outcome, text, toolMatrix } from "./harness.ts";

const LINES = 10_000;

toolMatrix({
  name: `pub -l -q 1 streams ${LINES} lines into sub -q 1: every line arrives, once, in order`,
  tool: "pub",
  // Room for all of them in the broker's queue, so a slow subscriber cannot lose any there.
  broker: { maxQueuedMessages: LINES * 2 },
  fn: async (ctx) => {
    const lines = Array.from({ length: LINES }, (_, i) => `line ${i + 1} ${"·".repeat(i % 17)}`);
    const observer = await ctx.peer();
    await observer.subscribe("stream/t", 1);
    const sub = ctx.spawn("sub", [
      ...[...ctx.host, "-i", "stream-sub", "-t", "stream/t", "-q", "1", "-C", `${LINES}`],
      ...["-W", "20"],
    ]);
    await ctx.subscribed(sub, "stream-sub", 1, "stream/t");
    const started = Date.now();
    const exit = await ctx.run("pub", [...ctx.host, "-t", "stream/t", "-l", "-q", "1"], {
      stdin: lines.join("\n") + "\n",
      timeoutMs: 15_000,
    });
    assert.deepEqual(outcome(exit), { code: 0, stdout: "", stderr: "" });
    const printed = await sub.wait(15_000);
    assert.equal(printed.code, 0, sub.describe());
    const got = text(printed.stdout).split("\n");
    assert.equal(got.pop(), "");
    assert.equal(got.length, LINES);
    const firstWrong = got.findIndex((l, i) => l !== lines[i]);
    assert.equal(firstWrong, -1, `line ${firstWrong + 1}: ${JSON.stringify(got[firstWrong])}`);
    const seen = await observer.receive(LINES, 10_000);
    assert.ok(seen.every((m, i) => m.text === lines[i] && m.qos === 1), "the observer's copy");
    assert.ok(Date.now() - started < 15_000);
  },
});
