/**
 * Limits on the way out, over real sockets: the in-flight window (max_inflight_messages and a
 * 5.0 client's receive maximum), the queue (max_queued_messages, max_queued_bytes), a 5.0
 * client's maximum packet size, message expiry, and a subscriber that stops reading.
 *
 * @module
 */

import assert from "node:assert/strict";
import { encodePacket, type PublishPacket, type QoS, ReasonCode } from "../../src/codec/mod.ts";
import { clientsJson } from "../../src/http/api.ts";
import type { ListenerOptions } from "../../src/broker/options.ts";
import { UNREAD_LIMIT_BYTES } from "../../src/transport/tls_listen.ts";
import { makeCertificates } from "../fixtures/certs.ts";
import { delay, type RawClient, type TestBroker, waitFor } from "./harness.ts";
import {
  ackDelivery,
  expectAck,
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

/** Send `n` QoS 1 messages "m0".."m<n-1>" (or `payloadBytes` of "0", "1", ...) in one write. */
async function sendBurst(
  publisher: RawClient,
  topic: string,
  n: number,
  payloadBytes = 0,
): Promise<void> {
  const packets: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const payload = payloadBytes > 0 ? new Uint8Array(payloadBytes).fill(0x30 + i) : `m${i}`;
    packets.push(
      encodePacket(pub(topic, payload, { qos: 1, packetId: i + 1 }), publisher.version),
    );
  }
  const all = new Uint8Array(packets.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of packets) {
    all.set(p, at);
    at += p.length;
  }
  await publisher.sendBytes(all);
}

/** `sendBurst`, then take the `n` PUBACKs. */
async function publishBurst(
  publisher: RawClient,
  topic: string,
  n: number,
  payloadBytes = 0,
): Promise<void> {
  await sendBurst(publisher, topic, n, payloadBytes);
  for (let i = 0; i < n; i++) assert.equal((await expectAck(publisher, "puback")).packetId, i + 1);
}

/** Take `n` PUBLISH packets, acknowledging each, all within `totalMs`. */
async function receiveAckedWithin(
  client: RawClient,
  n: number,
  totalMs: number,
): Promise<PublishPacket[]> {
  const deadline = Date.now() + totalMs;
  const out: PublishPacket[] = [];
  while (out.length < n) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    try {
      const p = await client.expect("publish", left);
      out.push(p);
      await ackDelivery(client, p);
    } catch {
      break;
    }
  }
  assert.equal(out.length, n, `${out.length} of ${n} messages within ${totalMs} ms`);
  return out;
}

// ---------------------------------------------------------------- in-flight window

for (const v of VERSIONS) {
  Deno.test(`max_inflight_messages 2: a subscriber that does not acknowledge gets 2, then one more per PUBACK (${versionName(v)})`, async () => {
    await withBroker({ maxInflightMessages: 2 }, async ({ connect, client }) => {
      const { client: s, connack } = await connect("sub", { protocolVersion: v });
      if (v === 5) assert.equal(connack.properties?.receiveMaximum, 2);
      await subscribe(s, sub("if/t", 1));
      const publisher = await client("pub");
      await publishBurst(publisher, "if/t", 5);
      const first = await receive(s, 2);
      assert.deepEqual(first.map(payloadText), ["m0", "m1"]);
      await s.expectNothing(300);
      await ackDelivery(s, first[0]);
      const [third] = await receive(s, 1);
      assert.equal(payloadText(third), "m2");
      await s.expectNothing(300);
      await ackDelivery(s, first[1]);
      await ackDelivery(s, third);
      assert.deepEqual((await receive(s, 2)).map(payloadText), ["m3", "m4"]);
    });
  });
}

Deno.test("5.0 receive maximum 1: one QoS 1/2 message in flight, the next after PUBACK or PUBCOMP (not PUBREC) [MQTT-3.3.4-9]", async () => {
  await withBroker({}, async ({ client }) => {
    const s = await client("sub", { protocolVersion: 5, properties: { receiveMaximum: 1 } });
    await subscribe(s, sub("rm/t", 2));
    const publisher = await client("pub");
    await publishAcked(publisher, pub("rm/t", "one", { qos: 1, packetId: 1 }));
    await publishAcked(publisher, pub("rm/t", "two", { qos: 2, packetId: 2 }));
    await publishAcked(publisher, pub("rm/t", "three", { qos: 1, packetId: 3 }));
    const [one] = await receive(s, 1);
    assert.deepEqual([payloadText(one), one.qos], ["one", 1]);
    await s.expectNothing(300);
    await s.send({ type: "puback", packetId: one.packetId!, reasonCode: 0 });
    const [two] = await receive(s, 1);
    assert.deepEqual([payloadText(two), two.qos], ["two", 2]);
    await s.send({ type: "pubrec", packetId: two.packetId!, reasonCode: 0 });
    await expectAck(s, "pubrel");
    await s.expectNothing(300); // still in flight until PUBCOMP
    await s.send({ type: "pubcomp", packetId: two.packetId!, reasonCode: 0 });
    const [three] = await receive(s, 1);
    assert.equal(payloadText(three), "three");
  });
});

