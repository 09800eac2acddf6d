/**
 * Short builders for the well-formed packets of the differential scripts (the malformed ones
 * are written as hex). They encode with Midge's codec: both brokers receive the same bytes, so
 * what is compared is only how each answers.
 *
 * @module
 */

import {
  type ConnectPacket,
  encodePacket,
  type Properties,
  type ProtocolVersion,
  type QoS,
  type Subscription,
} from "../../src/codec/mod.ts";
import { text } from "../fixtures/packets.ts";

/** A CONNECT of `version` with a clean start, keep alive 60 and `extra` fields on top. */
export function connect(
  version: ProtocolVersion,
  clientId: string,
  extra: Partial<ConnectPacket> = {},
): Uint8Array {
  return encodePacket(
    { type: "connect", protocolVersion: version, clientId, clean: true, keepAlive: 60, ...extra },
    version,
  );
}

/** What a PUBLISH carries besides topic and payload. */
export interface PublishOptions {
  /** QoS (default 0). */
  qos?: QoS;
  /** Packet id (default 1 when QoS > 0). */
  packetId?: number;
  /** Retain flag. */
  retain?: boolean;
  /** 5.0 properties. */
  properties?: Properties;
}

/** A PUBLISH of `payload` (text) to `topic`. */
export function publish(
  version: ProtocolVersion,
  topic: string,
  payload: string,
  options: PublishOptions = {},
): Uint8Array {
  const qos = options.qos ?? 0;
  return encodePacket({
    type: "publish",
    topic,
    payload: text(payload),
    qos,
    retain: options.retain ?? false,
    dup: false,
    packetId: qos > 0 ? options.packetId ?? 1 : undefined,
    properties: options.properties,
  }, version);
}

/**
 * A SUBSCRIBE (packet id 1) to `filter` (or to each of several); `options` over QoS 0 and no
 * 5.0 flags.
 */
export function subscribe(
  version: ProtocolVersion,
  filter: string | string[],
  options: Partial<Subscription> = {},
): Uint8Array {
  return encodePacket({
    type: "subscribe",
    packetId: 1,
    subscriptions: [filter].flat().map((topicFilter) => ({
      topicFilter,
      qos: 0,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0,
      ...options,
    })),
  }, version);
}

/** An UNSUBSCRIBE (packet id 1) of `filters`. */
export function unsubscribe(version: ProtocolVersion, filters: string[]): Uint8Array {
  return encodePacket({ type: "unsubscribe", packetId: 1, topicFilters: filters }, version);
}

/** A PUBACK, PUBREC, PUBREL or PUBCOMP for `packetId` with reason code 0. */
export function ack(
  version: ProtocolVersion,
  type: "puback" | "pubrec" | "pubrel" | "pubcomp",
  packetId: number,
): Uint8Array {
  return encodePacket({ type, packetId, reasonCode: 0 }, version);
}

/** `packets` one after the other, to go out in a single write. */
export function joined(packets: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(packets.reduce((total, p) => total + p.length, 0));
  let at = 0;
  for (const packet of packets) {
    out.set(packet, at);
    at += packet.length;
  }
  return out;
}

/** PINGREQ: sent last, it shows whether a connection is still served. */
export const PINGREQ = "c0 00";

/** DISCONNECT, normal (the short form in every version). */
export const DISCONNECT = "e0 00";
