/**
 * PINGREQ and PINGRESP (MQTT 5.0 §3.12, §3.13): a fixed header and nothing else.
 *
 * @module
 */

import { expectFlags } from "./fixed_header.ts";
import type { ByteReader } from "./reader.ts";
import type { PingreqPacket, PingrespPacket } from "./types.ts";

const PINGREQ: PingreqPacket = Object.freeze({ type: "pingreq" }) as PingreqPacket;
const PINGRESP: PingrespPacket = Object.freeze({ type: "pingresp" }) as PingrespPacket;

/** The encoded PINGREQ. */
export const PINGREQ_BYTES: Uint8Array = Uint8Array.of(0xc0, 0x00);
/** The encoded PINGRESP. */
export const PINGRESP_BYTES: Uint8Array = Uint8Array.of(0xd0, 0x00);

/** Decode a PINGREQ or PINGRESP; any body is malformed. */
export function decodePing(
  r: ByteReader,
  flags: number,
  type: "pingreq" | "pingresp",
): PingreqPacket | PingrespPacket {
  const name = type.toUpperCase();
  expectFlags(flags, 0, name);
  r.expectEnd(name);
  return type === "pingreq" ? PINGREQ : PINGRESP;
}