Deno.test("5.0 session resumed with a smaller receive maximum: in-flight messages are resent only as it allows, in order, before the queue [MQTT-3.3.4-9]", async () => {
  await withBroker({}, async ({ client }) => {
    const fields = (receiveMaximum: number) => ({
      protocolVersion: 5 as const,
      clean: false,
      properties: { sessionExpiryInterval: 300, receiveMaximum },
    });
    const first = await client("rs", fields(10));
    await subscribe(first, sub("rs/t", 1));
    const publisher = await client("pub");
    await publishBurst(publisher, "rs/t", 6);
    assert.equal((await receive(first, 6)).length, 6); // all six in flight, none acknowledged
    await first.close();
    const again = await client("rs", fields(2));
    await publishAcked(publisher, pub("rs/t", "later", { qos: 1, packetId: 100 }));
    const resent = await receive(again, 2);
    assert.deepEqual(resent.map((p) => [payloadText(p), p.dup]), [["m0", true], ["m1", true]]);
    await again.expectNothing(300);
    await ackDelivery(again, resent[0]);
    const [third] = await receive(again, 1);
    assert.deepEqual([payloadText(third), third.dup], ["m2", true]);
    await again.expectNothing(300);
    const open: PublishPacket[] = [resent[1], third];
    const next: string[] = [];
    for (let i = 0; i < 4 && open.length > 0; i++) {
      await ackDelivery(again, open.shift()!);
      const [p] = await receive(again, 1);
      open.push(p);
      next.push(payloadText(p));
    }
    assert.deepEqual(next, ["m3", "m4", "m5", "later"]);
  });
});

Deno.test("5.0: more unreleased QoS 2 PUBLISH than the receive maximum in CONNACK is DISCONNECT 0x93", async () => {
  await withBroker({ maxInflightMessages: 2 }, async ({ connect }) => {
    const { client: p, connack } = await connect("pub", { protocolVersion: 5 });
    assert.equal(connack.properties?.receiveMaximum, 2);
    for (let id = 1; id <= 3; id++) await p.send(pub("rx/t", `${id}`, { qos: 2, packetId: id }));
    assert.equal((await expectAck(p, "pubrec")).packetId, 1);
    assert.equal((await expectAck(p, "pubrec")).packetId, 2);
    assert.equal((await p.expect("disconnect")).reasonCode, ReasonCode.ReceiveMaximumExceeded);
    await p.expectClosed();
  });
});

Deno.test("3.1.1 has no receive maximum: 25 unreleased QoS 2 PUBLISH are all accepted, as Mosquitto does", async () => {
  await withBroker({}, async ({ client }) => {
    const s = await client("sub");
    await subscribe(s, sub("rx/t", 0));
    const p = await client("pub");
    for (let id = 1; id <= 25; id++) await p.send(pub("rx/t", `${id}`, { qos: 2, packetId: id }));
    for (let id = 1; id <= 25; id++) assert.equal((await expectAck(p, "pubrec")).packetId, id);
    for (let id = 1; id <= 25; id++) {
      await p.send({ type: "pubrel", packetId: id, reasonCode: 0 });
      assert.equal((await expectAck(p, "pubcomp")).packetId, id);
    }
    assert.equal((await receive(s, 25)).length, 25);
  });
});

// ---------------------------------------------------------------- queue limits

