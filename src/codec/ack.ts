/**
 * PUBACK, PUBREC, PUBREL and PUBCOMP (MQTT 5.0 §3.4-3.7): a packet identifier and, in 5.0, an
 * optional reason code and properties.
 *
 * @module
 */

import { expectFlags, finishPacket, startPacket } from "./fixed_header.ts";
import type { ByteReader } from "./reader.ts";
import { readReasonTail, reasonTailSize, writeReasonTail } from "./reason_tail.ts";
import type { AckPacket, AckType, ProtocolVersion } from "./types.ts";

const FIRST_BYTE: Readonly<Record<AckType, number>> = {
  puback: 0x40,
  pubrec: 0x50,
  pubrel: 0x62,
  pubcomp: 0x70,
};

const NAME: Readonly<Record<AckType, string>> = {
  puback: "PUBACK",
  pubrec: "PUBREC",
  pubrel: "PUBREL",
  pubcomp: "PUBCOMP",
};

/** Decode an acknowledgement body of the given type. */
export function decodeAck(
  r: ByteReader,
  flags: number,
  type: AckType,
  version: ProtocolVersion,
): AckPacket {
  // PUBREL's flags are 0b0010 [MQTT-3.6.1-1]; the others' are 0.
  expectFlags(flags, FIRST_BYTE[type] & 0x0f, NAME[type]);
  const packetId = r.packetId(NAME[type]);
  if (version !== 5) {
    r.expectEnd(NAME[type]);
    return { type, packetId, reasonCode: 0 };
  }
  const tail = readReasonTail(r, type);
  const packet: AckPacket = { type, packetId, reasonCode: tail.reasonCode };
  if (tail.properties !== undefined) packet.properties = tail.properties;
  return packet;
}

/** Encode an acknowledgement; 5.0 uses the short form when it can. */
export function encodeAck(packet: AckPacket, version: ProtocolVersion): Uint8Array {
  const first = FIRST_BYTE[packet.type];
  if (version !== 5) {
    const w = startPacket(first, 2);
    w.u16(packet.packetId);
    return finishPacket(w);
  }
  const tail = reasonTailSize(packet.reasonCode, packet.properties, packet.type);
  const w = startPacket(first, 2 + tail.bytes);
  w.u16(packet.packetId);
  writeReasonTail(w, packet.reasonCode, packet.properties, tail);
  return finishPacket(w);
}
