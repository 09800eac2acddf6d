import assert from "node:assert/strict";
import { type KvStoreOptions, openKvStore } from "../../src/store/kv_store.ts";
import { SegmentWriter } from "../../src/store/kv_segments.ts";
import { type LoadedRecords, StoreError } from "../../src/store/store.ts";
import { SeededRandom } from "../fixtures/random.ts";
import { applyChanges, changes, liveBytes, pattern, storeContract } from "./contract.ts";
import { inTempDir, raw } from "./kv_fixture.ts";

/** Sizes small enough that every commit spans atomics and compaction runs all the time. */
const SMALL: KvStoreOptions = {
  chunkBytes: 1000,
  atomicBytes: 20_000,
  compactRatio: 1,
  compactSlackBytes: 0,
  compactBytesPerCommit: 2000,
};

/** Small chunks, but no compaction: segments stay where the test put them. */
const SMALL_CHUNKS: KvStoreOptions = { chunkBytes: 1000, atomicBytes: 20_000 };

function kvPlace(options?: KvStoreOptions) {
  return async () => {
    const dir = await Deno.makeTempDir({ prefix: "midge_kv_" });
    return {
      open: () => openKvStore(`${dir}/store.db`, options),
      remove: () => Deno.remove(dir, { recursive: true }),
    };
  };
}

storeContract("KvStore", kvPlace());
storeContract("KvStore (small chunks, eager compaction)", kvPlace(SMALL));

/** Every key under `prefix`, with its value's length when it is bytes. */
async function listed(kv: Deno.Kv, prefix: Deno.KvKey): Promise<[Deno.KvKey, number][]> {
  const found: [Deno.KvKey, number][] = [];
  for await (const e of kv.list({ prefix })) {
    found.push([e.key, e.value instanceof Uint8Array ? e.value.length : -1]);
  }
  return found;
}

/** Segment numbers whose header exists. */
async function segments(kv: Deno.Kv): Promise<number[]> {
  return (await listed(kv, ["seg"])).map(([key]) => key[1] as number);
}

/** Bytes of all chunks in the database. */
async function chunkBytes(kv: Deno.Kv): Promise<number> {
  return (await listed(kv, ["chunk"])).reduce((sum, [, n]) => sum + n, 0);
}

/** Open and load a store, asserting it loads without problems. */
async function openLoaded(path: string, options?: KvStoreOptions) {
  const store = await openKvStore(path, options);
  const loaded = await store.load();
  return { store, ...loaded };
}

Deno.test("KvStore: chunks of an unfinished segment are dropped on reopen", async () => {
  await inTempDir(async (path) => {
    const { store } = await openLoaded(path);
    await store.commit(changes(["a", pattern(10, 1)]));
    await store.close();
    const last = Math.max(...await raw(path, segments));
    // A crash mid-commit: a well-formed stream whose header was never written.
    const writer = new SegmentWriter(50);
    writer.add("a", pattern(100, 2));
    writer.add("ghost", pattern(100, 3));
    const { chunks } = writer.finish();
    assert.ok(chunks.length > 2);
    await raw(path, async (kv) => {
      for (const [i, chunk] of chunks.entries()) await kv.set(["chunk", last + 1, i], chunk);
      await kv.set(["chunk", last + 7, 0], chunks[0]);
    });
    const reopened = await openLoaded(path);
    assert.deepEqual(reopened.problems, []);
    assert.deepEqual(reopened.records, new Map([["a", pattern(10, 1)]]));
    const left = await raw(path, (kv) => listed(kv, ["chunk"]));
    assert.deepEqual(left.filter(([key]) => (key[1] as number) > last), []);
    await reopened.store.commit(changes(["b", pattern(5, 4)]));
    await reopened.store.close();
    const again = await openLoaded(path);
    assert.deepEqual(again.records, new Map([["a", pattern(10, 1)], ["b", pattern(5, 4)]]));
    await again.store.close();
  });
});

