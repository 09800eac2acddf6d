/**
 * Writes to Deno KV within its limits for one atomic operation. Measured in Deno 2.9.5: at most
 * 1000 mutations; values at most 65,536 bytes; keys at most 2,048 bytes encoded; and at most
 * 819,200 bytes in all, where a set counts its value's bytes plus twice its encoded key and a
 * delete about its key. Going past any of them makes `commit()` throw, writing nothing.
 *
 * @module
 */

/** Deno KV refuses an atomic operation with more mutations than this. */
const KV_MAX_MUTATIONS = 1000;
/** Deno KV refuses an atomic operation bigger than this (values plus keys, see above). */
export const KV_MAX_ATOMIC_BYTES = 819_200;
/** Deno KV refuses a value bigger than this. */
export const KV_MAX_VALUE_BYTES = 65_536;

/** One write: set `key` to `value`, or delete `key` when `value` is undefined. */
export interface Mutation {
  /** The KV key. */
  key: Deno.KvKey;
  /** The value to set; undefined to delete. */
  value?: Uint8Array;
  /** What it counts toward an atomic's byte limit (an upper bound). */
  cost: number;
  /** For a delete of garbage: the stored bytes it frees. */
  frees?: number;
}

/** Atomics to commit in order, and the optional mutations that did not fit. */
export interface AtomicPlan {
  /** Each a list of mutations for one atomic operation. */
  atomics: Mutation[][];
  /** Mutations of `late` left for a later commit. */
  leftover: Mutation[];
}

/** An upper bound of the encoded size of `key` (our keys: short strings and integers). */
function keyCost(key: Deno.KvKey): number {
  let cost = 0;
  for (const part of key) cost += typeof part === "string" ? 2 + 3 * part.length : 10;
  return cost;
}

/** A set of `key` to `value`. */
export function setMutation(key: Deno.KvKey, value: Uint8Array): Mutation {
  return { key, value, cost: value.length + 2 * keyCost(key) };
}

/** A delete of `key`; `frees` is what it frees, when it is garbage. */
export function deleteMutation(key: Deno.KvKey, frees = 0): Mutation {
  return { key, cost: 2 * keyCost(key), frees };
}

/**
 * Pack mutations into atomics of at most `maxBytes` (see `Mutation.cost`) and
 * `KV_MAX_MUTATIONS` each: `early` in any atomic, in order; then all of `final` together in
 * the last atomic; then as much of `late` as still fits in it, the rest left over.
 */
export function planAtomics(
  early: readonly Mutation[],
  final: readonly Mutation[],
  late: readonly Mutation[],
  maxBytes: number,
): AtomicPlan {
  const atomics: Mutation[][] = [];
  let current: Mutation[] = [];
  let bytes = 0;
  const fits = (count: number, cost: number) =>
    current.length + count <= KV_MAX_MUTATIONS && bytes + cost <= maxBytes;
  const add = (m: Mutation) => {
    current.push(m);
    bytes += m.cost;
  };
  const next = () => {
    atomics.push(current);
    current = [];
    bytes = 0;
  };
  for (const m of early) {
    if (!fits(1, m.cost) && current.length > 0) next();
    add(m);
  }
  const finalCost = final.reduce((sum, m) => sum + m.cost, 0);
  if (!fits(final.length, finalCost) && current.length > 0) next();
  for (const m of final) add(m);
  let used = 0;
  while (used < late.length && fits(1, late[used].cost)) add(late[used++]);
  if (current.length > 0) next();
  return { atomics, leftover: late.slice(used) };
}

/** Commit `mutations` as one atomic operation. */
export async function commitAtomic(kv: Deno.Kv, mutations: readonly Mutation[]): Promise<void> {
  const op = kv.atomic();
  for (const m of mutations) {
    if (m.value === undefined) op.delete(m.key);
    else op.set(m.key, m.value);
  }
  await op.commit();
}

/** Delete `keys`, as many atomics as it takes. */
export async function deleteKeys(
  kv: Deno.Kv,
  keys: readonly Deno.KvKey[],
  maxBytes: number,
): Promise<void> {
  const plan = planAtomics(keys.map((key) => deleteMutation(key)), [], [], maxBytes);
  for (const atomic of plan.atomics) await commitAtomic(kv, atomic);
}
