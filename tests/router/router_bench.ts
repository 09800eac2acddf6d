/**
 * The router's hot paths: matching a PUBLISH topic against many subscriptions, and finding the
 * retained messages of a new subscription.
 */

import { RetainedIndex } from "../../src/router/retained_index.ts";
import { SubscriptionTrie } from "../../src/router/subscription_trie.ts";

const trie = new SubscriptionTrie<number>();
for (let i = 0; i < 10_000; i++) {
  trie.subscribe(`c${i}`, `site/${i % 50}/device/${i}/telemetry`, 0);
  if (i % 10 === 0) trie.subscribe(`c${i}`, `site/${i % 50}/+/+/alerts`, 1);
  if (i % 100 === 0) trie.subscribe(`c${i}`, `site/${i % 50}/#`, 1);
}
trie.subscribe("all", "#", 0);
trie.subscribe("g1", "$share/g/site/+/device/+/telemetry", 0);

const retained = new RetainedIndex<number>();
for (let i = 0; i < 10_000; i++) retained.set(`site/${i % 50}/device/${i}/state`, i);

let sink = 0;
const count = () => sink++;

Deno.bench("trie match: 10,000 subscriptions, 5-level topic", { group: "trie" }, () => {
  trie.match("site/7/device/1207/telemetry", count);
});

Deno.bench("trie match: 2-level topic, no exact subscriber", { group: "trie" }, () => {
  trie.match("other/topic", count);
});

Deno.bench("retained match: exact topic", { group: "retained" }, () => {
  retained.match("site/7/device/1207/state", count);
});

Deno.bench("retained match: site/7/+/+/state (200 of 10,000)", { group: "retained" }, () => {
  retained.match("site/7/+/+/state", count);
});

Deno.bench("retained match: site/7/# (200 of 10,000)", { group: "retained" }, () => {
  retained.match("site/7/#", count);
});
