/**
 * DISCONNECT (MQTT 5.0 §3.14): empty in 3.x; in 5.0 an optional reason code and properties.
 *
 * @module
 */

import { expectFlags, finishPacket, startPacket } from "./fixed_header.ts";
import type { ByteReader } from "./reader.ts";
import { readReasonTail, reasonTailSize, writeReasonTail } from "./reason_tail.ts";
import type { DisconnectPacket, ProtocolVersion } from "./types.ts";

/** Decode a DISCONNECT body. */
export function decodeDisconnect(
  r: ByteReader,
  flags: number,
  version: ProtocolVersion,
): DisconnectPacket {
  expectFlags(flags, 0, "DISCONNECT");
  if (version !== 5) {
    r.expectEnd("DISCONNECT");
    return { type: "disconnect", reasonCode: 0 };
  }
  return { type: "disconnect", ...readReasonTail(r, "disconnect") };
}

/** Encode a DISCONNECT in its shortest form. */
export function encodeDisconnect(packet: DisconnectPacket, version: ProtocolVersion): Uint8Array {
  if (version !== 5) return finishPacket(startPacket(0xe0, 0));
  const tail = reasonTailSize(packet.reasonCode, packet.properties, "disconnect");
  const w = startPacket(0xe0, tail.bytes);
  writeReasonTail(w, packet.reasonCode, packet.properties, tail);
  return finishPacket(w);
}
