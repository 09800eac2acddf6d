import assert from "node:assert/strict";
import { FlowWindow } from "../../src/bridge/flow_window.ts";
import type { PublishPacket, QoS } from "../../src/codec/mod.ts";

function publish(packetId: number, qos: QoS): PublishPacket {
  const payload = new Uint8Array();
  return { type: "publish", topic: "t", payload, qos, retain: false, dup: false, packetId };
}

Deno.test("flow window: past the limit messages wait, in order, for acknowledgements", () => {
  const sent: number[] = [];
  const window = new FlowWindow(2, (p) => sent.push(p.packetId!));
  for (let id = 1; id <= 4; id++) window.publish(publish(id, 1));
  assert.deepEqual(sent, [1, 2]);
  assert.equal(window.heldCount, 2);
  window.answered({ type: "puback", packetId: 2, reasonCode: 0 });
  assert.deepEqual(sent, [1, 2, 3]);
  window.answered({ type: "puback", packetId: 99, reasonCode: 0 }); // not in flight: no room
  assert.deepEqual(sent, [1, 2, 3]);
  window.answered({ type: "puback", packetId: 1, reasonCode: 0 });
  assert.deepEqual(sent, [1, 2, 3, 4]);
  assert.equal(window.heldCount, 0);
});

Deno.test("flow window: the QoS 2 quota holds QoS 1 messages behind it too, until PUBCOMP", () => {
  const sent: number[] = [];
  const window = new FlowWindow(100, (p) => sent.push(p.packetId!), 2);
  window.publish(publish(1, 2));
  window.publish(publish(2, 2));
  window.publish(publish(3, 1)); // Mosquitto refuses even QoS 1 with its quota used up
  window.publish(publish(4, 0)); // QoS 0 is not counted
  assert.deepEqual(sent, [1, 2, 4]);
  window.answered({ type: "pubrec", packetId: 1, reasonCode: 0 }); // still unreleased
  assert.deepEqual(sent, [1, 2, 4]);
  window.answered({ type: "pubcomp", packetId: 1, reasonCode: 0 });
  assert.deepEqual(sent, [1, 2, 4, 3]);
});

Deno.test("flow window: a message sent again under an identifier in flight goes at once", () => {
  const sent: number[] = [];
  const window = new FlowWindow(1, (p) => sent.push(p.packetId!));
  window.publish(publish(7, 1));
  window.publish(publish(7, 1));
  assert.deepEqual(sent, [7, 7]);
});
