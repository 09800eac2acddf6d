/**
 * Codec speed against `mqtt-packet` (the codec of MQTT.js and Aedes), on the same bytes.
 * Run: `deno bench -A tests/codec/codec_bench.ts`. Each group has ours as the baseline.
 *
 * Decoding: mqtt-packet's parser frames and decodes (`parser.parse(buffer)` emits a `packet`),
 * so ours is measured the same way, through a `FrameReader` and `decodePacket`; a
 * `decodePacket`-only row shows what framing costs. Encoding: `encodePacket` against
 * `mqttPacket.generate`; the module checks at load time that both write the same bytes and that
 * both decoders read back the same packet, so the work compared is the same.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import mqttPacket from "../fixtures/npm/mqtt_packet.ts";
import {
  decodePacket,
  encodePacket,
  FrameReader,
  type Packet,
  type ProtocolVersion,
} from "../../src/codec/mod.ts";

/** Everything a bench produces is added here, so no work can be optimised away. */
let sink = 0;

interface Case {
  /** Group name prefix. */
  name: string;
  version: ProtocolVersion;
  ours: Packet;
  theirs: mqttPacket.Packet;
}

const TOPIC = "sensors/room-1/temperature";
// 64 bytes in all: fixed header 2, topic 2 + 26, payload 34.
const PAYLOAD_64 = new Uint8Array(64 - 2 - 2 - TOPIC.length).fill(0x61);
const PAYLOAD = new TextEncoder().encode('{"temperature":21.5,"unit":"C","ts":1732240000}');
const CORRELATION = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);

const CASES: Case[] = [
  {
    name: "PUBLISH QoS 0, 64 bytes, v4",
    version: 4,
    ours: { type: "publish", topic: TOPIC, payload: PAYLOAD_64, qos: 0, retain: false, dup: false },
    theirs: {
      cmd: "publish",
      topic: TOPIC,
      payload: Buffer.from(PAYLOAD_64),
      qos: 0,
      retain: false,
      dup: false,
    },
  },
  {
    name: "PUBLISH QoS 1 + 5 properties, v5",
    version: 5,
    ours: {
      type: "publish",
      topic: TOPIC,
      payload: PAYLOAD,
      qos: 1,
      retain: false,
      dup: false,
      packetId: 42,
      properties: {
        contentType: "application/json",
        messageExpiryInterval: 3600,
        userProperties: [["origin", "gateway-7"]],
        correlationData: CORRELATION,
        responseTopic: "replies/client-1",
      },
    },
    theirs: {
      cmd: "publish",
      topic: TOPIC,
      payload: Buffer.from(PAYLOAD),
      qos: 1,
      retain: false,
      dup: false,
      messageId: 42,
      properties: {
        contentType: "application/json",
        messageExpiryInterval: 3600,
        userProperties: { origin: "gateway-7" },
        correlationData: Buffer.from(CORRELATION),
        responseTopic: "replies/client-1",
      },
    },
  },
  subscribeCase(4),
  subscribeCase(5),
];

function subscribeCase(version: 4 | 5): Case {
  const filters = [
    { topicFilter: "sensors/+/temperature", qos: 1 as const },
    { topicFilter: "alerts/#", qos: 2 as const },
    { topicFilter: "$SYS/broker/load/#", qos: 0 as const },
  ];
  return {
    name: `SUBSCRIBE 3 filters, v${version}`,
    version,
    ours: {
      type: "subscribe",
      packetId: 7,
      subscriptions: filters.map((f) => ({
        ...f,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0,
      })),
    },
    theirs: {
      cmd: "subscribe",
      messageId: 7,
      subscriptions: filters.map((f) => {
        const s = { topic: f.topicFilter, qos: f.qos };
        return version === 5 ? { ...s, nl: false, rap: false, rh: 0 } : s;
      }),
    } as mqttPacket.Packet,
  };
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

for (const c of CASES) {
  const opts = { protocolVersion: c.version };
  const bytes = encodePacket(c.ours, c.version);
  const buffer = Buffer.from(bytes);
  // Same work: both encoders write the same bytes, and both decoders read them back.
  assert.equal(hex(mqttPacket.generate(c.theirs, opts)), hex(bytes), `${c.name}: encodings differ`);
  if (c.name.includes("64 bytes")) assert.equal(bytes.length, 64);
  let parsed: mqttPacket.Packet | undefined;
  const check = mqttPacket.parser(opts);
  check.on("packet", (p: mqttPacket.Packet) => parsed = p);
  check.parse(buffer);
  assert.equal(parsed?.cmd, c.theirs.cmd, `${c.name}: mqtt-packet does not parse it`);
  assert.equal(hex(encodePacket(decodePacket(bytes, c.version), c.version)), hex(bytes));

  const decodeGroup = `decode ${c.name}`;
  const reader = new FrameReader();
  Deno.bench({
    name: "ours: FrameReader + decodePacket",
    group: decodeGroup,
    baseline: true,
    fn() {
      reader.push(bytes);
      for (let frame = reader.next(); frame !== null; frame = reader.next()) {
        sink += consume(decodePacket(frame, c.version));
      }
    },
  });
  Deno.bench({
    name: "ours: decodePacket only",
    group: decodeGroup,
    fn() {
      sink += consume(decodePacket(bytes, c.version));
    },
  });
  const parser = mqttPacket.parser(opts);
  parser.on("packet", (p: mqttPacket.Packet) => sink += consumeTheirs(p));
  parser.on("error", (e: Error) => {
    throw e;
  });
  Deno.bench({
    name: "mqtt-packet: parser.parse",
    group: decodeGroup,
    fn() {
      sink += parser.parse(buffer);
    },
  });

  const encodeGroup = `encode ${c.name}`;
  Deno.bench({
    name: "ours: encodePacket",
    group: encodeGroup,
    baseline: true,
    fn() {
      sink += encodePacket(c.ours, c.version).length;
    },
  });
  Deno.bench({
    name: "mqtt-packet: generate",
    group: encodeGroup,
    fn() {
      sink += mqttPacket.generate(c.theirs, opts).length;
    },
  });
}

/** Touch the decoded fields, as a broker would, so the decode cannot be skipped. */
function consume(p: Packet): number {
  if (p.type === "publish") return p.topic.length + p.payload.length + (p.packetId ?? 0);
  if (p.type === "subscribe") return p.subscriptions.length + p.packetId;
  return 1;
}

function consumeTheirs(p: mqttPacket.Packet): number {
  if (p.cmd === "publish") return p.topic.length + p.payload.length + (p.messageId ?? 0);
  if (p.cmd === "subscribe") return p.subscriptions.length + (p.messageId ?? 0);
  return 1;
}

// Keep `sink` observable.
globalThis.addEventListener("unload", () => {
  if (sink === -1) console.log(sink);
});