Deno.test("KvStore: compaction keeps every live record and frees space", async () => {
  await inTempDir(async (path) => {
    const options: KvStoreOptions = { ...SMALL, compactRatio: 1.5, compactBytesPerCommit: 4000 };
    const { store } = await openLoaded(path, options);
    const random = new SeededRandom(42);
    const model = new Map<string, Uint8Array>();
    const keep = new Map<string, Uint8Array | null>();
    for (let i = 0; i < 20; i++) keep.set(`keep/${i}`, pattern(300, i));
    await store.commit(keep);
    applyChanges(model, keep);
    let written = 0;
    for (let c = 0; c < 300; c++) {
      const batch = new Map<string, Uint8Array | null>();
      for (let i = random.between(1, 20); i > 0; i--) {
        const value = random.chance(0.2) ? null : pattern(random.between(50, 1500), c * 100 + i);
        batch.set(`churn/${random.below(100)}`, value);
        written += value?.length ?? 0;
      }
      await store.commit(batch);
      applyChanges(model, batch);
    }
    const stats = store.stats();
    assert.equal(stats.liveBytes, liveBytes(model));
    assert.ok(stats.storedBytes < written / 4, `stored ${stats.storedBytes} of ${written} written`);
    assert.ok(stats.storedBytes < 2 * stats.liveBytes + 20_000, JSON.stringify(stats));
    await store.close();
    assert.ok(await raw(path, chunkBytes) <= stats.storedBytes);
    const reopened = await openLoaded(path, options);
    assert.deepEqual(reopened.problems, []);
    assert.deepEqual(reopened.records, model);
    const after = reopened.store.stats();
    assert.equal(after.liveBytes, stats.liveBytes);
    await reopened.store.close();
    await raw(path, async (kv) => {
      assert.equal(await chunkBytes(kv), after.storedBytes);
      assert.ok((await segments(kv)).length < 60, "old segments are deleted");
    });
  });
});

Deno.test("KvStore: a failed commit's chunks are deleted by the next commit", async () => {
  await inTempDir(async (path) => {
    const { store } = await openLoaded(path, SMALL);
    await store.commit(changes(["a", pattern(100, 1)]));
    store.failCommits(1, new Error("injected"));
    await assert.rejects(store.commit(changes(["big", pattern(50_000, 2)])), (e: Error) => {
      assert.match(e.message, /commit failed, nothing of it was stored .*: injected/);
      return true;
    });
    const failedSegment = 2;
    const stray = await raw(path, (kv) => listed(kv, ["chunk", failedSegment]));
    assert.ok(stray.length > 0, "the failed commit's first atomics landed");
    assert.equal(store.stats().storedBytes, await raw(path, chunkBytes));
    await store.commit(changes(["b", pattern(10, 3)]));
    assert.deepEqual(await raw(path, (kv) => listed(kv, ["chunk", failedSegment])), []);
    assert.equal(store.stats().storedBytes, await raw(path, chunkBytes));
    await store.close();
  });
});

Deno.test("KvStore: damaged segments are reported with their keys, and what checks loads", async () => {
  await inTempDir(async (path) => {
    let { store } = await openLoaded(path, SMALL_CHUNKS);
    await store.commit(changes(["a", pattern(100, 1)], ["b", pattern(100, 2)]));
    await store.commit(changes(["a", pattern(3000, 3)], ["c", pattern(100, 4)]));
    await store.commit(changes(["d", pattern(2500, 5)]));
    await store.commit(changes(["e", pattern(10, 6)]));
    await store.close();
    const [, corrupt, truncated] = await raw(path, segments);
    await raw(path, async (kv) => {
      const chunk = await kv.get<Uint8Array>(["chunk", corrupt, 0]);
      await kv.set(["chunk", corrupt, 0], new Uint8Array(chunk.value!.length).fill(0xff));
      await kv.delete(["chunk", truncated, 1]);
    });
    let loaded: LoadedRecords;
    ({ store, ...loaded } = await openLoaded(path, SMALL_CHUNKS));
    assert.deepEqual(loaded.problems.map((p) => [p.key, p.lost, p.unreadable]), [
      // "a"'s key is in the garbled chunk: lost unnamed, and "a" keeps its older value.
      [JSON.stringify(["chunk", corrupt, 0]), [], 1],
      // "d"'s key checks, its value runs through the missing chunk: lost by name.
      [JSON.stringify(["chunk", truncated, 1]), ["d"], 0],
    ]);
    assert.match(loaded.problems[0].why, /not a varint|checksum mismatch|runs past/);
    assert.match(loaded.problems[1].why, /chunk is missing/);
    assert.deepEqual(
      loaded.records,
      new Map([
        ["a", pattern(100, 1)],
        ["b", pattern(100, 2)],
        ["c", pattern(100, 4)],
        ["e", pattern(10, 6)],
      ]),
    );
    // The store works on; once the segments before them are dead, the damaged ones go too.
    await store.commit(changes(["a", null], ["b", pattern(1, 7)], ["c", null]));
    await store.close();
    ({ store, ...loaded } = await openLoaded(path, SMALL_CHUNKS));
    assert.deepEqual(loaded.problems, []);
    assert.deepEqual(loaded.records, new Map([["b", pattern(1, 7)], ["e", pattern(10, 6)]]));
    await store.close();
    const left = await raw(path, (kv) => listed(kv, ["chunk"]));
    assert.deepEqual(left.filter(([k]) => k[1] === corrupt || k[1] === truncated), []);
  });
});