Deno.test("max_queued_messages: beyond the in-flight window and the queue, messages are dropped and counted", async () => {
  await withBroker(
    { maxInflightMessages: 2, maxQueuedMessages: 3 },
    async ({ client, tb }) => {
      const s = await client("sub");
      await subscribe(s, sub("mq/t", 1));
      const publisher = await client("pub");
      await publishBurst(publisher, "mq/t", 7);
      assert.equal(tb.broker.metrics.publishDropped, 2);
      assert.ok(
        tb.logs.includes("Outgoing messages are being dropped for client sub."),
        tb.logs.join("\n"),
      );
      const got: PublishPacket[] = [];
      while (got.length < 5) {
        const p = (await receive(s, 1))[0];
        got.push(p);
        await ackDelivery(s, p);
      }
      assert.deepEqual(got.map(payloadText), ["m0", "m1", "m2", "m3", "m4"]);
      await s.expectNothing(300);
    },
  );
});

Deno.test("max_queued_messages for an offline persistent session: the queue keeps the first, drops and counts the rest", async () => {
  await withBroker(
    { maxInflightMessages: 2, maxQueuedMessages: 3 },
    async ({ client, connect, tb }) => {
      const away = await client("away", { clean: false });
      await subscribe(away, sub("mq/t", 1));
      await away.send({ type: "disconnect", reasonCode: 0 });
      await away.expectClosed();
      const publisher = await client("pub");
      await publishBurst(publisher, "mq/t", 10);
      assert.equal(tb.broker.metrics.publishDropped, 7);
      // Counted per client in the API, and logged once (not once per message).
      const away2 = clientsJson(tb.broker).clients.find((c) => c.clientId === "away")!;
      assert.equal(away2.dropped, 7);
      assert.equal(
        tb.logs.filter((l) => l === "Outgoing messages are being dropped for client away.").length,
        1,
      );
      const { client: back, connack } = await connect("away", { clean: false });
      assert.equal(connack.sessionPresent, true);
      const got: PublishPacket[] = [];
      while (got.length < 3) {
        const p = (await receive(back, 1))[0];
        got.push(p);
        await ackDelivery(back, p);
      }
      assert.deepEqual(got.map(payloadText), ["m0", "m1", "m2"]);
      await back.expectNothing(300);
    },
  );
});

Deno.test("max_queued_bytes: payload bytes queued beyond the in-flight window are bounded, the excess dropped and counted", async () => {
  await withBroker(
    { maxInflightMessages: 1, maxQueuedBytes: 300 },
    async ({ client, tb }) => {
      const s = await client("sub", { protocolVersion: 5 });
      await subscribe(s, sub("qb/t", 1));
      const publisher = await client("pub");
      await publishBurst(publisher, "qb/t", 6, 100); // 1 in flight, 3 x 100 bytes queued
      assert.equal(tb.broker.metrics.publishDropped, 2);
      const got: PublishPacket[] = [];
      while (got.length < 4) {
        const p = (await receive(s, 1))[0];
        got.push(p);
        await ackDelivery(s, p);
      }
      assert.deepEqual(got.map((p) => p.payload[0] - 0x30), [0, 1, 2, 3]);
      await s.expectNothing(300);
    },
  );
});

// ---------------------------------------------------------------- client maximum packet size

Deno.test("5.0 maximum packet size: a PUBLISH larger than the client accepts is never sent to it, others still get it [MQTT-3.1.2-24] [MQTT-3.1.2-25]", async () => {
  await withBroker({ maxInflightMessages: 1 }, async ({ client, tb }) => {
    const small = await client("small", {
      protocolVersion: 5,
      properties: { maximumPacketSize: 64 },
    });
    await subscribe(small, sub("ps/#", 1));
    const big = await client("big", { protocolVersion: 5 });
    await subscribe(big, sub("ps/#", 1));
    const publisher = await client("pub");
    await publishAcked(publisher, pub("ps/t", new Uint8Array(100), { qos: 1, packetId: 1 }));
    await publishAcked(publisher, pub("ps/t", "fits", { qos: 1, packetId: 2 }));
    // The dropped message does not hold the only in-flight slot [MQTT-3.1.2-25].
    const [got] = await receive(small, 1);
    assert.equal(payloadText(got), "fits");
    assert.ok(small.frames.every((f) => f.length <= 64));
    await ackDelivery(small, got);
    await small.expectNothing(300);
    assert.equal(tb.broker.metrics.publishDropped, 1);
    const both = [];
    for (let i = 0; i < 2; i++) {
      const [p] = await receive(big, 1);
      both.push(p.payload.length);
      await ackDelivery(big, p);
    }
    assert.deepEqual(both, [100, 4]);
  });
});

// ---------------------------------------------------------------- message expiry

