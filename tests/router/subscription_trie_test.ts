import assert from "node:assert/strict";
import { SubscriptionTrie } from "../../src/router/subscription_trie.ts";
import { MATCH_TABLE } from "./match_table.ts";

function matches<O>(trie: SubscriptionTrie<O>, topic: string): [string, O, boolean][] {
  const out: [string, O, boolean][] = [];
  trie.match(topic, (id, o, shared) => out.push([id, o, shared]));
  return out;
}

Deno.test("SubscriptionTrie matches the filter/topic table [MQTT-4.7.1-2] [MQTT-4.7.2-1]", () => {
  for (const [filter, topic, expected] of MATCH_TABLE) {
    if (topic === "") continue; // topic names are never empty
    const trie = new SubscriptionTrie<number>();
    trie.subscribe("c", filter, 1);
    assert.equal(matches(trie, topic).length, expected ? 1 : 0, `${filter} vs ${topic}`);
  }
});

Deno.test("SubscriptionTrie: one trie with every table filter agrees with each row", () => {
  const trie = new SubscriptionTrie<string>();
  for (const [filter] of MATCH_TABLE) trie.subscribe(`client ${filter}`, filter, filter);
  for (const [filter, topic, expected] of MATCH_TABLE) {
    if (topic === "") continue;
    const got = matches(trie, topic).map(([, f]) => f);
    assert.equal(got.includes(filter), expected, `${filter} vs ${topic}`);
    assert.equal(new Set(got).size, got.length, `${topic}: a filter matched twice`);
  }
});

Deno.test("SubscriptionTrie: a second subscribe to the same filter replaces the options [MQTT-3.8.4-3]", () => {
  const trie = new SubscriptionTrie<number>();
  assert.equal(trie.subscribe("c", "a/+", 1), true);
  assert.equal(trie.subscribe("c", "a/+", 2), false);
  assert.deepStrictEqual(matches(trie, "a/b"), [["c", 2, false]]);
  assert.equal(trie.count, 1);
});

Deno.test("SubscriptionTrie: overlapping filters of one client are visited once each", () => {
  const trie = new SubscriptionTrie<string>();
  trie.subscribe("c", "a/#", "hash");
  trie.subscribe("c", "a/+", "plus");
  trie.subscribe("c", "a/b", "exact");
  trie.subscribe("d", "x", "other");
  assert.deepStrictEqual(matches(trie, "a/b").map(([, o]) => o).sort(), ["exact", "hash", "plus"]);
});

Deno.test("SubscriptionTrie: unsubscribe removes exactly one subscription and prunes", () => {
  const trie = new SubscriptionTrie<number>();
  trie.subscribe("c", "a/b/c", 1);
  trie.subscribe("d", "a/b/c", 1);
  trie.subscribe("c", "a/#", 1);
  assert.equal(trie.unsubscribe("c", "a/b/c"), true);
  assert.equal(trie.unsubscribe("c", "a/b/c"), false);
  assert.equal(trie.unsubscribe("c", "a/b"), false);
  assert.equal(trie.unsubscribe("x", "a/#"), false);
  assert.deepStrictEqual(matches(trie, "a/b/c").map(([id]) => id).sort(), ["c", "d"]);
  trie.unsubscribe("d", "a/b/c");
  trie.unsubscribe("c", "a/#");
  assert.equal(trie.count, 0);
  assert.equal(matches(trie, "a/b/c").length, 0);
  // Subscribe again after pruning works.
  trie.subscribe("e", "a/b/c", 1);
  assert.equal(matches(trie, "a/b/c").length, 1);
});

Deno.test("SubscriptionTrie: a shared group delivers each message to one member, in turn [MQTT-4.8.2-3]", () => {
  const trie = new SubscriptionTrie<number>();
  trie.subscribe("a", "$share/g/t/+", 1);
  trie.subscribe("b", "$share/g/t/+", 1);
  trie.subscribe("c", "$share/g/t/+", 1);
  trie.subscribe("x", "$share/other/t/#", 2);
  trie.subscribe("plain", "t/1", 0);
  const rounds: string[][] = [];
  for (let i = 0; i < 6; i++) rounds.push(matches(trie, "t/1").map(([id]) => id).sort());
  assert.deepStrictEqual(rounds, [
    ["a", "plain", "x"],
    ["b", "plain", "x"],
    ["c", "plain", "x"],
    ["a", "plain", "x"],
    ["b", "plain", "x"],
    ["c", "plain", "x"],
  ]);
  assert.equal(trie.sharedCount, 4);
  assert.equal(trie.count, 1);
  assert.ok(matches(trie, "t/1").some(([, , shared]) => shared));
});

Deno.test("SubscriptionTrie: shared groups skip members that are not eligible", () => {
  const trie = new SubscriptionTrie<number>();
  for (const id of ["a", "b", "c"]) trie.subscribe(id, "$share/g/t", 1);
  const online = new Set(["a", "c"]);
  const got: string[] = [];
  for (let i = 0; i < 4; i++) {
    trie.match("t", (id) => got.push(id), (id) => online.has(id));
  }
  assert.deepStrictEqual(got, ["a", "c", "a", "c"]);
  online.clear();
  const fallback: string[] = [];
  trie.match("t", (id) => fallback.push(id), (id) => online.has(id));
  assert.equal(fallback.length, 1, "with nobody eligible, one member still takes it");
});

Deno.test("SubscriptionTrie: leaving a shared group keeps the turn order of the rest", () => {
  const trie = new SubscriptionTrie<number>();
  for (const id of ["a", "b", "c"]) trie.subscribe(id, "$share/g/t", 1);
  assert.equal(trie.unsubscribe("b", "$share/g/t"), true);
  const got: string[] = [];
  for (let i = 0; i < 4; i++) trie.match("t", (id) => got.push(id));
  assert.deepStrictEqual(got, ["a", "c", "a", "c"]);
  trie.unsubscribe("a", "$share/g/t");
  trie.unsubscribe("c", "$share/g/t");
  assert.equal(trie.sharedCount, 0);
  assert.equal(matches(trie, "t").length, 0);
});

Deno.test("SubscriptionTrie: the same filter shared and plain are separate subscriptions", () => {
  const trie = new SubscriptionTrie<string>();
  trie.subscribe("c", "t", "plain");
  trie.subscribe("c", "$share/g/t", "shared");
  assert.deepStrictEqual(matches(trie, "t").map(([, o]) => o).sort(), ["plain", "shared"]);
});