Deno.test("KvStore: a store written by a newer Midge is refused", async () => {
  await inTempDir(async (path) => {
    await (await openKvStore(path)).close();
    await raw(path, (kv) => kv.set(["midge", "schema"], { version: 3 }));
    await assert.rejects(openKvStore(path), (e: Error) => {
      assert.ok(e instanceof StoreError);
      assert.match(e.message, /written by a newer Midge \(schema 3\); this one reads schema 2/);
      return true;
    });
  });
});

Deno.test("KvStore: a file that is not a Deno KV database is refused, naming Mosquitto's format", async () => {
  await inTempDir(async (_, dir) => {
    const path = `${dir}/mosquitto.db`;
    const junk = new Uint8Array([0x00, 0xb5, 0x00, ...new TextEncoder().encode("mosquitto db")]);
    await Deno.writeFile(path, new Uint8Array([...junk, ...pattern(4000, 1)]));
    const before = await Deno.readFile(path);
    await assert.rejects(openKvStore(path), (e: Error) => {
      assert.ok(e instanceof StoreError);
      assert.match(e.message, /mosquitto\.db is not a Midge store \(not a Deno KV database\)/);
      assert.match(e.message, /Mosquitto's own persistence format.*another persistence_file/);
      return true;
    });
    assert.deepEqual(await Deno.readFile(path), before);
  });
});

Deno.test("KvStore: a Deno KV database of something else is refused", async () => {
  await inTempDir(async (path) => {
    await raw(path, (kv) => kv.set(["users", 1], "someone"));
    await assert.rejects(openKvStore(path), /not a Midge store \(it has no schema record\)/);
  });
});

Deno.test("KvStore: a missing directory is refused", async () => {
  await inTempDir(async (_, dir) => {
    await assert.rejects(openKvStore(`${dir}/nope/store.db`), (e: Error) => {
      assert.ok(e instanceof StoreError);
      assert.match(e.message, /directory .*\/nope does not exist/);
      return true;
    });
  });
});

Deno.test("KvStore: a second opener is refused while the first is open", async () => {
  await inTempDir(async (path) => {
    const first = await openKvStore(path);
    try {
      await assert.rejects(openKvStore(path), (e: Error) => {
        assert.ok(e instanceof StoreError);
        assert.ok(e.message.includes(path), e.message);
        assert.ok(e.message.includes(`pid ${Deno.pid}`), e.message);
        return true;
      });
    } finally {
      await first.close();
    }
    const second = await openKvStore(path);
    await second.close();
  });
});

Deno.test("KvStore: commit before load is refused", async () => {
  await inTempDir(async (path) => {
    const store = await openKvStore(path);
    await assert.rejects(store.commit(changes(["a", pattern(1, 1)])), /load\(\) must come before/);
    await store.close();
  });
});

Deno.test("KvStore: a key that is not well-formed UTF-16 is refused", async () => {
  await inTempDir(async (path) => {
    const { store } = await openLoaded(path);
    await assert.rejects(store.commit(changes(["bad\ud800", pattern(1, 1)])), /not well-formed/);
    await store.commit(changes(["good", pattern(1, 2)]));
    assert.equal(store.stats().records, 1);
    await store.close();
  });
});
