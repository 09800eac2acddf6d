/**
 * Very deep topics over real sockets: a topic or filter with thousands of levels must neither
 * overflow the stack of the broker (disconnecting everybody whose traffic walks it) nor get in;
 * like Mosquitto 2.0, the broker refuses names and filters with more than 200 '/'.
 */

import assert from "node:assert/strict";
import { MAX_TOPIC_SEPARATORS, ReasonCode } from "../../src/codec/mod.ts";
import {
  decodeMessage,
  decodeSession,
  decodeSubscription,
  encodeMessage,
  encodeSession,
  encodeSubscription,
} from "../../src/store/records.ts";
import type { MemoryStoreData } from "../../src/store/memory_store.ts";
import { RawClient, waitFor } from "./harness.ts";
import { Brokers, keysOf, withBrokers } from "./persistence_helpers.ts";
import {
  type Bench,
  payloadText,
  pub,
  publishAcked,
  receive,
  sub,
  subscribe,
  sync,
  versionName,
  VERSIONS,
  withBroker,
} from "./pubsub_helpers.ts";

/** A topic of `levels` levels: `first` then `a` repeated. */
function deepTopic(levels: number, first = "a"): string {
  return [first, ...Array.from({ length: levels - 1 }, () => "a")].join("/");
}

/** The deepest topic accepted, and one level more. */
const DEEPEST = MAX_TOPIC_SEPARATORS + 1;

/** A bystander pair that must keep being served: a publisher on `calm/t`, a subscriber. */
async function bystander(bench: Bench) {
  const watcher = await bench.client("watcher", { protocolVersion: 5 });
  await subscribe(watcher, sub("calm/#", 1));
  const talker = await bench.client("talker", { protocolVersion: 5 });
  return async (text: string) => {
    await publishAcked(talker, pub("calm/t", text, { qos: 1, packetId: 1 }));
    assert.equal(payloadText((await receive(watcher, 1, 3000))[0]), text);
  };
}

/** The broker's log has no internal error (a RangeError in a handler becomes one). */
function assertNoInternalError(logs: string[]): void {
  const bad = logs.filter((l) => l.includes("Internal error") || l.includes("RangeError"));
  assert.deepStrictEqual(bad.map((l) => l.slice(0, 200)), []);
}

Deno.test("a retained PUBLISH on a 5,000-level topic does not disconnect later subscribers to #, b/# or +/+/#", async () => {
  await withBroker({}, async (bench) => {
    const stillServed = await bystander(bench);
    const p = await bench.client("deep-pub", { protocolVersion: 5 });
    await p.send(pub(deepTopic(5000, "b"), "poison", { qos: 1, packetId: 1, retain: true }));
    await p.next(3000); // PUBACK before the fix, DISCONNECT 0x82 after it
    const subscribers: RawClient[] = [];
    for (const filter of ["#", "b/#", "+/+/#"]) {
      const s = await bench.client(`sub ${filter}`, { protocolVersion: 5 });
      await subscribe(s, sub(filter, 1));
      await sync(s); // still connected: nothing but PINGRESP came back
      subscribers.push(s);
    }
    await publishAcked(p.closed ? await bench.client("pub2") : p, pub("b/c/d", "fine"));
    for (const s of subscribers) assert.equal(payloadText((await receive(s, 1))[0]), "fine");
    await stillServed("after the deep retained message");
    assertNoInternalError(bench.tb.logs);
  });
});

Deno.test("a SUBSCRIBE with a 32,767-level filter does not break later publishers, deep or not", async () => {
  await withBroker({}, async (bench) => {
    const stillServed = await bystander(bench);
    const deep = deepTopic(32767);
    const s = await bench.client("deep-sub", { protocolVersion: 5 });
    await s.send({ type: "subscribe", packetId: 1, subscriptions: [sub(deep, 1)] });
    await s.next(3000); // SUBACK before the fix, DISCONNECT 0x8F after it
    const p = await bench.client("deep-pub", { protocolVersion: 5 });
    await p.send(pub(deep, "x", { qos: 1, packetId: 1 }));
    const answer = await p.next(3000);
    assert.notEqual(
      (answer as { reasonCode?: number }).reasonCode,
      ReasonCode.ImplementationSpecificError,
      JSON.stringify(answer),
    );
    const q = await bench.client("plain-pub", { protocolVersion: 5 });
    await publishAcked(q, pub("a/a", "x", { qos: 1, packetId: 1 }));
    await stillServed("after the deep filter");
    assertNoInternalError(bench.tb.logs);
  });
});

