/**
 * UNSUBACK (MQTT 5.0 §3.11): in 5.0 one reason code per topic filter; in 3.x only the packet
 * identifier.
 *
 * @module
 */

import { expectFlags } from "./fixed_header.ts";
import type { ByteReader } from "./reader.ts";
import { encodeReasonList, readReasonList } from "./suback.ts";
import type { ProtocolVersion, UnsubackPacket } from "./types.ts";

/** Decode an UNSUBACK body. */
export function decodeUnsuback(
  r: ByteReader,
  flags: number,
  version: ProtocolVersion,
): UnsubackPacket {
  expectFlags(flags, 0, "UNSUBACK");
  return { type: "unsuback", ...readReasonList(r, "unsuback", version) };
}

/** Encode an UNSUBACK; 3.x drops the reason codes. */
export function encodeUnsuback(packet: UnsubackPacket, version: ProtocolVersion): Uint8Array {
  const body = version === 5 ? packet : { packetId: packet.packetId, reasonCodes: [] };
  return encodeReasonList(0xb0, body, "unsuback", version, (c) => c);
}
