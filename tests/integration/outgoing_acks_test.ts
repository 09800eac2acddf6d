/**
 * Acknowledgements of the messages the broker sends, as Mosquitto 2.0 takes them: one of the
 * wrong type or for the wrong state closes the connection; one for an id not in flight is
 * ignored, except PUBREC, which still gets PUBREL 0x00. Also the 5.0 PUBACK 0x10, which a
 * subscription skipped only by no local does not earn.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { AckPacket, AckType, PublishPacket, QoS } from "../../src/codec/mod.ts";
import type { RawClient } from "./harness.ts";
import {
  type Bench,
  expectAck,
  lastFrame,
  pub,
  publishAcked,
  sub,
  subscribe,
  sync,
  versionName,
  VERSIONS,
  withBroker,
} from "./pubsub_helpers.ts";

/** A subscriber to `t` at `qos` that has just been sent one message there; returns both. */
async function delivered(
  bench: Bench,
  version: 4 | 5,
  qos: QoS,
): Promise<{ subscriber: RawClient; publish: PublishPacket }> {
  const subscriber = await bench.client("s", { protocolVersion: version });
  await subscribe(subscriber, sub("t", qos));
  const publisher = await bench.client("p", { protocolVersion: version });
  await publishAcked(publisher, pub("t", "x", { qos, packetId: 7 }));
  return { subscriber, publish: await subscriber.expect("publish") };
}

/** Send an acknowledgement of `type` for `packetId`. */
function ack(client: RawClient, type: AckType, packetId: number, reasonCode = 0): Promise<void> {
  return client.send({ type, packetId, reasonCode } as AckPacket);
}

/** The broker closes `client`, sending nothing before but (5.0) a DISCONNECT. */
async function expectClosedOver(client: RawClient): Promise<void> {
  await client.expectClosed(3000);
  const sent = client.takeAll().map((p) => p.type).filter((t) => t !== "disconnect");
  assert.deepEqual(sent, []);
}

for (const v of VERSIONS) {
  const name = versionName(v);

  Deno.test(`PUBREC for a QoS 1 delivery closes the connection, no PUBREL (${name})`, async () => {
    await withBroker({}, async (bench) => {
      const { subscriber, publish } = await delivered(bench, v, 1);
      await ack(subscriber, "pubrec", publish.packetId!);
      await expectClosedOver(subscriber);
    });
  });

  Deno.test(`PUBACK for a QoS 2 delivery closes the connection, before or after PUBREC (${name})`, async () => {
    for (const afterPubrec of [false, true]) {
      await withBroker({}, async (bench) => {
        const { subscriber, publish } = await delivered(bench, v, 2);
        if (afterPubrec) {
          await ack(subscriber, "pubrec", publish.packetId!);
          await expectAck(subscriber, "pubrel");
        }
        await ack(subscriber, "puback", publish.packetId!);
        await expectClosedOver(subscriber);
      });
    }
  });

  Deno.test(`PUBCOMP before PUBREC closes the connection (${name})`, async () => {
    await withBroker({}, async (bench) => {
      const { subscriber, publish } = await delivered(bench, v, 2);
      await ack(subscriber, "pubcomp", publish.packetId!);
      await expectClosedOver(subscriber);
    });
  });

  Deno.test(`PUBACK and PUBCOMP for an id not in flight are ignored (${name})`, async () => {
    await withBroker({}, async (bench) => {
      const { subscriber, publish } = await delivered(bench, v, 1);
      await ack(subscriber, "puback", 99);
      await ack(subscriber, "pubcomp", 99);
      await sync(subscriber);
      await ack(subscriber, "puback", publish.packetId!);
      await ack(subscriber, "puback", publish.packetId!); // now unknown too
      await sync(subscriber);
    });
  });

  Deno.test(`PUBREC for an id not in flight gets PUBREL 0x00 in its short form (${name})`, async () => {
    await withBroker({}, async (bench) => {
      const subscriber = await bench.client("s", { protocolVersion: v });
      await ack(subscriber, "pubrec", 99);
      await expectAck(subscriber, "pubrel");
      assert.equal(lastFrame(subscriber), "62 02 00 63");
      await sync(subscriber);
    });
  });

  Deno.test(`a repeated PUBREC gets PUBREL again; PUBCOMP ends the delivery (${name})`, async () => {
    await withBroker({}, async (bench) => {
      const { subscriber, publish } = await delivered(bench, v, 2);
      for (let i = 0; i < 2; i++) {
        await ack(subscriber, "pubrec", publish.packetId!);
        assert.equal((await expectAck(subscriber, "pubrel")).packetId, publish.packetId);
      }
      await ack(subscriber, "pubcomp", publish.packetId!);
      await ack(subscriber, "pubcomp", publish.packetId!); // unknown now: ignored
      await sync(subscriber);
    });
  });
}

Deno.test("5.0: a failing PUBREC for an id not in flight gets nothing; after PUBREL it closes the connection", async () => {
  await withBroker({}, async (bench) => {
    const { subscriber, publish } = await delivered(bench, 5, 2);
    await ack(subscriber, "pubrec", 99, 0x80);
    await sync(subscriber);
    await ack(subscriber, "pubrec", publish.packetId!);
    await expectAck(subscriber, "pubrel");
    await ack(subscriber, "pubrec", publish.packetId!, 0x80);
    await expectClosedOver(subscriber);
  });
});

Deno.test("5.0: a publisher whose only matching subscription is its own no-local one gets PUBACK 0x00, not 0x10", async () => {
  await withBroker({}, async (bench) => {
    const client = await bench.client("nl", { protocolVersion: 5 });
    await subscribe(client, sub("nl/t", 1, { noLocal: true }));
    await client.send(pub("nl/t", "x", { qos: 1, packetId: 5 }));
    await expectAck(client, "puback");
    assert.equal(lastFrame(client), "40 02 00 05");
    await client.send(pub("nl/other", "x", { qos: 1, packetId: 6 }));
    await expectAck(client, "puback");
    assert.equal(lastFrame(client), "40 03 00 06 10");
  });
});
