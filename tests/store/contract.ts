/**
 * The contract every `Store` keeps, as one suite of `Deno.test`s that each implementation's
 * test file registers against its own stores (memory_store_test.ts, kv_store_test.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Store, StoreChanges } from "../../src/store/store.ts";
import { SeededRandom } from "../fixtures/random.ts";

/** A store that can be told to fail its next commits, as both implementations can. */
export interface TestStore extends Store {
  /** The next `count` commits reject with (a message containing) `error`'s. */
  failCommits(count: number, error: Error): void;
}

/** Where a test's data lives: each `open` is a new store instance over the same data. */
export interface StorePlace {
  /** A new store over the place's data (what an earlier, closed, store committed). */
  open(): Promise<TestStore>;
  /** Remove the place and its data. */
  remove(): Promise<void>;
}

/** Helpers one contract test gets. */
interface Context {
  /** Open a store over the test's place (closed at the end of the test whatever happens). */
  open(): Promise<TestStore>;
  /** Open a store and load it. */
  openLoaded(): Promise<TestStore>;
  /** Close `store`, open a new one over the same data, and load it. */
  reopen(store: TestStore): Promise<{ store: TestStore; records: Map<string, Uint8Array> }>;
}

/** `length` bytes that differ with `seed`, so one value cannot pass for another. */
export function pattern(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (seed * 131 + i * 31 + (i >> 8)) & 255;
  return bytes;
}

/** Changes from `[key, value]` pairs. */
export function changes(
  ...entries: [string, Uint8Array | null][]
): Map<string, Uint8Array | null> {
  return new Map(entries);
}

/** Apply `batch` to `model` as a store would. */
export function applyChanges(model: Map<string, Uint8Array>, batch: StoreChanges): void {
  for (const [key, value] of batch) {
    if (value === null) model.delete(key);
    else model.set(key, value.slice());
  }
}

/** Bytes of live keys (UTF-8) and values in `records`, as `stats().liveBytes` counts them. */
export function liveBytes(records: Map<string, Uint8Array>): number {
  let bytes = 0;
  for (const [key, value] of records) bytes += new TextEncoder().encode(key).length + value.length;
  return bytes;
}

