/**
 * AUTH (MQTT 5.0 §3.15): extended authentication exchanges. The packet type is reserved before
 * 5.0, so a 3.x peer sending it is malformed.
 *
 * @module
 */

import { malformed } from "./errors.ts";
import { expectFlags, finishPacket, startPacket } from "./fixed_header.ts";
import type { ByteReader } from "./reader.ts";
import { readReasonTail, reasonTailSize, writeReasonTail } from "./reason_tail.ts";
import type { AuthPacket, ProtocolVersion } from "./types.ts";

/** Decode an AUTH body. */
export function decodeAuth(r: ByteReader, flags: number, version: ProtocolVersion): AuthPacket {
  if (version !== 5) throw malformed("packet type 15 (AUTH) does not exist before MQTT 5.0");
  expectFlags(flags, 0, "AUTH");
  return { type: "auth", ...readReasonTail(r, "auth") };
}

/** Encode an AUTH (5.0 only). */
export function encodeAuth(packet: AuthPacket, version: ProtocolVersion): Uint8Array {
  if (version !== 5) throw new TypeError("AUTH exists only in MQTT 5.0");
  const tail = reasonTailSize(packet.reasonCode, packet.properties, "auth");
  const w = startPacket(0xf0, tail.bytes);
  writeReasonTail(w, packet.reasonCode, packet.properties, tail);
  return finishPacket(w);
}
