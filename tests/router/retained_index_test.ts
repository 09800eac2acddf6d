import assert from "node:assert/strict";
import { RetainedIndex } from "../../src/router/retained_index.ts";
import { MATCH_TABLE } from "./match_table.ts";

function matched<V>(index: RetainedIndex<V>, filter: string): string[] {
  const out: string[] = [];
  index.match(filter, (topic) => out.push(topic));
  return out.sort();
}

Deno.test("RetainedIndex matches the filter/topic table [MQTT-4.7.1-2] [MQTT-4.7.2-1]", () => {
  for (const [filter, topic, expected] of MATCH_TABLE) {
    const index = new RetainedIndex<number>();
    index.set(topic, 1);
    assert.deepStrictEqual(
      matched(index, filter),
      expected ? [topic] : [],
      `${filter} vs ${topic}`,
    );
  }
});

Deno.test("RetainedIndex: one index with every table topic agrees with each row", () => {
  const index = new RetainedIndex<string>();
  for (const [, topic] of MATCH_TABLE) index.set(topic, topic);
  for (const [filter, topic, expected] of MATCH_TABLE) {
    assert.equal(matched(index, filter).includes(topic), expected, `${filter} vs ${topic}`);
  }
});

Deno.test("RetainedIndex: set replaces, delete clears and prunes, size counts", () => {
  const index = new RetainedIndex<string>();
  index.set("a/b", "1");
  index.set("a/b", "2");
  index.set("a", "3");
  assert.equal(index.size, 2);
  assert.equal(index.get("a/b"), "2");
  assert.equal(index.delete("a/b"), true);
  assert.equal(index.delete("a/b"), false);
  assert.equal(index.delete("a/b/c"), false);
  assert.equal(index.get("a/b"), undefined);
  assert.deepStrictEqual(matched(index, "#"), ["a"]);
  assert.equal(index.delete("a"), true);
  assert.equal(index.size, 0);
  assert.deepStrictEqual(matched(index, "#"), []);
  index.set("a/b", "4");
  assert.deepStrictEqual(matched(index, "a/+"), ["a/b"]);
});
