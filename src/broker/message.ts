/**
 * An application message on its way through the broker, and the encode-once cache of its
 * PUBLISH bytes.
 *
 * @module
 */

import { encodePacket, type Properties, type ProtocolVersion, type QoS } from "../codec/mod.ts";
import type { ListenerOptions } from "./options.ts";
import type { StoreMark } from "./store_mark.ts";

/** Who published a retained message, for `check_retain_source`. */
export interface RetainSource {
  /** The publisher's username, if it gave one. */
  username: string | undefined;
  /** The listener it published through (its ACL applies); undefined: the broker-wide one. */
  listener: ListenerOptions | undefined;
}

/** An application message as routed: what a publisher sent, independent of any subscriber. */
export interface Message {
  /** Topic name (aliases already resolved). */
  topic: string;
  /** Payload; a view into the read buffer until `keepMessage` copies it. */
  payload: Uint8Array;
  /** QoS it was published at. */
  qos: QoS;
  /** Retain flag as published. */
  retain: boolean;
  /**
   * Properties forwarded to subscribers (payload format, content type, response topic,
   * correlation data, user properties). Message expiry is kept as `expiresAt` instead.
   */
  properties: Properties | undefined;
  /** When the message expires (ms since epoch), or undefined. */
  expiresAt: number | undefined;
  /** Client id of the publisher (for no local); empty for the broker's own messages. */
  publisherId: string;
  /** Whether the payload and byte properties are owned copies. */
  owned: boolean;
  /**
   * The first PUBLISH encoded for it (`sharedEncoding`), of variant `encodedVariant` (see
   * `variantIndex`): most messages need one variant, kept without an array around it.
   */
  encoded: Uint8Array | undefined;
  /** The variant of `encoded`. */
  encodedVariant: number;
  /** Encodings of further variants, by variant, once subscribers need a second one. */
  moreEncoded: (Uint8Array | undefined)[] | undefined;
  /** Its store keys and references while persistence stores it (store_mark.ts). */
  store: StoreMark | undefined;
  /** For a retained message from a client: who published it (`check_retain_source`). */
  retainSource: RetainSource | undefined;
}

/** Build a message from its parts. */
export function newMessage(
  topic: string,
  payload: Uint8Array,
  qos: QoS,
  retain: boolean,
  publisherId: string,
  properties?: Properties,
  expiresAt?: number,
): Message {
  return {
    topic,
    payload,
    qos,
    retain,
    properties,
    expiresAt,
    publisherId,
    owned: false,
    encoded: undefined,
    encodedVariant: 0,
    moreEncoded: undefined,
    store: undefined,
    retainSource: undefined,
  };
}

/**
 * Copy what `message` refers to in a read buffer, so it can be kept beyond this turn. A
 * payload already encoded in a PUBLISH is not copied again: it becomes the tail of those
 * bytes, so a message in flight holds one buffer, not two.
 */
export function keepMessage(message: Message): void {
  if (message.owned) return;
  const encoded = message.encoded;
  message.payload = encoded === undefined
    ? message.payload.slice()
    : encoded.subarray(encoded.length - message.payload.length);
  message.properties = keptProperties(message.properties);
  message.owned = true;
}

/**
 * A message's or will's `properties` with their one binary value, the correlation data, copied
 * out of the read buffer it was decoded from; the same object when there is none.
 */
export function keptProperties(p: Properties | undefined): Properties | undefined {
  return p?.correlationData === undefined
    ? p
    : { ...p, correlationData: p.correlationData.slice() };
}

/** Variants of one message's PUBLISH: 3.x or 5.0, QoS 0-2, retain flag. */
function variantIndex(version: ProtocolVersion, qos: QoS, retain: boolean): number {
  return (version === 5 ? 6 : 0) + qos * 2 + (retain ? 1 : 0);
}

/** Offset of the packet id in an encoded PUBLISH: after the fixed header and the topic. */
export function packetIdOffset(bytes: Uint8Array): number {
  let i = 1;
  while (bytes[i] & 0x80) i++;
  return i + 1 + 2 + ((bytes[i + 1] << 8) | bytes[i + 2]);
}

/**
 * The PUBLISH of `message` for a subscriber of `version` at `qos` with `retain`, encoded once
 * and shared (with packet id 1 as a placeholder to patch: `packetIdOffset`). Only for messages
 * without per-subscriber properties (expiry, subscription identifiers, topic alias).
 */
export function sharedEncoding(
  message: Message,
  version: ProtocolVersion,
  qos: QoS,
  retain: boolean,
): Uint8Array {
  const variant = variantIndex(version, qos, retain);
  if (message.encoded !== undefined && message.encodedVariant === variant) return message.encoded;
  const known = message.moreEncoded?.[variant];
  if (known !== undefined) return known;
  const bytes = encodePacket({
    type: "publish",
    topic: message.topic,
    payload: message.payload,
    qos,
    retain,
    dup: false,
    packetId: qos > 0 ? 1 : undefined,
    properties: version === 5 ? message.properties : undefined,
  }, version);
  if (message.encoded === undefined) {
    message.encoded = bytes;
    message.encodedVariant = variant;
  } else {
    (message.moreEncoded ??= [])[variant] = bytes;
  }
  return bytes;
}
