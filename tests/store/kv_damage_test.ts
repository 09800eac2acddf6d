/**
 * A damaged Deno KV store: bytes flipped in a record, in an entry's key or lengths, in a
 * segment's header; a chunk gone; the file emptied. What is intact loads, and what was lost is
 * reported by the KV key at fault and the records' keys.
 */

import assert from "node:assert/strict";
import { type KvStoreOptions, openKvStore } from "../../src/store/kv_store.ts";
import { readCheckedSegment, SegmentWriter } from "../../src/store/kv_segments.ts";
import { StoreError } from "../../src/store/store.ts";
import { changes, pattern } from "./contract.ts";
import { inTempDir, raw } from "./kv_fixture.ts";

/** Small chunks and no compaction: segments stay where the test put them. */
const SMALL_CHUNKS: KvStoreOptions = { chunkBytes: 1000, atomicBytes: 20_000 };

/** Write each batch as one commit, then close the store. */
async function write(path: string, ...batches: Map<string, Uint8Array | null>[]) {
  const store = await openKvStore(path, SMALL_CHUNKS);
  await store.load();
  for (const batch of batches) await store.commit(batch);
  await store.close();
}

/** Load the store at `path` and close it. */
async function load(path: string) {
  const store = await openKvStore(path, SMALL_CHUNKS);
  try {
    return await store.load();
  } finally {
    await store.close();
  }
}

/** Flip one bit of byte `offset(chunk)` in each chunk of the newest segment that `pick`s. */
async function damage(
  path: string,
  pick: (chunk: Uint8Array, index: number) => number | undefined,
): Promise<number> {
  return await raw(path, async (kv) => {
    let segNo = 0;
    for await (const e of kv.list({ prefix: ["seg"] })) segNo = e.key[1] as number;
    for await (const e of kv.list<Uint8Array>({ prefix: ["chunk", segNo] })) {
      const at = pick(e.value, e.key[2] as number);
      if (at === undefined) continue;
      const bytes = e.value.slice();
      bytes[at] ^= 0x10;
      await kv.set(e.key, bytes);
    }
    return segNo;
  });
}

/** Where `needle` starts in `bytes`, if it does. */
function find(bytes: Uint8Array, needle: Uint8Array): number | undefined {
  outer: for (let i = 0; i + needle.length <= bytes.length; i++) {
    for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
    return i;
  }
  return undefined;
}

Deno.test("KvStore: a record whose value is damaged is lost by name, the rest of its segment loads", async () => {
  await inTempDir(async (path) => {
    const older = pattern(50, 1);
    const value = pattern(200, 2);
    await write(
      path,
      changes(["d/1/1", older], ["s/1", pattern(30, 3)]),
      changes(["d/1/1", value], ["d/1/2", pattern(200, 4)], ["r/5", pattern(10, 5)]),
    );
    const segNo = await damage(path, (chunk) => {
      const at = find(chunk, value);
      return at === undefined ? undefined : at + 100;
    });
    const loaded = await load(path);
    assert.deepEqual(loaded.problems, [{
      key: JSON.stringify(["chunk", segNo, 0]),
      why: "value checksum mismatch",
      lost: ["d/1/1"],
      unreadable: 0,
    }]);
    // Neither the damaged value nor the older one: what the record last was is unknown.
    assert.deepEqual(
      loaded.records,
      new Map([["s/1", pattern(30, 3)], ["d/1/2", pattern(200, 4)], ["r/5", pattern(10, 5)]]),
    );
  });
});

Deno.test("KvStore: damage in an entry's key is counted, and reading picks up at the next chunk", async () => {
  await inTempDir(async (path) => {
    // 60 records of 100 bytes in 1000-byte chunks: about 7 chunks.
    const batch = changes(
      ...Array.from({ length: 60 }, (_, i) => [`m/${i}`, pattern(100, i)] as [string, Uint8Array]),
    );
    await write(path, batch);
    const segNo = await damage(path, (chunk, index) => {
      if (index !== 2) return undefined;
      // The key of the first record starting in chunk 2 (its value follows "m/N" and a length).
      for (let i = 0; i < chunk.length - 3; i++) {
        if (chunk[i] === 0x6d && chunk[i + 1] === 0x2f) return i + 2;
      }
      return undefined;
    });
    const loaded = await load(path);
    assert.equal(loaded.problems.length, 1);
    const [problem] = loaded.problems;
    assert.equal(problem.key, JSON.stringify(["chunk", segNo, 2]));
    assert.match(problem.why, /key or length checksum mismatch/);
    assert.deepEqual(problem.lost, []);
    assert.ok(problem.unreadable >= 1 && problem.unreadable <= 11, `${problem.unreadable}`);
    assert.equal(loaded.records.size + problem.unreadable, 60);
    for (const [key, value] of loaded.records) assert.deepEqual(value, batch.get(key));
  });
});

Deno.test("KvStore: a missing chunk loses only the entries in it", async () => {
  await inTempDir(async (path) => {
    const batch = changes(
      ...Array.from({ length: 60 }, (_, i) => [`m/${i}`, pattern(100, i)] as [string, Uint8Array]),
    );
    await write(path, batch);
    const segNo = await raw(path, async (kv) => {
      let segNo = 0;
      for await (const e of kv.list({ prefix: ["seg"] })) segNo = e.key[1] as number;
      await kv.delete(["chunk", segNo, 3]);
      return segNo;
    });
    const loaded = await load(path);
    assert.equal(loaded.problems.length, 1);
    assert.equal(loaded.problems[0].key, JSON.stringify(["chunk", segNo, 3]));
    assert.match(loaded.problems[0].why, /chunk is missing/);
    const { lost, unreadable } = loaded.problems[0];
    assert.ok(loaded.records.size >= 48, `${loaded.records.size} of 60 records kept`);
    // An entry whose value ran into the missing chunk is named; the others are counted.
    assert.equal(loaded.records.size + lost.length + unreadable, 60);
    for (const key of lost) assert.ok(!loaded.records.has(key));
  });
});

