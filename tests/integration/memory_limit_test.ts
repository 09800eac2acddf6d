/**
 * `memory_limit` over real sockets, with the memory figure injected: a 5.0 publisher refused
 * with DISCONNECT 0x97, a 3.1.1 one disconnected, new connections refused with CONNACK 0x97
 * (3.1.1: server unavailable) until memory is back under the limit, payloads accepted since the last reading
 * counted, clearing retained messages still allowed, the refusal counted and logged once per
 * client, and the broker serving everyone else meanwhile.
 */

import assert from "node:assert/strict";
import { MemoryWatch } from "../../src/broker/memory_watch.ts";
import { ReasonCode } from "../../src/codec/mod.ts";
import { clientsJson } from "../../src/http/api.ts";
import { connect, startBroker, type TestBroker } from "./harness.ts";
import { expectAck, pub, sub, subscribe } from "./pubsub_helpers.ts";

const KiB = 1024;
const LIMIT = 1024 * KiB;

/** A broker with `memory_limit` LIMIT whose memory figure is `figure.used` (bytes). */
function brokerWithFigure(used: number): { tb: TestBroker; figure: { used: number } } {
  const tb = startBroker({ memoryLimit: LIMIT });
  const figure = { used };
  tb.broker.memory = new MemoryWatch({ read: () => figure.used, reclaim: () => {} });
  tb.logs.length = 0; // what the watch it replaces said of this process's real memory
  sample(tb);
  return { tb, figure };
}

/** Read the memory now, as the sweep does every 250 ms. */
function sample(tb: TestBroker): void {
  tb.broker.memory.check({
    limit: tb.broker.options.memoryLimit,
    retainedBytes: tb.broker.fanOut.retained.bytes,
    now: tb.broker.now(),
    log: tb.broker.log,
  });
}

Deno.test("memory_limit: a 5.0 publisher over the limit gets DISCONNECT 0x97, others are served", async () => {
  const { tb, figure } = brokerWithFigure(100 * KiB);
  const { client: watcher } = await connect(tb.port, { clientId: "watcher", protocolVersion: 5 });
  try {
    await subscribe(watcher, sub("m/#", 1));
    const first = await connect(tb.port, { clientId: "pub5", protocolVersion: 5 });
    await first.client.send(pub("m/a", "before", { qos: 1, packetId: 1 }));
    assert.equal((await expectAck(first.client, "puback")).reasonCode, 0);
    assert.equal((await watcher.expect("publish")).topic, "m/a");
    figure.used = LIMIT + 1;
    sample(tb);
    await first.client.send(pub("m/b", "over", { qos: 1, packetId: 2 }));
    const disconnect = await first.client.expect("disconnect");
    assert.equal(disconnect.reasonCode, ReasonCode.QuotaExceeded);
    await first.client.expectClosed();
    await first.client.close();
    // A new connection while over the limit: CONNACK 0x97, 3.1.1 "server unavailable".
    for (const protocolVersion of [5, 4] as const) {
      const refused = await connect(tb.port, { clientId: "late", protocolVersion });
      const expected = protocolVersion === 5
        ? ReasonCode.QuotaExceeded
        : ReasonCode.ServerUnavailable; // return code 3, as a 3.1.1 client reads it
      assert.equal(refused.connack.reasonCode, expected, `v${protocolVersion}`);
      await refused.client.expectClosed();
      await refused.client.close();
    }
    assert.equal(tb.broker.memory.connectsRefused, 2);
    // Under the limit again, it connects; over it once more, its PUBLISH is refused too.
    figure.used = LIMIT - 100 * KiB;
    sample(tb);
    const second = await connect(tb.port, { clientId: "pub5", protocolVersion: 5 });
    assert.equal(second.connack.reasonCode, 0);
    figure.used = LIMIT + 1;
    sample(tb);
    await second.client.send(pub("m/c", "over again"));
    assert.equal((await second.client.expect("disconnect")).reasonCode, ReasonCode.QuotaExceeded);
    await second.client.close();
    await watcher.expectNothing(100);
    assert.equal(tb.broker.memory.refused, 2);
    // Logged once for each time the memory went over the limit.
    assert.equal(
      tb.logs.filter((l) => l.includes("Client pub5 disconnected due to out of memory")).length,
      2,
    );
    assert.equal(
      tb.logs.filter((l) => l.includes("memory_limit of 1048576 bytes reached")).length,
      2,
    );
    assert.ok(tb.broker.metrics.publishDropped >= 2);
    // The broker still answers the others.
    await subscribe(watcher, sub("other/#"));
  } finally {
    await watcher.close();
    await tb.stop();
  }
});

