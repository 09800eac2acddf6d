/**
 * The optional tail of 5.0 acks, DISCONNECT and AUTH: a reason code, then properties. A
 * shorter packet means reason 0 and no properties (MQTT 5.0 §3.4.2.1, §3.14.2.1, §3.15.2.1);
 * the encoder uses the short forms as Mosquitto does.
 *
 * @module
 */

import { protocolError } from "./errors.ts";
import {
  propertiesSize,
  type PropertyContext,
  readProperties,
  writeProperties,
} from "./properties.ts";
import type { ByteReader } from "./reader.ts";
import { isValidReasonCode, type ReasonCodePacket } from "./reason_codes.ts";
import type { Properties } from "./types.ts";
import type { ByteWriter } from "./writer.ts";
import { varintSize } from "./writer.ts";

/** Reason code and properties read from a 5.0 tail. */
export interface ReasonTail {
  /** Reason code (0 when absent). */
  reasonCode: number;
  /** Properties, when present and not empty. */
  properties?: Properties;
}

/** Read a reason code, checked against the packet's list, and the properties that may follow. */
export function readReasonTail(
  r: ByteReader,
  packet: ReasonCodePacket & PropertyContext,
): ReasonTail {
  if (r.remaining === 0) return { reasonCode: 0 };
  const reasonCode = r.u8("reason code");
  if (!isValidReasonCode(packet, reasonCode)) {
    throw protocolError(`${packet} reason code 0x${reasonCode.toString(16)} is not allowed`);
  }
  if (r.remaining === 0) return { reasonCode };
  const properties = readProperties(r, packet);
  r.expectEnd(packet);
  return properties === undefined ? { reasonCode } : { reasonCode, properties };
}

/** Sizes of a tail to encode: the whole tail, and its property list body. */
export interface TailSize {
  /** Bytes of the tail: 0, 1, or reason code + property length + properties. */
  bytes: number;
  /** Bytes of the property list body. */
  propertiesBytes: number;
}

/** Size a tail in its shortest form. */
export function reasonTailSize(
  reasonCode: number,
  properties: Properties | undefined,
  context: PropertyContext,
): TailSize {
  const propertiesBytes = propertiesSize(properties, context);
  if (propertiesBytes > 0) {
    return { bytes: 1 + varintSize(propertiesBytes) + propertiesBytes, propertiesBytes };
  }
  return { bytes: reasonCode === 0 ? 0 : 1, propertiesBytes };
}

/** Write a tail sized by `reasonTailSize`. */
export function writeReasonTail(
  w: ByteWriter,
  reasonCode: number,
  properties: Properties | undefined,
  size: TailSize,
): void {
  if (size.bytes === 0) return;
  w.u8(reasonCode);
  if (size.bytes > 1) writeProperties(w, properties, size.propertiesBytes);
}