Deno.test("KvStore: a damaged segment header is reported, and its entries still load", async () => {
  await inTempDir(async (path) => {
    await write(path, changes(["s/1", pattern(30, 1)]), changes(["s/2", pattern(40, 2)]));
    const segNo = await raw(path, async (kv) => {
      let segNo = 0;
      for await (const e of kv.list<Uint8Array>({ prefix: ["seg"] })) {
        segNo = e.key[1] as number;
      }
      const header = (await kv.get<Uint8Array>(["seg", segNo])).value!.slice();
      header[1] ^= 0x01;
      await kv.set(["seg", segNo], header);
      return segNo;
    });
    const loaded = await load(path);
    assert.deepEqual(loaded.problems.map((p) => [p.key, p.why]), [
      [JSON.stringify(["seg", segNo]), "header is damaged"],
    ]);
    assert.deepEqual(loaded.records, new Map([["s/1", pattern(30, 1)], ["s/2", pattern(40, 2)]]));
  });
});

Deno.test("KvStore: a lost record written again later is not reported lost", async () => {
  await inTempDir(async (path) => {
    const value = pattern(200, 2);
    await write(path, changes(["s/1", value], ["s/2", pattern(10, 1)]));
    await damage(path, (chunk) => {
      const at = find(chunk, value);
      return at === undefined ? undefined : at + 5;
    });
    const store = await openKvStore(path, SMALL_CHUNKS);
    assert.deepEqual((await store.load()).problems[0].lost, ["s/1"]);
    await store.commit(changes(["s/1", pattern(20, 3)]));
    await store.close();
    const loaded = await load(path);
    assert.deepEqual(loaded.problems.map((p) => p.lost), [[]]);
    assert.deepEqual(loaded.records, new Map([["s/1", pattern(20, 3)], ["s/2", pattern(10, 1)]]));
  });
});

Deno.test("readCheckedSegment: every intact entry around a damaged chunk, in order", () => {
  const writer = new SegmentWriter(64);
  for (let i = 0; i < 40; i++) writer.add(`k${i}`, i % 5 === 0 ? null : pattern(20 + i, i));
  const { chunks, firstEntries } = writer.finish();
  const damaged = chunks.map((c) => c.slice());
  damaged[5].fill(0xff);
  const { entries, damage } = readCheckedSegment(damaged, firstEntries);
  assert.ok(damage.length >= 1 && damage.every((d) => d.chunk >= 4 && d.chunk <= 6));
  const intact = readCheckedSegment(chunks, firstEntries);
  assert.deepEqual(intact.damage, []);
  assert.equal(intact.entries.length, 40);
  const keys = new Set(intact.entries.map((e) => e.key));
  assert.ok(entries.length >= 35 && entries.every((e) => keys.has(e.key)));
  assert.deepEqual(
    entries.map((e) => e.key),
    intact.entries.map((e) => e.key).filter((k) => entries.some((e) => e.key === k)),
  );
});

Deno.test("KvStore: an empty store file is refused, naming it; allowEmpty starts empty", async () => {
  await inTempDir(async (path) => {
    await write(path, changes(["s/1", pattern(30, 1)]));
    await Deno.truncate(path, 0);
    await assert.rejects(openKvStore(path), (e: Error) => {
      assert.ok(e instanceof StoreError);
      assert.ok(e.message.includes(`${path} is empty (0 bytes)`), e.message);
      assert.match(e.message, /persistence_allow_empty/);
      return true;
    });
    assert.equal((await Deno.stat(path)).size, 0);
    const store = await openKvStore(path, { allowEmpty: true });
    assert.deepEqual(await store.load(), { records: new Map(), problems: [] });
    await store.close();
  });
});

Deno.test("KvStore: a new store file (absent) starts empty without a word", async () => {
  await inTempDir(async (path) => {
    assert.deepEqual(await load(path), { records: new Map(), problems: [] });
  });
});

Deno.test("KvStore: a schema 1 store (no checksums) is read and marked schema 2", async () => {
  await inTempDir(async (path) => {
    // A format 1 segment by hand: key length, key, value length + 1, value.
    const entry = new Uint8Array([3, 0x73, 0x2f, 0x31, 4, 7, 8, 9]);
    await raw(path, async (kv) => {
      await kv.set(["midge", "schema"], { version: 1, created: "2026-01-01T00:00:00.000Z" });
      await kv.set(["chunk", 1, 0], entry);
      await kv.set(["seg", 1], { chunks: 1, bytes: entry.length, entries: 1 });
    });
    const store = await openKvStore(path, SMALL_CHUNKS);
    const loaded = await store.load();
    assert.deepEqual(loaded, {
      records: new Map([["s/1", new Uint8Array([7, 8, 9])]]),
      problems: [],
    });
    await store.commit(changes(["s/2", pattern(5, 1)]));
    await store.close();
    assert.equal((await load(path)).records.size, 2);
    const schema = await raw(path, (kv) => kv.get<{ version: number }>(["midge", "schema"]));
    assert.equal(schema.value?.version, 2);
  });
});
