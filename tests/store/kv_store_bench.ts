/**
 * Speed of the Deno KV store on this machine's disk: commits of 500 records of ~300 bytes
 * (what a busy broker's group commit carries), over a key space of 100,000 so that records are
 * overwritten and compaction runs at its default thresholds; and a load of 100,000 records.
 * Run: `deno bench -A tests/store/kv_store_bench.ts`. Records per second = 500 / time per
 * commit, and 100,000 / time per load.
 */

import { openKvStore } from "../../src/store/kv_store.ts";
import { pattern } from "./contract.ts";

const RECORDS_PER_COMMIT = 500;
const RECORD_BYTES = 300;
const KEY_SPACE = 100_000;

const dir = await Deno.makeTempDir({ prefix: "midge_kv_bench_" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

/** Batch `n` of puts, the keys following on from batch `n - 1`'s. */
function batch(n: number): Map<string, Uint8Array> {
  const changes = new Map<string, Uint8Array>();
  for (let i = 0; i < RECORDS_PER_COMMIT; i++) {
    const id = (n * RECORDS_PER_COMMIT + i) % KEY_SPACE;
    changes.set(`d/${id >> 8}/${id}`, pattern(RECORD_BYTES, n + i));
  }
  return changes;
}

const loadPath = `${dir}/load.db`;
{
  const store = await openKvStore(loadPath);
  await store.load();
  for (let n = 0; n < KEY_SPACE / RECORDS_PER_COMMIT; n++) await store.commit(batch(n));
  await store.close();
}

const commitStore = await openKvStore(`${dir}/commit.db`);
await commitStore.load();
let next = 0;

Deno.bench({
  name: `commit ${RECORDS_PER_COMMIT} records of ${RECORD_BYTES} bytes`,
  async fn() {
    await commitStore.commit(batch(next++));
  },
});

Deno.bench({
  name: `load ${KEY_SPACE} records of ${RECORD_BYTES} bytes`,
  n: 10,
  warmup: 1,
  async fn(b) {
    const store = await openKvStore(loadPath);
    await b.start();
    const { records } = await store.load();
    b.end();
    await store.close();
    if (records.size !== KEY_SPACE) throw new Error(`loaded ${records.size} records`);
  },
});
