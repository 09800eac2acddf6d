/**
 * A publisher's PUBLISH, encoded once by the project's codec (`encodePacket`) and then, per
 * message, copied into the connection's batch with only its packet id and payload header
 * patched in place: the broker likewise encodes a message once per variant and patches packet
 * ids. Encoding every message afresh cost a quarter of the generator's time, enough to make it
 * the bottleneck against a fast broker.
 *
 * @module
 */

import { decodePacket, encodePacket, type QoS } from "../../src/codec/mod.ts";
import type { BenchClient } from "./client.ts";
import { PAYLOAD_HEADER_BYTES, writePayloadHeader } from "./payload.ts";

/** Filler of the payload after its header. */
const PAYLOAD_FILL = 0x2e;

/** One encoded PUBLISH and where its variable parts are. */
export class PublishTemplate {
  /** The encoded packet (packet id 1, payload header zeroed). */
  readonly bytes: Uint8Array;
  /** Offset of the payload in `bytes`. */
  readonly payloadOffset: number;
  /** Offset of the packet id in `bytes`, or -1 at QoS 0. */
  readonly packetIdOffset: number;

  /** Encode a PUBLISH of `payloadBytes` bytes to `topic` at `qos` (MQTT 3.1.1). */
  constructor(options: { topic: string; qos: QoS; payloadBytes: number }) {
    if (options.payloadBytes < PAYLOAD_HEADER_BYTES) {
      throw new RangeError(`payload must be at least ${PAYLOAD_HEADER_BYTES} bytes`);
    }
    const payload = new Uint8Array(options.payloadBytes).fill(PAYLOAD_FILL);
    payload.fill(0, 0, PAYLOAD_HEADER_BYTES);
    this.bytes = encodePacket({
      type: "publish",
      topic: options.topic,
      payload,
      qos: options.qos,
      retain: false,
      dup: false,
      packetId: options.qos > 0 ? 1 : undefined,
    }, 4).slice();
    this.payloadOffset = this.bytes.length - options.payloadBytes;
    this.packetIdOffset = options.qos > 0 ? this.payloadOffset - 2 : -1;
    // The offsets must be where the codec reads them back.
    const check = decodePacket(this.bytes, 4);
    if (
      check.type !== "publish" || check.payload.byteOffset !== this.payloadOffset ||
      (options.qos > 0 && check.packetId !== 1)
    ) {
      throw new Error("PublishTemplate: the encoded PUBLISH is not laid out as expected");
    }
  }

  /** Append one message to `client`'s batch with its packet id (QoS > 0) and header fields. */
  appendTo(
    client: BenchClient,
    fields: { packetId: number; publisher: number; sequence: number; sentAtNs: number },
  ): void {
    const at = client.append(this.bytes);
    if (at < 0) return;
    const buf = client.batchBuffer;
    if (this.packetIdOffset >= 0) {
      buf[at + this.packetIdOffset] = fields.packetId >>> 8;
      buf[at + this.packetIdOffset + 1] = fields.packetId & 0xff;
    }
    writePayloadHeader(buf, {
      at: at + this.payloadOffset,
      publisher: fields.publisher,
      sequence: fields.sequence,
      sentAtNs: fields.sentAtNs,
    });
  }
}
