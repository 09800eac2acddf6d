/**
 * The tools' MQTT client against the Midge broker: QoS 0/1/2 both ways, subscribe and
 * unsubscribe, refusals, the broker's DISCONNECT, keep alive; and against a scripted broker on
 * a memory pair, the order in which packets read together are handled.
 */

import assert from "node:assert/strict";
import { ConnackRefused, MqttClient } from "../../src/client/mqtt_client.ts";
import { dial } from "../../src/transport/dial.ts";
import {
  encodePacket,
  type ProtocolVersion,
  type PublishPacket,
  type QoS,
} from "../../src/codec/mod.ts";
import { memoryPair } from "../../src/transport/memory_pair.ts";
import type { Conn } from "../../src/transport/conn.ts";
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

/** A client on one end of a memory pair, connected by a broker script on the other end. */
async function scriptedClient(): Promise<{ client: MqttClient; broker: Conn }> {
  const [clientEnd, broker] = memoryPair();
  const connecting = MqttClient.connect(clientEnd, {
    protocolVersion: 4,
    clientId: "c",
    clean: true,
    keepAlive: 0,
  });
  await broker.read(new Uint8Array(1024)); // CONNECT
  await broker.write(encodePacket({ type: "connack", sessionPresent: false, reasonCode: 0 }, 4));
  return { client: await connecting, broker };
}

/** SUBACK for packet id 1 and a retained QoS 1 PUBLISH, in one write. */
async function subackAndRetained(broker: Conn): Promise<void> {
  await broker.read(new Uint8Array(1024)); // SUBSCRIBE
  const suback = encodePacket({ type: "suback", packetId: 1, reasonCodes: [1] }, 4);
  const retained = encodePacket({
    type: "publish",
    topic: "r/1",
    payload: new Uint8Array([1]),
    qos: 1,
    retain: true,
    dup: false,
    packetId: 7,
  }, 4);
  await broker.write(new Uint8Array([...suback, ...retained]));
}

/** Everything `broker` reads until the client closes. */
async function readToEnd(broker: Conn): Promise<Uint8Array> {
  const chunks: number[] = [];
  const buf = new Uint8Array(1024);
  for (let reads = 0; reads < 100; reads++) {
    const n = await broker.read(buf);
    if (n === null) break;
    chunks.push(...buf.subarray(0, n));
  }
  return new Uint8Array(chunks);
}

Deno.test("client: onSuback runs before a packet read with the SUBACK", async () => {
  const { client, broker } = await scriptedClient();
  const events: string[] = [];
  client.onMessage = (m) => events.push(`message ${m.topic}`);
  client.onSuback = (s) => events.push(`suback ${s.packetId}`);
  const subscribed = client.subscribe([{ topicFilter: "r/#", qos: 1, ...SUB }]);
  await subackAndRetained(broker);
  await subscribed;
  await waitFor(() => events.length === 2, "the retained message");
  assert.deepEqual(events, ["suback 1", "message r/1"]);
  await client.disconnect();
  broker.close();
});

Deno.test("client: no packet is handled or answered after disconnect(), even one already read", async () => {
  const { client, broker } = await scriptedClient();
  const events: string[] = [];
  client.onMessage = (m) => events.push(`message ${m.topic}`);
  client.onSuback = (s) => {
    events.push(`suback ${s.packetId}`);
    client.disconnect();
  };
  const subscribed = client.subscribe([{ topicFilter: "r/#", qos: 1, ...SUB }]);
  await subackAndRetained(broker);
  assert.equal((await subscribed).packetId, 1);
  assert.equal(await client.closed, undefined);
  assert.deepEqual(events, ["suback 1"]);
  // DISCONNECT and nothing else: no PUBACK for the retained message.
  assert.deepEqual(await readToEnd(broker), encodePacket({ type: "disconnect", reasonCode: 0 }, 4));
  broker.close();
});
