/**
 * CONNACK (MQTT 5.0 §3.2): the server's answer to CONNECT. In 3.x its reason is a return code
 * 0-5, mapped to and from the 5.0 reason codes the packet model carries.
 *
 * @module
 */

import { malformed, protocolError } from "./errors.ts";
import { expectFlags, finishPacket, startPacket } from "./fixed_header.ts";
import { propertiesSize, readProperties, writeProperties } from "./properties.ts";
import type { ByteReader } from "./reader.ts";
import { fromV3ConnackCode, isValidReasonCode, toV3ConnackCode } from "./reason_codes.ts";
import type { ConnackPacket, ProtocolVersion } from "./types.ts";
import { varintSize } from "./writer.ts";

/** Decode a CONNACK body. */
export function decodeConnack(
  r: ByteReader,
  flags: number,
  version: ProtocolVersion,
): ConnackPacket {
  expectFlags(flags, 0, "CONNACK");
  const ackFlags = r.u8("connect acknowledge flags");
  if (ackFlags & 0xfe) throw malformed("CONNACK reserved flags are set [MQTT-3.2.2-1]");
  // 3.1 has no session present flag (see encodeConnack).
  const sessionPresent = version !== 3 && (ackFlags & 0x01) !== 0;
  const code = r.u8("connect reason code");
  let reasonCode: number;
  if (version === 5) {
    if (!isValidReasonCode("connack", code)) {
      throw protocolError(`CONNACK reason code 0x${code.toString(16)} is not allowed`);
    }
    reasonCode = code;
  } else {
    reasonCode = fromV3ConnackCode(code);
    if (reasonCode < 0) throw protocolError(`CONNACK return code ${code} is not allowed`);
  }
  if (sessionPresent && reasonCode !== 0) {
    throw protocolError("CONNACK refuses the connection with session present set [MQTT-3.2.2-6]");
  }
  const properties = version === 5 ? readProperties(r, "connack") : undefined;
  r.expectEnd("CONNACK");
  const packet: ConnackPacket = { type: "connack", sessionPresent, reasonCode };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

/** Encode a CONNACK; for 3.x the reason code becomes a return code. */
export function encodeConnack(packet: ConnackPacket, version: ProtocolVersion): Uint8Array {
  if (version !== 5) {
    const w = startPacket(0x20, 2);
    // MQTT 3.1 has no session present flag: its first byte is reserved (unlike 3.1.1).
    w.u8(packet.sessionPresent && version === 4 ? 1 : 0);
    w.u8(toV3ConnackCode(packet.reasonCode));
    return finishPacket(w);
  }
  const propsBytes = propertiesSize(packet.properties, "connack");
  const w = startPacket(0x20, 2 + varintSize(propsBytes) + propsBytes);
  w.u8(packet.sessionPresent ? 1 : 0);
  w.u8(packet.reasonCode);
  writeProperties(w, packet.properties, propsBytes);
  return finishPacket(w);
}