for (const version of VERSIONS) {
  const v = versionName(version);

  Deno.test(`${v}: a PUBLISH of ${DEEPEST} levels is accepted, one of ${DEEPEST + 1} ends the connection (5.0: DISCONNECT 0x82, as Mosquitto) and is logged`, async () => {
    await withBroker({}, async (bench) => {
      const s = await bench.client("s", { protocolVersion: 5 });
      await subscribe(s, sub("#"));
      for (const qos of [0, 1] as const) {
        const p = await bench.client(`p${qos}`, { protocolVersion: version });
        await publishAcked(p, pub(deepTopic(DEEPEST), "ok", { qos, packetId: 1, retain: true }));
        assert.equal((await receive(s, 1))[0].topic, deepTopic(DEEPEST));
        await p.send(pub(deepTopic(DEEPEST + 1), "no", { qos, packetId: 2, retain: true }));
        if (version === 5) {
          const d = await p.expect("disconnect");
          assert.equal(d.reasonCode, ReasonCode.ProtocolError);
        }
        await p.expectClosed();
        assert.ok(
          bench.tb.logs.some((l) =>
            l.startsWith(`Bad packet from client p${qos}: topic name`) &&
            l.includes(`${DEEPEST + 1} levels`)
          ),
          bench.tb.logs.join("\n").slice(-2000),
        );
      }
      await s.expectNothing(); // the refused ones went nowhere
      assert.equal(bench.tb.broker.fanOut.retained.get(deepTopic(DEEPEST + 1)), undefined);
    });
  });

  for (const kind of ["subscribe", "unsubscribe"] as const) {
    Deno.test(`${v}: ${kind.toUpperCase()} of a ${DEEPEST}-level filter is accepted, one of ${DEEPEST + 1} ends the connection (5.0: DISCONNECT 0x81, as Mosquitto) and is logged`, async () => {
      await withBroker({}, async (bench) => {
        const c = await bench.client("c", { protocolVersion: version });
        const send = (filter: string, packetId: number) =>
          c.send(
            kind === "subscribe"
              ? { type: "subscribe", packetId, subscriptions: [sub(filter)] }
              : { type: "unsubscribe", packetId, topicFilters: [filter] },
          );
        await send(deepTopic(DEEPEST, "+"), 1);
        await c.expect(kind === "subscribe" ? "suback" : "unsuback");
        // With a '$share/g/' prefix the whole filter counts, as in Mosquitto.
        if (kind === "subscribe") {
          await send(`$share/g/${deepTopic(DEEPEST - 2)}`, 2);
          await c.expect("suback");
        }
        await send(deepTopic(DEEPEST + 1, "+"), 3);
        if (version === 5) {
          const d = await c.expect("disconnect");
          assert.equal(d.reasonCode, ReasonCode.MalformedPacket);
        }
        await c.expectClosed();
        assert.ok(
          bench.tb.logs.some((l) =>
            l.startsWith("Bad packet from client c: topic filter") &&
            l.includes(`${DEEPEST + 1} levels`)
          ),
          bench.tb.logs.join("\n").slice(-2000),
        );
      });
    });
  }

  Deno.test(`${v}: a will topic of ${DEEPEST + 1} levels is refused without CONNACK, as Mosquitto does`, async () => {
    await withBroker({}, async (bench) => {
      const ok = await bench.connect("ok", {
        protocolVersion: version,
        will: { topic: deepTopic(DEEPEST), payload: new Uint8Array(), qos: 0, retain: false },
      });
      assert.equal(ok.connack.reasonCode, 0);
      const c = await RawClient.open(bench.tb.port, version);
      try {
        await c.send({
          type: "connect",
          protocolVersion: version,
          clientId: "deep-will",
          clean: true,
          keepAlive: 60,
          will: { topic: deepTopic(DEEPEST + 1), payload: new Uint8Array(), qos: 0, retain: false },
        });
        await c.expectClosed();
        assert.deepStrictEqual(c.takeAll(), []);
      } finally {
        await c.close();
      }
    });
  });
}

/** `data` with every topic and filter of its sessions' wills, subscriptions and messages made deep. */
function deepened(data: MemoryStoreData, topic: string): MemoryStoreData {
  const out = new Map(data);
  for (const [key, bytes] of data) {
    if (key.startsWith("s/")) {
      const rec = decodeSession(bytes);
      if (rec.will !== undefined) {
        out.set(key, encodeSession({ ...rec, will: { ...rec.will, topic } }));
      }
    } else if (key.startsWith("u/")) {
      out.set(key, encodeSubscription({ ...decodeSubscription(bytes), filter: topic }));
    } else if (key.startsWith("m/")) {
      out.set(key, encodeMessage({ ...decodeMessage(bytes), topic }));
    }
  }
  return out;
}

Deno.test("a store holding a retained message, a subscription and a will deeper than 201 levels still starts; they are left out with a warning", async () => {
  await withBrokers(async (brokers) => {
    const a = await brokers.start();
    const keeper = await a.connect({
      clientId: "keeper",
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
      will: { topic: "w", payload: new TextEncoder().encode("bye"), qos: 0, retain: true },
    });
    await subscribe(keeper, sub("f/#", 1));
    const p = await a.connect({ clientId: "p", protocolVersion: 5 });
    await publishAcked(p, pub("r", "poison", { qos: 1, packetId: 1, retain: true }));
    await waitFor(
      () => keysOf(a.data, "r").length === 1 && keysOf(a.data, "u").length === 1,
      "the records",
    );
    const deep = deepTopic(5000);
    const b = await brokers.start(deepened(Brokers.crash(a), deep));
    assert.equal(b.restored.sessions, 1);
    assert.equal(b.restored.subscriptions, 0);
    assert.equal(b.restored.retained, 0);
    const warnings = b.logs.filter((l) => l.includes("5000 levels"));
    assert.equal(warnings.length, 3, b.logs.join("\n"));
    assert.ok(warnings.some((l) => l.includes("the will of keeper is dropped")));
    const s = await b.connect({ clientId: "s", protocolVersion: 5 });
    await subscribe(s, sub("#", 1));
    await s.expectNothing(); // neither the deep retained message nor the will
    assertNoInternalError(b.logs);
  });
});
