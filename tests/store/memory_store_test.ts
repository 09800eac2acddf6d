import assert from "node:assert/strict";
import { MemoryStore, type MemoryStoreData } from "../../src/store/memory_store.ts";
import { changes, pattern, storeContract } from "./contract.ts";

storeContract("MemoryStore", () => {
  const data: MemoryStoreData = new Map();
  return Promise.resolve({
    open: () => Promise.resolve(new MemoryStore(data)),
    remove: () => Promise.resolve(),
  });
});

Deno.test("MemoryStore: a commit is not applied before commit() returns", async () => {
  const data: MemoryStoreData = new Map();
  const store = new MemoryStore(data);
  const committed = store.commit(changes(["a", pattern(3, 1)]));
  assert.equal(data.size, 0);
  await committed;
  assert.deepEqual(data, new Map([["a", pattern(3, 1)]]));
  await store.close();
});

Deno.test("MemoryStore: failCommits fails exactly the next n commits with the error", async () => {
  const store = new MemoryStore();
  const error = new Error("no space left on device");
  store.failCommits(2, error);
  const results = await Promise.allSettled(
    [1, 2, 3].map((i) => store.commit(changes([`k${i}`, pattern(i, i)]))),
  );
  assert.deepEqual(results.map((r) => r.status), ["rejected", "rejected", "fulfilled"]);
  assert.equal((results[0] as PromiseRejectedResult).reason, error);
  assert.deepEqual((await store.load()).records, new Map([["k3", pattern(3, 3)]]));
  assert.equal(store.location, "memory");
  await store.close();
});