Deno.test("message expiry: a queued or retained message's interval is reduced by its wait, an expired one is dropped [MQTT-3.3.2-5] [MQTT-3.3.2-6]", async () => {
  await withBroker({}, async ({ client, connect }) => {
    const persistent = { protocolVersion: 5 as const, properties: { sessionExpiryInterval: 60 } };
    const away = await client("away", persistent);
    await subscribe(away, sub("ex/#", 1));
    await away.send({ type: "disconnect", reasonCode: 0 });
    await away.expectClosed();
    const online = await client("online", { protocolVersion: 5 });
    await subscribe(online, sub("ex/#", 1));

    const publisher = await client("pub", { protocolVersion: 5 });
    const expiring = (t: string, s: number, id: number) =>
      pub(t, t, { qos: 1, packetId: id, properties: { messageExpiryInterval: s } });
    await publishAcked(publisher, expiring("ex/short", 1, 1));
    await publishAcked(publisher, expiring("ex/long", 2, 2));
    await publishAcked(publisher, pub("ex/never", "ex/never", { qos: 1, packetId: 3 }));
    const retained = (t: string, s: number) =>
      pub(t, t, { retain: true, properties: { messageExpiryInterval: s } });
    await publishAcked(publisher, retained("rex/short", 1));
    await publishAcked(publisher, retained("rex/long", 2));
    const live = await receive(online, 3);
    assert.deepEqual(
      live.map((p) => [p.topic, p.properties?.messageExpiryInterval]),
      [["ex/short", 1], ["ex/long", 2], ["ex/never", undefined]],
    );

    await delay(1400); // the 1 s messages expired 400 ms ago; the 2 s ones have 600 ms left
    const late = await client("late", { protocolVersion: 5 });
    await subscribe(late, sub("rex/#", 0));
    const [kept] = await receive(late, 1);
    assert.deepEqual([kept.topic, kept.retain, kept.properties?.messageExpiryInterval], [
      "rex/long",
      true,
      1,
    ]);
    const { client: back, connack } = await connect("away", { ...persistent, clean: false });
    assert.equal(connack.sessionPresent, true);
    const got = await receive(back, 2);
    assert.deepEqual(
      got.map((p) => [p.topic, p.properties?.messageExpiryInterval]),
      [["ex/long", 1], ["ex/never", undefined]],
    );
    await back.expectNothing(300);
  });
});

Deno.test("a subscriber that stops acknowledging QoS 1 does not throttle its publisher for the others; its drops are counted", async () => {
  await withBroker(
    { maxInflightMessages: 2, maxQueuedMessages: 10 },
    async ({ client, tb }) => {
      const stalled = await client("stalled"); // reads, never acknowledges
      await subscribe(stalled, sub("st/#", 1));
      const live = await client("live");
      await subscribe(live, sub("st/#", 1));
      const publisher = await client("pub");
      const n = 40;
      await sendBurst(publisher, "st/t", n);
      // As Mosquitto does: 2 in flight and 10 queued for the stalled client, the rest dropped;
      // the live subscriber and the publisher go on at full speed.
      const got = await receiveAckedWithin(live, n, 3000);
      assert.deepEqual(got.map(payloadText), Array.from({ length: n }, (_, i) => `m${i}`));
      assert.equal(tb.broker.metrics.publishDropped, n - 2 - 10);
      assert.equal((await receive(stalled, 2)).length, 2);
    },
  );
});

// ---------------------------------------------------------------- a subscriber that stops reading

/** CONNECT of the client "slow" and its SUBSCRIBE to `filter` at `qos`. */
function slowHello(filter: string, qos: QoS = 0): Uint8Array[] {
  return [
    encodePacket({
      type: "connect",
      protocolVersion: 4,
      clientId: "slow",
      clean: true,
      keepAlive: 0,
    }, 4),
    encodePacket({ type: "subscribe", packetId: 1, subscriptions: [sub(filter, qos)] }, 4),
  ];
}

/** Write all of `bytes` (a TLS write may take part of them). */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length;) done += await conn.write(bytes.subarray(done));
}

/** CONNACK and SUBACK, as the stalled subscriber reads them before it stops. */
const SLOW_ANSWER = [0x20, 0x02, 0x00, 0x00, 0x90, 0x03, 0x00, 0x01, 0x00];

/** Read exactly `n` bytes from `conn`. */
async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const buf = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const read = await conn.read(buf.subarray(got));
    if (read === null) throw new Error("broker closed the stalled subscriber");
    got += read;
  }
  return buf;
}

