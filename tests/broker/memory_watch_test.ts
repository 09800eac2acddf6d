import assert from "node:assert/strict";
import { MemoryWatch, RECLAIM_AFTER_BYTES } from "../../src/broker/memory_watch.ts";
import { ALL_LOG_TYPES, Logger } from "../../src/log/logger.ts";

const MiB = 1024 * 1024;

/** A watch reading `memory.used`, counting reclaims (which may lower `memory.used`). */
function fakeWatch(used: number, afterReclaim?: number) {
  const memory = { used, reclaims: 0, logs: [] as string[] };
  const watch = new MemoryWatch({
    read: () => memory.used,
    reclaim: () => {
      memory.reclaims++;
      if (afterReclaim !== undefined) memory.used = afterReclaim;
    },
  });
  const log = new Logger({
    types: ALL_LOG_TYPES,
    timestamp: false,
    sinks: [(line) => memory.logs.push(line)],
  });
  const check = (limit: number, now = 0, retainedBytes = 0) =>
    watch.check({ limit, retainedBytes, now, log });
  return { watch, memory, check };
}

Deno.test("MemoryWatch: no limit leaves unlimited headroom and reads nothing", () => {
  const { watch, check } = fakeWatch(Number.NaN);
  check(0);
  assert.equal(watch.headroom, Infinity);
  assert.equal(watch.used, 0);
});

Deno.test("MemoryWatch: headroom is the limit less the memory read", () => {
  const { watch, check } = fakeWatch(60 * MiB);
  check(100 * MiB);
  assert.equal(watch.headroom, 40 * MiB);
  assert.equal(watch.used, 60 * MiB);
});

Deno.test("MemoryWatch: over the limit, garbage is collected before the figure counts", () => {
  const { watch, memory, check } = fakeWatch(120 * MiB, 80 * MiB);
  check(100 * MiB);
  assert.equal(memory.reclaims, 1);
  assert.equal(watch.headroom, 20 * MiB);
  assert.deepEqual(memory.logs, []);
});

Deno.test("MemoryWatch: over the limit it warns once, reclaims at most every 10 s, and says when back under", () => {
  const { watch, memory, check } = fakeWatch(120 * MiB);
  check(100 * MiB, 0);
  check(100 * MiB, 250);
  check(100 * MiB, 9_999);
  assert.equal(memory.reclaims, 1);
  check(100 * MiB, 10_000);
  assert.equal(memory.reclaims, 2);
  assert.equal(watch.headroom, -20 * MiB);
  assert.equal(memory.logs.length, 1);
  assert.match(memory.logs[0], /memory_limit of 104857600 bytes reached/);
  memory.used = 90 * MiB;
  check(100 * MiB, 10_250);
  assert.equal(memory.logs.length, 2);
  assert.match(memory.logs[1], /back under memory_limit/);
});

Deno.test("MemoryWatch: a refusal is logged once per client until memory is back under", () => {
  const { watch, memory, check } = fakeWatch(120 * MiB);
  check(100 * MiB);
  assert.equal(watch.refuse("a"), true);
  assert.equal(watch.refuse("a"), false);
  assert.equal(watch.refuse("b"), true);
  assert.equal(watch.refused, 3);
  memory.used = 50 * MiB;
  check(100 * MiB, 250);
  assert.equal(watch.refuse("a"), true);
});

Deno.test("MemoryWatch: memory is reclaimed once a clearing of retained messages pauses", () => {
  const { memory, check } = fakeWatch(0);
  const peak = 4 * RECLAIM_AFTER_BYTES;
  check(0, 0, peak);
  check(0, 250, peak / 2);
  check(0, 500, 0);
  assert.equal(memory.reclaims, 0); // still clearing
  check(0, 750, 0);
  assert.equal(memory.reclaims, 1);
  check(0, 1000, 0);
  assert.equal(memory.reclaims, 1);
  check(0, 1250, RECLAIM_AFTER_BYTES);
  check(0, 1500, 1);
  check(0, 1750, 1);
  assert.equal(memory.reclaims, 1); // less than RECLAIM_AFTER_BYTES freed since
});

Deno.test("MemoryWatch: small retained stores are never reclaimed for", () => {
  const { memory, check } = fakeWatch(0);
  check(0, 0, RECLAIM_AFTER_BYTES - 1);
  check(0, 250, 0);
  assert.equal(memory.reclaims, 0);
});
