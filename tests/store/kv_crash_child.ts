/**
 * The writer kv_crash_test.ts kills: `deno run -A --unstable-kv kv_crash_child.ts DIR FROM`
 * opens the store in DIR and commits batches FROM+1, FROM+2, ... (kv_crash_batches.ts),
 * printing `committed N` once batch N is durable. It stops by itself after a bounded number
 * of batches or seconds.
 *
 * @module
 */

import { openKvStore } from "../../src/store/kv_store.ts";
import { CRASH_STORE_OPTIONS, crashBatch } from "./kv_crash_batches.ts";

const MAX_BATCHES = 5000;
const MAX_MS = 20_000;

const [dir, from] = Deno.args;
const store = await openKvStore(`${dir}/store.db`, CRASH_STORE_OPTIONS);
await store.load();
console.log("ready");
const deadline = Date.now() + MAX_MS;
const first = Number(from) + 1;
for (let n = first; n < first + MAX_BATCHES && Date.now() < deadline; n++) {
  await store.commit(crashBatch(n));
  console.log(`committed ${n}`);
}
await store.close();