/** Register the contract's tests for the stores `place` makes, named `name: ...`. */
export function storeContract(name: string, place: () => Promise<StorePlace>): void {
  const test = (what: string, body: (t: Context) => Promise<void>) =>
    Deno.test(`${name}: ${what}`, async () => {
      const where = await place();
      const opened: TestStore[] = [];
      const open = async () => {
        const store = await where.open();
        opened.push(store);
        return store;
      };
      const openLoaded = async () => {
        const store = await open();
        const loaded = await store.load();
        assert.deepEqual(loaded.problems, []);
        return store;
      };
      const reopen = async (store: TestStore) => {
        await store.close();
        const again = await open();
        const loaded = await again.load();
        assert.deepEqual(loaded.problems, []);
        return { store: again, records: loaded.records };
      };
      try {
        await body({ open, openLoaded, reopen });
      } finally {
        for (const store of opened) await store.close();
        await where.remove();
      }
    });

  test("a new store loads empty", async ({ open }) => {
    const store = await open();
    const loaded = await store.load();
    assert.deepEqual(loaded, { records: new Map(), problems: [] });
    assert.deepEqual(store.stats(), { records: 0, liveBytes: 0, storedBytes: 0, commits: 0 });
  });

  test("put, overwrite and delete survive a reopen", async ({ openLoaded, reopen }) => {
    const store = await openLoaded();
    await store.commit(changes(["a", pattern(10, 1)], ["b", pattern(20, 2)], ["c", pattern(3, 3)]));
    await store.commit(changes(["a", pattern(15, 4)], ["b", null]));
    const { records } = await reopen(store);
    assert.deepEqual(records, new Map([["a", pattern(15, 4)], ["c", pattern(3, 3)]]));
  });

  test("deleting a key that does not exist is harmless", async ({ openLoaded, reopen }) => {
    let store = await openLoaded();
    await store.commit(changes(["ghost", null]));
    await store.commit(changes(["x", pattern(5, 1)], ["phantom", null]));
    await store.commit(changes(["x", null], ["x2", pattern(2, 2)]));
    let records;
    ({ store, records } = await reopen(store));
    assert.deepEqual(records, new Map([["x2", pattern(2, 2)]]));
    await store.commit(changes(["x", pattern(7, 3)], ["ghost", null]));
    ({ records } = await reopen(store));
    assert.deepEqual(records, new Map([["x", pattern(7, 3)], ["x2", pattern(2, 2)]]));
  });

  test("a reopened store sees exactly what was committed", async ({ openLoaded, reopen }) => {
    const random = new SeededRandom(7);
    const model = new Map<string, Uint8Array>();
    let store = await openLoaded();
    for (let round = 0; round < 3; round++) {
      for (let c = 0; c < 25; c++) {
        const batch = new Map<string, Uint8Array | null>();
        for (let i = random.between(1, 40); i > 0; i--) {
          const key = `k/${random.below(80)}`;
          batch.set(
            key,
            random.chance(0.25) ? null : pattern(random.below(3000), random.below(1e6)),
          );
        }
        await store.commit(batch);
        applyChanges(model, batch);
      }
      let records;
      ({ store, records } = await reopen(store));
      assert.deepEqual(records, model, `after round ${round}`);
    }
  });

  test("values of 0 B, 1 B, 64 KiB, 1 MiB and 5 MiB survive a reopen", async (t) => {
    const sizes = [0, 1, 64 * 1024, 1024 * 1024, 5 * 1024 * 1024];
    const store = await t.openLoaded();
    const batch = changes(...sizes.map((n, i): [string, Uint8Array] => [`v${n}`, pattern(n, i)]));
    await store.commit(batch);
    await store.commit(changes(["after", pattern(1, 9)]));
    const { records } = await t.reopen(store);
    assert.deepEqual([...records.keys()].sort(), [...sizes.map((n) => `v${n}`), "after"].sort());
    for (const [i, n] of sizes.entries()) {
      assert.ok(equalBytes(records.get(`v${n}`)!, pattern(n, i)), `value of ${n} bytes`);
    }
  });

  test("one commit of 5,000 changes", async ({ openLoaded, reopen }) => {
    let store = await openLoaded();
    const model = new Map<string, Uint8Array>();
    const first = new Map<string, Uint8Array | null>();
    for (let i = 0; i < 5000; i++) first.set(`session/${i}`, pattern(100 + (i % 50), i));
    await store.commit(first);
    applyChanges(model, first);
    const second = new Map<string, Uint8Array | null>();
    for (let i = 0; i < 5000; i++) {
      second.set(`session/${i * 2}`, i % 3 === 0 ? null : pattern(7, i));
    }
    await store.commit(second);
    applyChanges(model, second);
    let records;
    ({ store, records } = await reopen(store));
    assert.equal(records.size, model.size);
    assert.deepEqual(records, model);
    assert.equal(store.stats().records, model.size);
  });

  test("overlapping commits apply in call order: the last write wins", async (t) => {
    const store = await t.openLoaded();
    const resolved: number[] = [];
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      const batch = changes(["k", pattern(i + 1, i)], [`only/${i}`, pattern(3, i)]);
      if (i === 5) batch.set("d", pattern(4, 0));
      if (i === 12) batch.set("d", null);
      if (i === 15) batch.set("big", pattern(300_000, i));
      pending.push(store.commit(batch).then(() => void resolved.push(i)));
    }
    await Promise.all(pending);
    assert.deepEqual(resolved, Array.from({ length: 20 }, (_, i) => i));
    const { records } = await t.reopen(store);
    assert.deepEqual(records.get("k"), pattern(20, 19));
    assert.equal(records.has("d"), false);
    assert.equal(records.size, 22);
  });

  test("commit copies its values: the caller may reuse its buffers", async (t) => {
    const store = await t.openLoaded();
    const buffer = pattern(5000, 1);
    const batch = new Map<string, Uint8Array | null>([["a", buffer]]);
    const committed = store.commit(batch);
    buffer.fill(0);
    batch.set("b", pattern(3, 3));
    await committed;
    buffer.fill(9);
    const { store: again, records } = await t.reopen(store);
    assert.deepEqual(records, new Map([["a", pattern(5000, 1)]]));
    records.get("a")!.fill(1);
    const { records: reloaded } = await t.reopen(again);
    assert.deepEqual(reloaded, new Map([["a", pattern(5000, 1)]]));
  });

  test("a failed commit leaves the store unchanged", async ({ openLoaded, reopen }) => {
    const store = await openLoaded();
    await store.commit(changes(["a", pattern(10, 1)], ["b", pattern(20, 2)]));
    // storedBytes may grow: what the failed commit wrote before failing is not yet reclaimed.
    const counts = () => {
      const { records, liveBytes, commits } = store.stats();
      return { records, liveBytes, commits };
    };
    const before = counts();
    store.failCommits(1, new Error("disk full (simulated)"));
    await assert.rejects(
      store.commit(changes(["a", pattern(1024 * 1024, 3)], ["b", null], ["c", pattern(5, 4)])),
      /disk full \(simulated\)/,
    );
    assert.deepEqual(counts(), before);
    await store.commit(changes(["d", pattern(30, 5)]));
    assert.equal(counts().commits, before.commits + 1);
    const { records } = await reopen(store);
    assert.deepEqual(
      records,
      new Map([["a", pattern(10, 1)], ["b", pattern(20, 2)], ["d", pattern(30, 5)]]),
    );
  });

  test("stats count records, live bytes and commits", async ({ openLoaded, reopen }) => {
    let store = await openLoaded();
    const model = new Map<string, Uint8Array>();
    const batches = [
      changes(["één", pattern(100, 1)], ["b", pattern(0, 2)]),
      changes(["c", pattern(2000, 3)], ["één", pattern(50, 4)]),
      changes(["b", null], ["missing", null]),
    ];
    for (const batch of batches) {
      await store.commit(batch);
      applyChanges(model, batch);
    }
    const stats = store.stats();
    assert.deepEqual(
      { records: stats.records, liveBytes: stats.liveBytes, commits: stats.commits },
      { records: 2, liveBytes: liveBytes(model), commits: 3 },
    );
    assert.equal(liveBytes(model), 5 + 50 + 1 + 2000);
    assert.ok(stats.storedBytes >= stats.liveBytes, `${stats.storedBytes} >= ${stats.liveBytes}`);
    ({ store } = await reopen(store));
    const after = store.stats();
    assert.deepEqual(
      { records: after.records, liveBytes: after.liveBytes, commits: after.commits },
      { records: 2, liveBytes: liveBytes(model), commits: 0 },
    );
  });

  test("close waits for commits in progress; later commits reject", async (t) => {
    const store = await t.openLoaded();
    let done = false;
    const committed = store.commit(changes(["a", pattern(200_000, 1)])).then(() => done = true);
    await store.close();
    assert.equal(done, true);
    await committed;
    await assert.rejects(store.commit(changes(["b", pattern(1, 2)])));
    const again = await t.open();
    const loaded = await again.load();
    assert.deepEqual(loaded.records, new Map([["a", pattern(200_000, 1)]]));
  });
}

/** Whether two byte arrays hold the same bytes (without a diff of megabytes on failure). */
function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