Deno.test("memory_limit: a 3.1.1 publisher over the limit is disconnected without a packet", async () => {
  const { tb, figure } = brokerWithFigure(100 * KiB);
  try {
    const { client } = await connect(tb.port, { clientId: "pub4", protocolVersion: 4 });
    figure.used = LIMIT + 1;
    sample(tb);
    await client.send(pub("m/a", "over", { qos: 1, packetId: 1 }));
    await client.expectClosed();
    assert.equal(client.takeAll().length, 0);
    await client.close();
    assert.equal(tb.broker.memory.refused, 1);
  } finally {
    await tb.stop();
  }
});

Deno.test("memory_limit: payloads accepted since the last reading count, so a burst is caught", async () => {
  const { tb } = brokerWithFigure(LIMIT - 10 * KiB);
  try {
    const { client } = await connect(tb.port, { clientId: "burst", protocolVersion: 5 });
    const payload = new Uint8Array(4 * KiB);
    for (const packetId of [1, 2]) {
      await client.send(pub("m/burst", payload, { qos: 1, packetId }));
      assert.equal((await expectAck(client, "puback")).packetId, packetId);
    }
    await client.send(pub("m/burst", payload, { qos: 1, packetId: 3 }));
    assert.equal((await client.expect("disconnect")).reasonCode, ReasonCode.QuotaExceeded);
    await client.close();
  } finally {
    await tb.stop();
  }
});

Deno.test("memory_limit: over the limit, an empty payload still clears a retained message", async () => {
  const { tb, figure } = brokerWithFigure(100 * KiB);
  try {
    const { client } = await connect(tb.port, { clientId: "clearer", protocolVersion: 5 });
    await client.send(pub("m/kept", "value", { qos: 1, packetId: 1, retain: true }));
    await expectAck(client, "puback");
    assert.equal(tb.broker.fanOut.retained.size, 1);
    figure.used = LIMIT * 2;
    sample(tb);
    await client.send(pub("m/kept", "", { qos: 1, packetId: 2, retain: true }));
    await expectAck(client, "puback");
    assert.equal(tb.broker.fanOut.retained.size, 0);
    await client.close();
  } finally {
    await tb.stop();
  }
});

Deno.test("memory_limit: a persistent session shows its refusals in /api/v1/clients", async () => {
  const { tb, figure } = brokerWithFigure(100 * KiB);
  try {
    const { client } = await connect(tb.port, {
      clientId: "kept",
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    figure.used = LIMIT + 1;
    sample(tb);
    await client.send(pub("m/a", "over"));
    await client.expect("disconnect");
    await client.close();
    const entry = clientsJson(tb.broker).clients.find((c) => c.clientId === "kept");
    assert.equal(entry?.refusedForMemory, 1);
  } finally {
    await tb.stop();
  }
});

Deno.test("memory_limit 0: no limit, whatever the memory", async () => {
  const tb = startBroker();
  tb.broker.memory = new MemoryWatch({ read: () => Number.MAX_SAFE_INTEGER, reclaim: () => {} });
  sample(tb);
  try {
    const { client } = await connect(tb.port, { clientId: "free", protocolVersion: 5 });
    await client.send(pub("m/a", "fine", { qos: 1, packetId: 1 }));
    assert.equal((await expectAck(client, "puback")).reasonCode, ReasonCode.NoMatchingSubscribers);
    await client.close();
  } finally {
    await tb.stop();
  }
});