/** A subscriber that connects, subscribes to `filter` at QoS 0, and then never reads again. */
async function stalledSubscriber(port: number, filter: string): Promise<Deno.Conn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  for (const p of slowHello(filter)) await conn.write(p);
  // CONNACK (4 bytes) and SUBACK (5 bytes), and not one byte more.
  assert.deepEqual([...await readExactly(conn, SLOW_ANSWER.length)], SLOW_ANSWER);
  return conn;
}

/**
 * The same over wss (TLS trusting `caFile`, then a WebSocket upgrade): the MQTT bytes go in
 * masked binary frames (mask key 0) and come back in unmasked ones; after its SUBACK it reads
 * not one byte more.
 */
async function stalledWssSubscriber(port: number, caFile: string, filter: string) {
  const conn = await Deno.connectTls({
    hostname: "127.0.0.1",
    port,
    caCerts: [await Deno.readTextFile(caFile)],
  });
  await conn.write(new TextEncoder().encode(
    "GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
      "Sec-WebSocket-Protocol: mqtt\r\n\r\n",
  ));
  let head = "";
  while (!head.endsWith("\r\n\r\n")) head += String.fromCharCode((await readExactly(conn, 1))[0]);
  assert.match(head, /^HTTP\/1\.1 101 /);
  for (const p of slowHello(filter)) {
    await conn.write(Uint8Array.from([0x82, 0x80 | p.length, 0, 0, 0, 0, ...p]));
  }
  const answer: number[] = [];
  while (answer.length < SLOW_ANSWER.length) {
    const [opcode, length] = await readExactly(conn, 2);
    assert.equal(opcode, 0x82);
    answer.push(...await readExactly(conn, length));
  }
  assert.deepEqual(answer, SLOW_ANSWER);
  return conn;
}

/**
 * With a subscriber from `stalled()` on "fl/#" that never reads, a fast one on the same topic
 * gets 256 messages of 32 KiB (8 MiB) within 5 s; the stalled one's output stays within
 * `maxOutputBytes` and its drops are counted, the fast one has none.
 *
 * The publisher keeps at most half of `maxOutputBytes` ahead of the fast subscriber: QoS 0 is
 * dropped for any subscriber whose unsent output passes the limit, one that reads too (as
 * Mosquitto drops past max_queued_messages), and this test's reader shares its thread with the
 * broker, so a publisher running free could outpace it and the drops would be the fast one's.
 */
async function fastNotDelayedByStalled(
  tb: TestBroker,
  client: (id: string) => Promise<RawClient>,
  maxOutputBytes: number,
  stalled: () => Promise<Deno.Conn>,
): Promise<void> {
  const fast = await client("fast");
  await subscribe(fast, sub("fl/#", 0));
  const slow = await stalled();
  try {
    const publisher = await client("pub");
    const count = 256;
    const payload = new Uint8Array(32 * 1024); // 8 MiB in all
    const frame = encodePacket(pub("fl/t", payload), 4);
    const ahead = Math.floor(maxOutputBytes / 2 / frame.length);
    const deadline = Date.now() + 5000;
    const got: PublishPacket[] = [];
    const take = async () => got.push(await fast.expect("publish", deadline - Date.now()));
    for (let i = 0; i < count; i++) {
      if (i - got.length >= ahead) await take();
      await publisher.sendBytes(frame);
    }
    while (got.length < count) await take();
    const byClient = new Map(clientsJson(tb.broker).clients.map((c) => [c.clientId, c.dropped]));
    assert.deepEqual([byClient.get("fast"), byClient.get("slow")! > 0], [0, true]);
    const slowConn = [...tb.broker.connections].find((c) => c.clientId === "slow");
    assert.ok(
      slowConn !== undefined && slowConn.out.pendingBytes <= maxOutputBytes + frame.length,
    );
  } finally {
    slow.close();
  }
  await waitFor(
    () => tb.broker.sessions.connectedCount === 2,
    "the stalled subscriber to be gone",
  );
}

Deno.test("a subscriber that never reads does not delay a fast one on the same topic; its QoS 0 drops are counted", async () => {
  const maxOutputBytes = 1024 * 1024;
  await withBroker(
    { maxOutputBytes },
    ({ client, tb }) =>
      fastNotDelayedByStalled(tb, client, maxOutputBytes, () => stalledSubscriber(tb.port, "fl/#")),
  );
});

