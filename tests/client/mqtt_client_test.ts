/**
 * The tools' MQTT client against the Midge broker: QoS 0/1/2 both ways, subscribe and
 * unsubscribe, refusals, the broker's DISCONNECT, keep alive.
 */

import assert from "node:assert/strict";
import { ConnackRefused, MqttClient } from "../../src/client/mqtt_client.ts";
import { dial } from "../../src/transport/dial.ts";
import type { ProtocolVersion, PublishPacket, QoS } from "../../src/codec/mod.ts";
import { startBroker, waitFor } from "../integration/harness.ts";

function open(port: number, clientId: string, version: ProtocolVersion = 4, keepAlive = 60) {
  return dial({ kind: "tcp", host: "127.0.0.1", port }).then((socket) =>
    MqttClient.connect(socket, { protocolVersion: version, clientId, clean: true, keepAlive })
  );
}

const SUB = { noLocal: false, retainAsPublished: false, retainHandling: 0 as const };

for (const version of [3, 4, 5] as const) {
  Deno.test(`client: QoS 0, 1 and 2 both ways through the broker (protocol level ${version})`, async () => {
    const tb = startBroker();
    try {
      const sub = await open(tb.port, "s", version);
      const got: PublishPacket[] = [];
      sub.onMessage = (m) => got.push(m);
      const suback = await sub.subscribe([{ topicFilter: "t/#", qos: 2, ...SUB }]);
      assert.deepEqual(suback.reasonCodes, [2]);
      const pub = await open(tb.port, "p", version);
      for (const qos of [0, 1, 2] as QoS[]) {
        await pub.publish(`t/${qos}`, new TextEncoder().encode(`q${qos}`), { qos });
      }
      await waitFor(() => got.length === 3, "three messages");
      assert.deepEqual(got.map((m) => [m.topic, m.qos, new TextDecoder().decode(m.payload)]), [
        ["t/0", 0, "q0"],
        ["t/1", 1, "q1"],
        ["t/2", 2, "q2"],
      ]);
      assert.equal(pub.pendingCount, 0);
      const unsuback = await sub.unsubscribe(["t/#"]);
      assert.equal(unsuback.type, "unsuback");
      await pub.disconnect();
      await sub.disconnect();
      assert.equal(await pub.closed, undefined);
    } finally {
      await tb.stop();
    }
  });
}

Deno.test("client: a refused CONNACK throws ConnackRefused with the code", async () => {
  const tb = startBroker({ allowAnonymous: false });
  try {
    await assert.rejects(open(tb.port, "x", 5), (e) => {
      assert.ok(e instanceof ConnackRefused);
      assert.equal(e.connack.reasonCode, 0x87);
      return true;
    });
  } finally {
    await tb.stop();
  }
});

Deno.test("client: the broker's DISCONNECT ends the client with its reason (takeover)", async () => {
  const tb = startBroker();
  try {
    const first = await open(tb.port, "same", 5);
    let reason = -1;
    first.onDisconnect = (p) => reason = p.reasonCode;
    const second = await open(tb.port, "same", 5);
    const error = await first.closed;
    assert.equal(reason, 0x8e);
    assert.match(String(error), /DISCONNECT \(reason 142\)/);
    await second.disconnect();
  } finally {
    await tb.stop();
  }
});

Deno.test("client: keep alive sends PINGREQ when idle and the connection stays up", async () => {
  const tb = startBroker();
  try {
    const client = await open(tb.port, "ka", 4, 1);
    await new Promise((r) => setTimeout(r, 2600));
    assert.equal(client.isClosed, false);
    assert.ok(tb.logs.some((l) => l === "Received PINGREQ from ka"));
    await client.disconnect();
  } finally {
    await tb.stop();
  }
});
