/**
 * The router's data structures at any depth: no walk over levels recurses, so 100,000 levels
 * (far past what the broker accepts, and past the JavaScript stack) work like three.
 */

import assert from "node:assert/strict";
import { RetainedIndex } from "../../src/router/retained_index.ts";
import { SubscriptionTrie } from "../../src/router/subscription_trie.ts";

const DEPTH = 100_000;

/** `level` repeated `n` times, joined by '/'. */
function levels(level: string, n: number): string {
  return Array.from({ length: n }, () => level).join("/");
}

const DEEP = levels("a", DEPTH);

function matchedOptions<O>(trie: SubscriptionTrie<O>, topic: string): O[] {
  const out: O[] = [];
  trie.match(topic, (_id, options) => out.push(options));
  return out;
}

function retainedTopics<V>(index: RetainedIndex<V>, filter: string): string[] {
  const out: string[] = [];
  index.match(filter, (topic) => out.push(topic));
  return out;
}

Deno.test("SubscriptionTrie matches a 100,000-level topic against exact, '+' and '#' filters of any depth", () => {
  const trie = new SubscriptionTrie<string>();
  const filters = [
    "#",
    "a/#",
    "+/+/#",
    DEEP,
    levels("+", DEPTH),
    `${levels("a", DEPTH - 1)}/+`,
    `${levels("+", DEPTH - 1)}/#`,
    `${DEEP}/#`,
  ];
  for (const f of filters) trie.subscribe(`c ${f.length}`, f, f);
  assert.deepStrictEqual(matchedOptions(trie, DEEP).sort(), [...filters].sort());
  assert.deepStrictEqual(
    matchedOptions(trie, `${DEEP}/a`).sort(),
    ["#", "+/+/#", "a/#", `${levels("+", DEPTH - 1)}/#`, `${DEEP}/#`].sort(),
  );
  assert.deepStrictEqual(
    matchedOptions(trie, levels("a", DEPTH - 1)).sort(),
    ["#", "+/+/#", "a/#", `${levels("+", DEPTH - 1)}/#`].sort(),
  );
});

Deno.test("SubscriptionTrie: unsubscribing a 100,000-level filter prunes every level", () => {
  const trie = new SubscriptionTrie<number>();
  trie.subscribe("c", DEEP, 1);
  trie.subscribe("c", levels("+", DEPTH), 2);
  assert.equal(trie.unsubscribe("c", DEEP), true);
  assert.equal(trie.unsubscribe("c", levels("+", DEPTH)), true);
  assert.equal(trie.count, 0);
  assert.deepStrictEqual(matchedOptions(trie, DEEP), []);
  // Pruned: a shallow filter added afterwards is the only thing there.
  trie.subscribe("c", "a", 3);
  assert.deepStrictEqual(matchedOptions(trie, "a"), [3]);
});

Deno.test("SubscriptionTrie: a match started inside a visitor sees the same subscriptions", () => {
  const trie = new SubscriptionTrie<string>();
  for (const f of ["a/+/c", "a/b/c", "+/b/#", "a/#"]) trie.subscribe("c", f, f);
  const outer: string[] = [];
  const inner: string[][] = [];
  trie.match("a/b/c", (_id, f) => {
    outer.push(f);
    inner.push(matchedOptions(trie, "a/b/c"));
  });
  assert.equal(outer.length, 4);
  for (const seen of inner) assert.deepStrictEqual(seen, outer);
});

Deno.test("SubscriptionTrie walks as Mosquitto does: the exact branch, then '+', then '#'; shared groups last", () => {
  const trie = new SubscriptionTrie<string>();
  for (const f of ["a/b/c", "a/+/c", "+/b/c", "+/+/c", "#", "a/#", "+/#", "a/b/#"]) {
    trie.subscribe("c", f, f);
  }
  // The order Mosquitto 2.0.11 sends a 5.0 client's copies in.
  assert.deepStrictEqual(matchedOptions(trie, "a/b/c"), [
    "a/b/c",
    "a/b/#",
    "a/+/c",
    "a/#",
    "+/b/c",
    "+/+/c",
    "+/#",
    "#",
  ]);
  // At the topic's last level, "a/#" before "a" [MQTT-4.7.1-2 note].
  const short = new SubscriptionTrie<string>();
  for (const f of ["#", "+", "+/#", "a", "a/#"]) short.subscribe("c", f, f);
  assert.deepStrictEqual(matchedOptions(short, "a"), ["a/#", "a", "+/#", "+", "#"]);
  // Shared groups after every non-shared subscription, in walk order among themselves.
  const shared = new SubscriptionTrie<string>();
  for (const f of ["$share/g/s/t", "s/#", "+/t", "$share/h/+/+", "#"]) shared.subscribe("c", f, f);
  assert.deepStrictEqual(matchedOptions(shared, "s/t"), [
    "s/#",
    "+/t",
    "#",
    "$share/g/s/t",
    "$share/h/+/+",
  ]);
});

Deno.test("RetainedIndex sets, finds and deletes a 100,000-level topic", () => {
  const index = new RetainedIndex<string>();
  index.set(DEEP, "deep");
  index.set("a", "shallow");
  assert.equal(index.get(DEEP), "deep");
  assert.equal(index.delete(DEEP), true);
  assert.equal(index.get(DEEP), undefined);
  assert.equal(index.size, 1);
  assert.deepStrictEqual(retainedTopics(index, "#"), ["a"]);
});

Deno.test("RetainedIndex matches a 100,000-level topic with '#', '+' and exact filters of any depth", () => {
  const index = new RetainedIndex<number>();
  index.set(DEEP, 1);
  index.set(`${levels("a", DEPTH - 1)}/b`, 2);
  index.set("$SYS/x", 3);
  const both = [DEEP, `${levels("a", DEPTH - 1)}/b`];
  assert.deepStrictEqual(retainedTopics(index, "#"), both);
  assert.deepStrictEqual(retainedTopics(index, "a/#"), both);
  assert.deepStrictEqual(retainedTopics(index, "+/+/#"), both);
  assert.deepStrictEqual(retainedTopics(index, DEEP), [DEEP]);
  assert.deepStrictEqual(retainedTopics(index, levels("+", DEPTH)), both);
  assert.deepStrictEqual(retainedTopics(index, `${levels("+", DEPTH - 1)}/b`), [both[1]]);
  assert.deepStrictEqual(retainedTopics(index, `${levels("+", DEPTH - 1)}/#`), both);
  assert.deepStrictEqual(retainedTopics(index, levels("+", DEPTH + 1)), []);
});

Deno.test("RetainedIndex visits matches depth first, in the order their levels were first set", () => {
  const index = new RetainedIndex<number>();
  for (const t of ["b", "a/y", "a", "a/x/1", "c/z", "a/x", "$SYS/q"]) index.set(t, 0);
  assert.deepStrictEqual(retainedTopics(index, "#"), ["b", "a", "a/y", "a/x", "a/x/1", "c/z"]);
  assert.deepStrictEqual(retainedTopics(index, "+/+"), ["a/y", "a/x", "c/z"]);
  assert.deepStrictEqual(retainedTopics(index, "a/#"), ["a", "a/y", "a/x", "a/x/1"]);
  assert.deepStrictEqual(retainedTopics(index, "+/#"), ["b", "a", "a/y", "a/x", "a/x/1", "c/z"]);
});
