/**
 * The batches kv_crash_child.ts commits and kv_crash_test.ts replays: batch `n` is the same in
 * both processes. Sizes vary; every fifth batch is over 800 KiB, so it spans several atomics.
 *
 * @module
 */

import type { KvStoreOptions } from "../../src/store/kv_store.ts";
import { SeededRandom } from "../fixtures/random.ts";
import { pattern } from "./contract.ts";

/** Options of the store under test: compaction runs all along. */
export const CRASH_STORE_OPTIONS: KvStoreOptions = {
  compactRatio: 1.2,
  compactSlackBytes: 256 * 1024,
  compactBytesPerCommit: 64 * 1024,
};

/** The changes of batch `n` (n ≥ 1). */
export function crashBatch(n: number): Map<string, Uint8Array | null> {
  const random = new SeededRandom(n * 7919 + 17);
  const batch = new Map<string, Uint8Array | null>();
  for (let i = random.between(1, 150); i > 0; i--) {
    const key = `k/${random.below(300)}`;
    batch.set(key, random.chance(0.2) ? null : pattern(random.below(3000), n * 1000 + i));
  }
  if (n % 5 === 0) {
    for (let i = 0; i < 4; i++) batch.set(`big/${random.below(10)}`, pattern(220_000, n + i));
  }
  return batch;
}
