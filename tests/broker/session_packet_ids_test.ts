/**
 * Packet ids of a session's outgoing messages, without sockets: given in queue order, kept by
 * a restored delivery, never one in flight or queued; past 65535 queued, given when sent.
 */

import assert from "node:assert/strict";
import { newMessage } from "../../src/broker/message.ts";
import { type Delivery, newDelivery, Session } from "../../src/broker/session.ts";
import type { QoS } from "../../src/codec/mod.ts";

function delivery(qos: QoS = 1): Delivery {
  return newDelivery(newMessage("t", new Uint8Array(), qos, false, "p"), qos, false, undefined);
}

Deno.test("queued QoS 1/2 deliveries get ids in order; QoS 0 ones none", () => {
  const session = new Session("c", 5, 0);
  const queued = [delivery(1), delivery(0), delivery(2)];
  for (const d of queued) session.enqueue(d);
  assert.deepEqual(queued.map((d) => d.packetId), [1, 0, 2]);
  assert.equal(session.allocatePacketId(), 3);
});

Deno.test("a restored queued delivery keeps its id and the next ids follow it", () => {
  const session = new Session("c", 5, 0);
  const restored = delivery();
  restored.packetId = 40;
  session.enqueue(restored);
  assert.equal(restored.packetId, 40);
  const next = delivery();
  session.enqueue(next);
  assert.equal(next.packetId, 41);
});

Deno.test("with every id in flight or queued, none is given until one is freed; ids wrap past 65535", () => {
  const session = new Session("c", 5, 0);
  for (let i = 0; i < 65535; i++) session.enqueue(delivery());
  // The queue goes on past the ids: a delivery queued now gets its id when it is sent.
  const beyond = delivery();
  session.enqueue(beyond);
  assert.equal(beyond.packetId, 0);
  assert.equal(session.queuedCount, 65536);
  assert.equal(session.allocatePacketId(), undefined);
  // The oldest goes in flight: its id is still taken.
  const first = session.dequeue()!;
  first.state = "publish";
  session.setInflight(first);
  assert.equal(session.allocatePacketId(), undefined);
  // Acknowledged: id 1 is free again, and the next after it is still queued.
  session.deleteInflight(first.packetId);
  const again = delivery();
  session.enqueue(again);
  assert.equal(again.packetId, 1);
  assert.equal(session.allocatePacketId(), undefined);
});
