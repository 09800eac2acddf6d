/**
 * PUBLISH (MQTT 5.0 §3.3): the hot path. Decoding returns the payload as a view into the frame;
 * encoding sizes the packet once and writes it into one exactly sized buffer.
 *
 * @module
 */

import { malformed, protocolError } from "./errors.ts";
import { finishPacket, startPacket } from "./fixed_header.ts";
import { propertiesSize, readProperties, writeProperties } from "./properties.ts";
import type { ByteReader } from "./reader.ts";
import type { ProtocolVersion, PublishPacket, QoS } from "./types.ts";
import { utf8Length } from "./utf8.ts";
import { varintSize } from "./writer.ts";

/** Decode a PUBLISH body; `flags` are the fixed header's DUP, QoS and RETAIN bits. */
export function decodePublish(
  r: ByteReader,
  flags: number,
  version: ProtocolVersion,
): PublishPacket {
  const qos = (flags >> 1) & 0x03;
  if (qos === 3) throw malformed("PUBLISH QoS is 3 [MQTT-3.3.1-4]");
  const dup = (flags & 0x08) !== 0;
  // DUP on QoS 0 breaks a rule for the sender [MQTT-3.3.1-2]; kept, as Mosquitto accepts it.
  const topic = r.utf8("topic name");
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === 0x23 || c === 0x2b) {
      // A protocol error (0x82), as Mosquitto answers.
      throw protocolError(`topic name '${topic}' contains a wildcard [MQTT-3.3.2-2]`);
    }
  }
  let packetId: number | undefined;
  if (qos > 0) {
    packetId = r.packetId("PUBLISH");
  }
  const properties = version === 5 ? readProperties(r, "publish") : undefined;
  if (topic.length === 0 && properties?.topicAlias === undefined) {
    throw protocolError("PUBLISH topic name is empty and has no topic alias [MQTT-4.7.3-1]");
  }
  const packet: PublishPacket = {
    type: "publish",
    topic,
    payload: r.rest(),
    qos: qos as QoS,
    retain: (flags & 0x01) !== 0,
    dup,
    packetId,
    properties,
  };
  return packet;
}

/** Encode a PUBLISH. QoS 1 and 2 need a `packetId` from 1 to 65535. */
export function encodePublish(packet: PublishPacket, version: ProtocolVersion): Uint8Array {
  const qos = packet.qos;
  const topicBytes = utf8Length(packet.topic);
  let remaining = 2 + topicBytes + packet.payload.length;
  if (qos > 0) {
    const id = packet.packetId;
    if (id === undefined || !(id >= 1 && id <= 0xffff)) {
      throw new RangeError(`PUBLISH at QoS ${qos} needs a packet id 1-65535, not ${id}`);
    }
    remaining += 2;
  }
  let propsBytes = 0;
  if (version === 5) {
    propsBytes = propertiesSize(packet.properties, "publish");
    remaining += varintSize(propsBytes) + propsBytes;
  }
  const first = 0x30 | (packet.dup ? 0x08 : 0) | (qos << 1) | (packet.retain ? 0x01 : 0);
  const w = startPacket(first, remaining);
  w.utf8(packet.topic, topicBytes);
  if (qos > 0) w.u16(packet.packetId!);
  if (version === 5) writeProperties(w, packet.properties, propsBytes);
  w.bytes(packet.payload);
  return finishPacket(w);
}