Deno.test("a wss subscriber that never reads does not delay a fast TCP one either", async () => {
  const maxOutputBytes = 1024 * 1024;
  const certs = await makeCertificates();
  const wss: ListenerOptions = {
    host: "127.0.0.1",
    port: 0,
    tls: { certfile: certs.server.cert, keyfile: certs.server.key, requireCertificate: false },
    websockets: { maxFrameSize: 65536 },
  };
  try {
    await withBroker(
      { maxOutputBytes, listeners: [{ host: "127.0.0.1", port: 0 }, wss] },
      async ({ client, tb }) => {
        await waitFor(() => tb.broker.ports.length === 2, "the wss listener to open");
        const wssPort = tb.broker.ports[1];
        await fastNotDelayedByStalled(
          tb,
          client,
          maxOutputBytes,
          () => stalledWssSubscriber(wssPort, certs.ca, "fl/#"),
        );
      },
    );
  } finally {
    await Deno.remove(certs.dir, { recursive: true });
  }
});

Deno.test("stopping the broker does not wait for a subscriber that never reads", async () => {
  await withBroker({ maxOutputBytes: 1024 * 1024 }, async ({ client, tb }) => {
    const slow = await stalledSubscriber(tb.port, "fl/#");
    try {
      const publisher = await client("pub");
      const frame = encodePacket(pub("fl/t", new Uint8Array(64 * 1024)), 4);
      for (let i = 0; i < 128; i++) await publisher.sendBytes(frame); // 8 MiB
      await sync(publisher);
      const slowConn = [...tb.broker.connections].find((c) => c.clientId === "slow")!;
      assert.ok(slowConn.out.pendingBytes > 0, "output stuck behind the stalled reader");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stopped = tb.stop().then(() => "stopped");
      const outcome = await Promise.race([
        stopped,
        new Promise<string>((resolve) => timer = setTimeout(() => resolve("hung"), 2000)),
      ]);
      clearTimeout(timer);
      if (outcome === "hung") {
        slow.close(); // lets stop() finish, so the failure below is the only one
        await stopped;
      }
      assert.equal(outcome, "stopped", "stop() still waiting after 2 s");
    } finally {
      try {
        slow.close();
      } catch {
        // closed above
      }
    }
  });
});

Deno.test("a TLS client that floods while it reads nothing is cut off at UNREAD_LIMIT_BYTES, with a log line", async () => {
  const certs = await makeCertificates();
  const tlsListener: ListenerOptions = {
    host: "127.0.0.1",
    port: 0,
    tls: { certfile: certs.server.cert, keyfile: certs.server.key, requireCertificate: false },
  };
  const listeners = [{ host: "127.0.0.1", port: 0 }, tlsListener];
  try {
    await withBroker({ maxOutputBytes: 1024 * 1024, listeners }, async ({ client, tb }) => {
      // 16 retained QoS 1 messages of 256 KiB: sent at once on subscribe (within the in-flight
      // window), more than socket buffers and the 1 MiB a client may leave unsent can hold.
      const retainer = await client("retainer");
      const payload = new Uint8Array(256 * 1024);
      for (let i = 1; i <= 16; i++) {
        await publishAcked(retainer, pub(`r/${i}`, payload, { qos: 1, packetId: i, retain: true }));
      }
      await waitFor(() => tb.broker.ports.length === 2, "the TLS listener to open");
      const conn = await Deno.connectTls({
        hostname: "127.0.0.1",
        port: tb.broker.ports[1],
        caCerts: [await Deno.readTextFile(certs.ca)],
      });
      try {
        // It subscribes to them and never reads: its output backs up, the broker stops reading
        // it, and what it goes on sending piles up unread.
        for (const p of slowHello("r/#", 1)) await writeAll(conn, p);
        const frame = encodePacket(pub("elsewhere", new Uint8Array(64 * 1024)), 4);
        const most = (UNREAD_LIMIT_BYTES * 2) / frame.length;
        let cutOff = false;
        for (let i = 0; i < most && !cutOff; i++) {
          cutOff = await writeAll(conn, frame).then(() => false, () => true);
        }
        await waitFor(
          () =>
            tb.logs.some((l) => /^Client slow from 127\.0\.0\.1:\d+ cut off: sent more/.test(l)),
          "the cut-off log line",
          5000,
        );
      } finally {
        conn.close();
      }
    });
  } finally {
    await Deno.remove(certs.dir, { recursive: true });
  }
});
