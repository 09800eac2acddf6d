/**
 * Helpers shared by the PUBLISH / SUBSCRIBE integration tests: a broker scope that closes every
 * client it opened, and short builders for the packets those tests send.
 *
 * @module
 */

import assert from "node:assert/strict";
import type {
  AckPacket,
  AckType,
  ConnackPacket,
  Packet,
  Properties,
  PublishPacket,
  QoS,
  SubackPacket,
  Subscription,
} from "../../src/codec/mod.ts";
import type { BrokerOptions } from "../../src/broker/options.ts";
import { type ConnectFields, hex, RawClient, startBroker, type TestBroker } from "./harness.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 bytes of `s`. */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Hex of the last frame a client received. */
export function lastFrame(client: RawClient): string {
  const frames = client.frames;
  return hex(frames[frames.length - 1]);
}

/** A PUBLISH payload as text. */
export function payloadText(p: PublishPacket): string {
  return decoder.decode(p.payload);
}

/** One subscription; options default to 0 / false. */
export function sub(
  topicFilter: string,
  qos: QoS = 0,
  options: Partial<Omit<Subscription, "topicFilter" | "qos">> = {},
): Subscription {
  return {
    topicFilter,
    qos,
    noLocal: false,
    retainAsPublished: false,
    retainHandling: 0,
    ...options,
  };
}

/** A PUBLISH of `payload` to `topic`; QoS 0, not retained, unless `fields` say otherwise. */
export function pub(
  topic: string,
  payload: string | Uint8Array,
  fields: Partial<Omit<PublishPacket, "type" | "topic" | "payload">> = {},
): PublishPacket {
  return {
    type: "publish",
    topic,
    payload: typeof payload === "string" ? utf8(payload) : payload,
    qos: 0,
    retain: false,
    dup: false,
    ...fields,
  };
}

let nextPacketId = 1;

/**
 * The next packet, which must be the acknowledgement `type`. (`RawClient.expect` cannot type
 * these: `AckPacket` carries all four types in one interface, so `Extract` yields `never`.)
 */
export async function expectAck(
  client: RawClient,
  type: AckType,
  timeoutMs = 2000,
): Promise<AckPacket> {
  const p = await client.next(timeoutMs);
  if (p.type !== type) throw new Error(`expected ${type}, got ${JSON.stringify(p)}`);
  return p as AckPacket;
}

/** Send SUBSCRIBE and return the SUBACK, checking its packet id [MQTT-3.8.4-2]. */
export async function subscribe(
  client: RawClient,
  subscriptions: Subscription | Subscription[],
  properties?: Properties,
): Promise<SubackPacket> {
  const packetId = nextPacketId++ % 65535 + 1;
  await client.send({
    type: "subscribe",
    packetId,
    subscriptions: Array.isArray(subscriptions) ? subscriptions : [subscriptions],
    properties,
  });
  const suback = await client.expect("suback");
  assert.equal(suback.packetId, packetId);
  return suback;
}

/**
 * PINGREQ and wait for PINGRESP: the broker handles a connection's packets in order, so
 * everything sent before has been handled (and routed) when this returns.
 */
export async function sync(client: RawClient): Promise<void> {
  await client.send({ type: "pingreq" });
  await client.expect("pingresp");
}

/**
 * Publish and complete the acknowledgement flow the QoS asks for (PUBACK, or PUBREC then
 * PUBREL then PUBCOMP); returns the PUBACK or PUBREC. QoS 0 is followed by a `sync`.
 */
export async function publishAcked(client: RawClient, packet: PublishPacket): Promise<Packet> {
  await client.send(packet);
  if (packet.qos === 0) {
    await sync(client);
    return { type: "pingresp" };
  }
  if (packet.qos === 1) {
    const ack = await expectAck(client, "puback");
    assert.equal(ack.packetId, packet.packetId);
    return ack;
  }
  const rec = await expectAck(client, "pubrec");
  assert.equal(rec.packetId, packet.packetId);
  await client.send({ type: "pubrel", packetId: packet.packetId!, reasonCode: 0 });
  const comp = await expectAck(client, "pubcomp");
  assert.equal(comp.packetId, packet.packetId);
  return rec;
}

/** Take the next `n` packets, all of which must be PUBLISH. */
export async function receive(client: RawClient, n: number, timeoutMs = 2000): Promise<
  PublishPacket[]
> {
  const out: PublishPacket[] = [];
  for (let i = 0; i < n; i++) out.push(await client.expect("publish", timeoutMs));
  return out;
}

/** Acknowledge a PUBLISH the broker sent as its QoS asks (PUBACK, or PUBREC/PUBREL/PUBCOMP). */
export async function ackDelivery(client: RawClient, p: PublishPacket): Promise<void> {
  if (p.qos === 1) {
    await client.send({ type: "puback", packetId: p.packetId!, reasonCode: 0 });
  } else if (p.qos === 2) {
    await client.send({ type: "pubrec", packetId: p.packetId!, reasonCode: 0 });
    const rel = await expectAck(client, "pubrel");
    assert.equal(rel.packetId, p.packetId);
    await client.send({ type: "pubcomp", packetId: p.packetId!, reasonCode: 0 });
  }
}

/** A broker for one test and the clients the test opened through it. */
export interface Bench {
  /** The broker with its port and captured log. */
  tb: TestBroker;
  /**
   * Connect a client (clean start, keep alive 60, protocol 3.1.1 unless `fields` say otherwise)
   * and check that it was accepted. Closed when the test ends.
   */
  client(clientId: string, fields?: ConnectFields): Promise<RawClient>;
  /** Like `client`, also returning the CONNACK. */
  connect(
    clientId: string,
    fields?: ConnectFields,
  ): Promise<{ client: RawClient; connack: ConnackPacket }>;
}

/**
 * Run `body` against a fresh broker with `overrides`; afterwards close every client it opened,
 * then stop the broker, whether `body` passed or not.
 */
export async function withBroker(
  overrides: Partial<BrokerOptions>,
  body: (bench: Bench) => Promise<void>,
): Promise<void> {
  const tb = startBroker(overrides);
  const opened: RawClient[] = [];
  const connect = async (clientId: string, fields: ConnectFields = {}) => {
    const version = fields.protocolVersion ?? 4;
    const client = await RawClient.open(tb.port, version);
    opened.push(client);
    await client.send({
      type: "connect",
      protocolVersion: version,
      clientId,
      clean: true,
      keepAlive: 60,
      ...fields,
    });
    const connack = await client.expect("connack");
    assert.equal(connack.reasonCode, 0, `CONNACK of ${clientId}`);
    return { client, connack };
  };
  try {
    await body({
      tb,
      connect,
      client: async (clientId, fields) => (await connect(clientId, fields)).client,
    });
  } finally {
    for (const c of opened) await c.close();
    await tb.stop();
  }
}

/** Both protocol versions, for tests that run once per version. */
export const VERSIONS = [4, 5] as const;

/** "3.1.1" or "5.0", for test names. */
export function versionName(v: 4 | 5): string {
  return v === 5 ? "5.0" : "3.1.1";
}
