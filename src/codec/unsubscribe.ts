/**
 * UNSUBSCRIBE (MQTT 5.0 §3.10): topic filters to remove.
 *
 * @module
 */

import { malformed } from "./errors.ts";
import { expectFlags, finishPacket, startPacket } from "./fixed_header.ts";
import { propertiesSize, readProperties, writeProperties } from "./properties.ts";
import type { ByteReader } from "./reader.ts";
import { readFilterPacketId, readTopicFilter } from "./subscribe.ts";
import type { ProtocolVersion, UnsubscribePacket } from "./types.ts";
import { utf8Length } from "./utf8.ts";
import { varintSize } from "./writer.ts";

/** Decode an UNSUBSCRIBE body. */
export function decodeUnsubscribe(
  r: ByteReader,
  flags: number,
  version: ProtocolVersion,
): UnsubscribePacket {
  expectFlags(flags, 0x02, "UNSUBSCRIBE"); // [MQTT-3.10.1-1]
  const packetId = readFilterPacketId(r, "UNSUBSCRIBE");
  const properties = version === 5 ? readProperties(r, "unsubscribe") : undefined;
  const topicFilters: string[] = [];
  while (r.remaining > 0) topicFilters.push(readTopicFilter(r, version));
  if (topicFilters.length === 0) {
    throw malformed("UNSUBSCRIBE has no topic filter [MQTT-3.10.3-2]");
  }
  const packet: UnsubscribePacket = { type: "unsubscribe", packetId, topicFilters };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

/** Encode an UNSUBSCRIBE. */
export function encodeUnsubscribe(packet: UnsubscribePacket, version: ProtocolVersion): Uint8Array {
  const filterBytes = packet.topicFilters.map(utf8Length);
  let remaining = 2;
  let propsBytes = 0;
  if (version === 5) {
    propsBytes = propertiesSize(packet.properties, "unsubscribe");
    remaining += varintSize(propsBytes) + propsBytes;
  }
  for (const bytes of filterBytes) remaining += 2 + bytes;
  const w = startPacket(0xa2, remaining);
  w.u16(packet.packetId);
  if (version === 5) writeProperties(w, packet.properties, propsBytes);
  packet.topicFilters.forEach((f, i) => w.utf8(f, filterBytes[i]));
  return finishPacket(w);
}
