/**
 * Group commit over a store whose commits the test releases by hand: batching while a commit
 * is in flight, records created and deleted before leaving never reach the store, batches are
 * reported in order (empty ones too), a failed batch is retried with newer changes winning.
 */

import assert from "node:assert/strict";
import { GroupCommit } from "../../src/store/group_commit.ts";
import type { LoadedRecords, Store, StoreChanges, StoreStats } from "../../src/store/store.ts";

/** A store that records each commit and resolves it when the test says. */
class ManualStore implements Store {
  readonly location = "manual";
  readonly data = new Map<string, Uint8Array>();
  readonly commits: Map<string, string | null>[] = [];
  #waiting: { changes: StoreChanges; resolve: () => void; reject: (e: Error) => void }[] = [];

  load(): Promise<LoadedRecords> {
    return Promise.resolve({ records: new Map(this.data), problems: [] });
  }

  commit(changes: StoreChanges): Promise<void> {
    const seen = new Map<string, string | null>();
    for (const [k, v] of changes) seen.set(k, v === null ? null : new TextDecoder().decode(v));
    this.commits.push(seen);
    return new Promise((resolve, reject) => this.#waiting.push({ changes, resolve, reject }));
  }

  /** Let the oldest commit succeed (or fail with `error`). */
  settle(error?: Error): void {
    const w = this.#waiting.shift();
    if (w === undefined) throw new Error("no commit in flight");
    if (error !== undefined) return w.reject(error);
    for (const [k, v] of w.changes) v === null ? this.data.delete(k) : this.data.set(k, v);
    w.resolve();
  }

  get inFlight(): number {
    return this.#waiting.length;
  }

  stats(): StoreStats {
    return { records: this.data.size, liveBytes: 0, storedBytes: 0, commits: this.commits.length };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

const bytes = (s: string) => new TextEncoder().encode(s);
const turn = () => new Promise((resolve) => setTimeout(resolve, 0));

function setup() {
  const store = new ManualStore();
  const done: [number, string | undefined][] = [];
  const writer = new GroupCommit(store, (batch, error) => done.push([batch, error?.message]));
  return { store, done, writer };
}

Deno.test("changes of one turn go in one commit; changes made meanwhile in the next", async () => {
  const { store, done, writer } = setup();
  writer.put("a", bytes("1"), true);
  writer.put("b", bytes("2"), true);
  writer.put("a", bytes("3"), true); // the last value wins
  assert.equal(writer.openBatch, 1);
  await turn();
  assert.deepEqual(store.commits, [new Map([["a", "3"], ["b", "2"]])]);
  writer.put("c", bytes("4"), true);
  writer.delete("b");
  assert.equal(writer.openBatch, 2);
  await turn();
  assert.equal(store.commits.length, 1, "one commit in flight at a time");
  store.settle();
  await turn();
  assert.deepEqual(done, [[1, undefined]]);
  assert.deepEqual(store.commits[1], new Map([["c", "4"], ["b", null]]));
  store.settle();
  await writer.flush();
  assert.deepEqual(done, [[1, undefined], [2, undefined]]);
  assert.deepEqual([...store.data.keys()].sort(), ["a", "c"]);
  assert.ok(writer.idle);
});

Deno.test("a record created and deleted before its commit never reaches the store", async () => {
  const { store, writer } = setup();
  writer.put("old", bytes("x"), true);
  await turn();
  store.settle();
  await writer.flush();
  writer.put("new", bytes("y"), true);
  writer.put("new", bytes("z"), false); // an update keeps "created"
  writer.delete("new");
  writer.put("old", bytes("w"), false);
  writer.delete("old"); // existed before: the delete must reach the store
  await turn();
  assert.deepEqual(store.commits[1], new Map([["old", null]]));
  store.settle();
  await writer.flush();
  assert.equal(store.data.size, 0);
});

Deno.test("mark closes an empty batch: its waiters hear in order, without a store commit", async () => {
  const { store, done, writer } = setup();
  writer.put("a", bytes("1"), true);
  await turn();
  writer.mark(); // batch 2, no change, while batch 1 is in flight
  assert.equal(writer.idle, false);
  store.settle();
  await writer.flush();
  assert.deepEqual(done, [[1, undefined], [2, undefined]]);
  assert.equal(store.commits.length, 1);
});

Deno.test("a failed batch is reported, kept and tried again with newer changes winning", async () => {
  const { store, done, writer } = setup();
  writer.put("a", bytes("1"), true);
  writer.put("b", bytes("1"), true);
  await turn();
  writer.put("a", bytes("2"), false); // newer than the failing batch
  store.settle(new Error("disk full"));
  await turn();
  assert.deepEqual(done, [[1, "disk full"]]);
  assert.equal(store.inFlight, 0, "no retry at once");
  const flushed = writer.flush(); // asks for the retry now
  await turn();
  assert.deepEqual(store.commits[1], new Map([["a", "2"], ["b", "1"]]));
  store.settle();
  await flushed;
  assert.deepEqual(done, [[1, "disk full"], [2, undefined]]);
  assert.equal(new TextDecoder().decode(store.data.get("a")), "2");
});

Deno.test("close commits what is pending once and gives up on failure", async () => {
  const { store, done, writer } = setup();
  writer.put("a", bytes("1"), true);
  const closed = writer.close();
  await turn();
  store.settle(new Error("gone"));
  await closed;
  assert.deepEqual(done, [[1, "gone"]]);
  assert.ok(writer.idle);
  assert.equal(store.commits.length, 1);
});

Deno.test("after a batch where records cancelled out, the next gathers a few ms; otherwise batches leave at once", async () => {
  const { store, writer } = setup();
  for (let i = 0; i < 100; i++) writer.put(`k${i}`, bytes("v"), true);
  await turn();
  assert.equal(store.commits.length, 1, "the first batch leaves at once");
  store.settle();
  await turn();
  // Acknowledged at once: 20 records created and deleted in the same batch.
  for (let i = 0; i < 20; i++) writer.put(`quick${i}`, bytes("q"), true);
  for (let i = 0; i < 20; i++) writer.delete(`quick${i}`);
  writer.put("a", bytes("a"), true);
  await turn();
  assert.equal(store.commits.length, 2, "no cancels in the batch before: this one left at once");
  store.settle();
  await turn();
  writer.put("soon-gone", bytes("x"), true);
  writer.put("stays", bytes("y"), true);
  await turn();
  assert.equal(store.commits.length, 2, "after cancels, the next batch waits");
  writer.delete("soon-gone");
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(store.commits[2], new Map([["stays", "y"]]));
  store.settle();
  await turn();
  writer.put("quiet", bytes("z"), true);
  await turn();
  assert.equal(store.commits.length, 4, "one cancel is not busy: the next leaves at once");
  store.settle();
  await writer.flush();
});

Deno.test("records kept aside by the caller are put by seal as their batch leaves", async () => {
  const store = new ManualStore();
  const aside = new Map<string, string>();
  const writer: GroupCommit = new GroupCommit(store, () => {}, () => {
    for (const [key, value] of aside) writer.put(key, bytes(value), false);
    aside.clear();
  });
  aside.set("a", "first");
  writer.touch();
  aside.set("a", "second"); // changed again before the batch left: written once, as it is now
  assert.ok(!writer.idle, "a touch wants a batch, though nothing was put");
  await turn();
  assert.deepEqual(store.commits, [new Map([["a", "second"]])]);
  store.settle();
  await writer.flush();
  writer.cancelled(); // created and deleted aside: nothing to commit
  assert.ok(writer.idle);
});
