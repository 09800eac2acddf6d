/**
 * SUBACK (MQTT 5.0 §3.9): one granted QoS or failure code per requested topic filter. The
 * list-of-reason-codes helpers here serve UNSUBACK too.
 *
 * @module
 */

import { protocolError } from "./errors.ts";
import { expectFlags, finishPacket, startPacket } from "./fixed_header.ts";
import {
  propertiesSize,
  type PropertyContext,
  readProperties,
  writeProperties,
} from "./properties.ts";
import type { ByteReader } from "./reader.ts";
import { isValidReasonCode, toV3SubackCode } from "./reason_codes.ts";
import type { Properties, ProtocolVersion, SubackPacket } from "./types.ts";
import { varintSize } from "./writer.ts";

/** The body shared by SUBACK and UNSUBACK: packet id, properties, reason codes. */
export interface ReasonListBody {
  /** Packet identifier. */
  packetId: number;
  /** Properties (5.0), when present. */
  properties?: Properties;
  /** One code per topic filter. */
  reasonCodes: number[];
}

const V3_SUBACK_CODES = new Set([0x00, 0x01, 0x02, 0x80]);

/** Read a SUBACK or UNSUBACK body; a 3.x UNSUBACK has no reason codes. */
export function readReasonList(
  r: ByteReader,
  packet: "suback" | "unsuback",
  version: ProtocolVersion,
): ReasonListBody {
  const packetId = r.packetId(packet.toUpperCase());
  const properties = version === 5 ? readProperties(r, packet) : undefined;
  const reasonCodes: number[] = [];
  if (version !== 5 && packet === "unsuback") {
    r.expectEnd("UNSUBACK");
    return { packetId, reasonCodes };
  }
  while (r.remaining > 0) {
    const code = r.u8("reason code");
    const valid = version === 5 ? isValidReasonCode(packet, code) : V3_SUBACK_CODES.has(code);
    if (!valid) {
      throw protocolError(`${packet} reason code 0x${code.toString(16)} is not allowed`);
    }
    reasonCodes.push(code);
  }
  if (reasonCodes.length === 0) throw protocolError(`${packet} has no reason code`);
  return properties === undefined
    ? { packetId, reasonCodes }
    : { packetId, properties, reasonCodes };
}

/** Encode a SUBACK or UNSUBACK body after `firstByte`. */
export function encodeReasonList(
  firstByte: number,
  body: ReasonListBody,
  context: PropertyContext,
  version: ProtocolVersion,
  mapCode: (code: number) => number,
): Uint8Array {
  let remaining = 2 + body.reasonCodes.length;
  let propsBytes = 0;
  if (version === 5) {
    propsBytes = propertiesSize(body.properties, context);
    remaining += varintSize(propsBytes) + propsBytes;
  }
  const w = startPacket(firstByte, remaining);
  w.u16(body.packetId);
  if (version === 5) writeProperties(w, body.properties, propsBytes);
  for (const code of body.reasonCodes) w.u8(mapCode(code));
  return finishPacket(w);
}

/** Decode a SUBACK body. */
export function decodeSuback(r: ByteReader, flags: number, version: ProtocolVersion): SubackPacket {
  expectFlags(flags, 0, "SUBACK");
  return { type: "suback", ...readReasonList(r, "suback", version) };
}

/** Encode a SUBACK; 3.x failure codes become 0x80. */
export function encodeSuback(packet: SubackPacket, version: ProtocolVersion): Uint8Array {
  const map = version === 5 ? (c: number) => c : toV3SubackCode;
  return encodeReasonList(0x90, packet, "suback", version, map);
}
