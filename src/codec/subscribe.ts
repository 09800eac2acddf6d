/**
 * SUBSCRIBE (MQTT 5.0 §3.8): topic filters with their subscription options.
 *
 * @module
 */

import { malformed, protocolError } from "./errors.ts";
import { expectFlags, finishPacket, startPacket } from "./fixed_header.ts";
import { propertiesSize, readProperties, writeProperties } from "./properties.ts";
import type { ByteReader } from "./reader.ts";
import { isSharedFilter, topicDepthProblem, topicFilterProblem } from "./topic.ts";
import type { ProtocolVersion, QoS, SubscribePacket, Subscription } from "./types.ts";
import { utf8Length } from "./utf8.ts";
import { varintSize } from "./writer.ts";

/**
 * Read a topic filter of a `version` client and check it: a bad filter [MQTT-4.7.1-1], or one
 * too deep, is malformed (0x81), as Mosquitto answers both.
 */
export function readTopicFilter(r: ByteReader, version: ProtocolVersion): string {
  const filter = r.utf8("topic filter");
  const problem = topicFilterProblem(filter, version) ??
    topicDepthProblem(filter, "topic filter");
  if (problem !== undefined) throw malformed(problem);
  return filter;
}

/**
 * Read the packet identifier of a SUBSCRIBE or UNSUBSCRIBE: 0 is refused [MQTT-2.2.1-3] as
 * malformed (0x81), Mosquitto's code for every fault of these two packets.
 */
export function readFilterPacketId(r: ByteReader, packetName: string): number {
  const id = r.u16("packet identifier");
  if (id === 0) throw malformed(`${packetName} packet identifier is 0 [MQTT-2.2.1-3]`);
  return id;
}

function readOptions(r: ByteReader, topicFilter: string, version: ProtocolVersion): Subscription {
  const options = r.u8("subscription options");
  const qos = options & 0x03;
  if (qos === 3) throw malformed(`subscription '${topicFilter}' asks for QoS 3`);
  if (version !== 5) {
    if (options & 0xfc) {
      throw malformed(`subscription '${topicFilter}' has reserved option bits set [MQTT-3.8.3-4]`);
    }
    return {
      topicFilter,
      qos: qos as QoS,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0,
    };
  }
  if (options & 0xc0) {
    throw malformed(`subscription '${topicFilter}' has reserved option bits set [MQTT-3.8.3-5]`);
  }
  const retainHandling = (options >> 4) & 0x03;
  if (retainHandling === 3) {
    throw malformed(`subscription '${topicFilter}' has retain handling 3`);
  }
  const noLocal = (options & 0x04) !== 0;
  if (noLocal && isSharedFilter(topicFilter)) {
    throw protocolError(`shared subscription '${topicFilter}' sets no local [MQTT-3.8.3-4]`);
  }
  return {
    topicFilter,
    qos: qos as QoS,
    noLocal,
    retainAsPublished: (options & 0x08) !== 0,
    retainHandling: retainHandling as 0 | 1 | 2,
  };
}

/** Decode a SUBSCRIBE body. */
export function decodeSubscribe(
  r: ByteReader,
  flags: number,
  version: ProtocolVersion,
): SubscribePacket {
  expectFlags(flags, 0x02, "SUBSCRIBE"); // [MQTT-3.8.1-1]
  const packetId = readFilterPacketId(r, "SUBSCRIBE");
  const properties = version === 5 ? readProperties(r, "subscribe") : undefined;
  const subscriptions: Subscription[] = [];
  while (r.remaining > 0) {
    subscriptions.push(readOptions(r, readTopicFilter(r, version), version));
  }
  if (subscriptions.length === 0) {
    throw malformed("SUBSCRIBE has no topic filter [MQTT-3.8.3-2]");
  }
  const packet: SubscribePacket = { type: "subscribe", packetId, subscriptions };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

function optionsByte(s: Subscription, version: ProtocolVersion): number {
  if (version !== 5) return s.qos;
  return s.qos | (s.noLocal ? 0x04 : 0) | (s.retainAsPublished ? 0x08 : 0) |
    (s.retainHandling << 4);
}

/** Encode a SUBSCRIBE; 3.x carries only each filter's QoS. */
export function encodeSubscribe(packet: SubscribePacket, version: ProtocolVersion): Uint8Array {
  const filterBytes = packet.subscriptions.map((s) => utf8Length(s.topicFilter));
  let remaining = 2;
  let propsBytes = 0;
  if (version === 5) {
    propsBytes = propertiesSize(packet.properties, "subscribe");
    remaining += varintSize(propsBytes) + propsBytes;
  }
  for (const bytes of filterBytes) remaining += 3 + bytes;
  const w = startPacket(0x82, remaining);
  w.u16(packet.packetId);
  if (version === 5) writeProperties(w, packet.properties, propsBytes);
  packet.subscriptions.forEach((s, i) => {
    w.utf8(s.topicFilter, filterBytes[i]);
    w.u8(optionsByte(s, version));
  });
  return finishPacket(w);
}
