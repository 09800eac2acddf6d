/**
 * `decodePacket` and `encodePacket`: whole packets, any type, any version.
 *
 * @module
 */

import { decodeAck, encodeAck } from "./ack.ts";
import { decodeAuth, encodeAuth } from "./auth.ts";
import { decodeConnack, encodeConnack } from "./connack.ts";
import { decodeConnect, encodeConnect } from "./connect.ts";
import { decodeDisconnect, encodeDisconnect } from "./disconnect.ts";
import { malformed, protocolError } from "./errors.ts";
import { UNCHECKED_FLAGS } from "./fixed_header.ts";
import { decodePing, PINGREQ_BYTES, PINGRESP_BYTES } from "./ping.ts";
import { decodePublish, encodePublish } from "./publish.ts";
import { ByteReader } from "./reader.ts";
import { decodeSuback, encodeSuback } from "./suback.ts";
import { decodeSubscribe, encodeSubscribe } from "./subscribe.ts";
import type { Packet, ProtocolVersion } from "./types.ts";
import { decodeUnsuback, encodeUnsuback } from "./unsuback.ts";
import { decodeUnsubscribe, encodeUnsubscribe } from "./unsubscribe.ts";

/**
 * Decode one whole packet (fixed header included, as the frame reader yields it). `version` is
 * the connection's protocol version; a CONNECT carries its own. Bad bytes throw `MqttError`
 * and nothing else. Byte fields of the result are views into `frame`.
 */
export function decodePacket(frame: Uint8Array, version: ProtocolVersion): Packet {
  const r = new ByteReader(frame, 0, frame.length);
  const first = r.u8("fixed header");
  // Only 5.0 requires the fewest bytes [MQTT-1.5.5-1]; a CONNECT is read before its version.
  const remaining = r.varint("remaining length", version === 5);
  if (r.pos + remaining !== frame.length) {
    throw malformed(
      `remaining length ${remaining} does not match the ${frame.length - r.pos} bytes given`,
    );
  }
  const type = first >> 4;
  // MQTT 3.1 fixes no flag bits outside PUBLISH (type 3): they are not checked there.
  const flags = version === 3 && type !== 3 ? UNCHECKED_FLAGS : first & 0x0f;
  switch (type) {
    case 1:
      return decodeConnect(r, flags);
    case 2:
      return decodeConnack(r, flags, version);
    case 3:
      return decodePublish(r, flags, version);
    case 4:
      return decodeAck(r, flags, "puback", version);
    case 5:
      return decodeAck(r, flags, "pubrec", version);
    case 6:
      return decodeAck(r, flags, "pubrel", version);
    case 7:
      return decodeAck(r, flags, "pubcomp", version);
    case 8:
      return decodeSubscribe(r, flags, version);
    case 9:
      return decodeSuback(r, flags, version);
    case 10:
      return decodeUnsubscribe(r, flags, version);
    case 11:
      return decodeUnsuback(r, flags, version);
    case 12:
      return decodePing(r, flags, "pingreq");
    case 13:
      return decodePing(r, flags, "pingresp");
    case 14:
      return decodeDisconnect(r, flags, version);
    case 15:
      return decodeAuth(r, flags, version);
    default:
      // A protocol error (0x82), as Mosquitto answers.
      throw protocolError("packet type 0 is reserved");
  }
}

/**
 * Encode a packet for a connection speaking `version` (a CONNECT uses its own
 * `protocolVersion`). Fields 3.x cannot carry (properties, ack reason codes) are left out.
 * A packet the codec cannot express (AUTH in 3.x, a QoS 1 PUBLISH without a packet id) throws
 * a TypeError or RangeError: that is a bug in the caller.
 */
export function encodePacket(packet: Packet, version: ProtocolVersion): Uint8Array {
  switch (packet.type) {
    case "connect":
      return encodeConnect(packet);
    case "connack":
      return encodeConnack(packet, version);
    case "publish":
      return encodePublish(packet, version);
    case "puback":
    case "pubrec":
    case "pubrel":
    case "pubcomp":
      return encodeAck(packet, version);
    case "subscribe":
      return encodeSubscribe(packet, version);
    case "suback":
      return encodeSuback(packet, version);
    case "unsubscribe":
      return encodeUnsubscribe(packet, version);
    case "unsuback":
      return encodeUnsuback(packet, version);
    case "pingreq":
      return PINGREQ_BYTES.slice();
    case "pingresp":
      return PINGRESP_BYTES.slice();
    case "disconnect":
      return encodeDisconnect(packet, version);
    case "auth":
      return encodeAuth(packet, version);
  }
}
