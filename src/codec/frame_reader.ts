/**
 * Reassembles whole MQTT packets from TCP chunks of any size: a packet split across chunks,
 * several packets in one chunk, a fixed header split byte by byte. The size limit is enforced
 * from the fixed header alone, before any of the body is buffered.
 *
 * @module
 */

import { malformed, MqttError } from "./errors.ts";
import { ReasonCode } from "./reason_codes.ts";

/** Largest packet MQTT can express: 1 type byte, 4 length bytes, 268,435,455 body bytes. */
export const MAX_PACKET_SIZE = 1 + 4 + 268_435_455;

const EMPTY = new Uint8Array(0);

/** Options of a frame reader. */
export interface FrameReaderOptions {
  /**
   * Largest whole packet accepted, fixed header included (MQTT 5.0 Maximum Packet Size);
   * default: no limit beyond the protocol's.
   */
  maxPacketSize?: number;
  /**
   * Whether a remaining length must be encoded in the fewest bytes, as 5.0 requires
   * [MQTT-1.5.5-1] (3.1 and 3.1.1 do not); default: true.
   */
  minimalLengthOnly?: boolean;
}

/**
 * Usage: `reader.push(chunk)`, then call `next()` until it returns null, then read the next
 * chunk. A frame is the whole packet, fixed header included. A frame that lay wholly inside the
 * chunk is a view of it (no copy), so it is valid only while the chunk's memory is; a frame
 * that spanned chunks is a fresh buffer.
 *
 * Throws `MqttError` 0x81 for a remaining length longer than 4 bytes or (with
 * `minimalLengthOnly`) not minimally encoded, and 0x95 for a packet larger than `maxPacketSize`.
 */
export class FrameReader {
  /** Largest whole packet accepted, in bytes. */
  maxPacketSize: number;
  /** Whether a remaining length in more bytes than needed is refused. */
  minimalLengthOnly: boolean;
  #chunk: Uint8Array = EMPTY;
  #pos = 0;
  /** Fixed header bytes of a packet whose header was cut by the end of a chunk (lazy). */
  #header: Uint8Array = EMPTY;
  #headerLength = 0;
  /** A packet being completed across chunks, and how much of it has arrived. */
  #partial: Uint8Array | null = null;
  #partialLength = 0;

  /** A reader that accepts packets up to `options.maxPacketSize` bytes. */
  constructor(options: FrameReaderOptions = {}) {
    this.maxPacketSize = options.maxPacketSize ?? MAX_PACKET_SIZE;
    this.minimalLengthOnly = options.minimalLengthOnly ?? true;
  }

  /** Whether part of a packet is waiting for more bytes. */
  get hasPartialPacket(): boolean {
    return this.#partial !== null || this.#headerLength > 0;
  }

  /** Hand the reader the next chunk. The previous one must have been drained by `next()`. */
  push(chunk: Uint8Array): void {
    if (this.#pos < this.#chunk.length) {
      throw new Error("FrameReader.push() called before next() returned null");
    }
    this.#chunk = chunk;
    this.#pos = 0;
  }

  /** The next whole packet, or null when the chunk is used up. */
  next(): Uint8Array | null {
    if (this.#partial !== null) return this.#continuePartial();
    if (this.#headerLength > 0) return this.#continueHeader();
    const chunk = this.#chunk;
    const start = this.#pos;
    const end = chunk.length;
    if (start >= end) return null;
    // Parse the remaining length in place.
    let remaining = 0;
    let multiplier = 1;
    let i = start + 1;
    for (;;) {
      if (i >= end) {
        // Header cut by the end of the chunk: keep its bytes.
        if (this.#header === EMPTY) this.#header = new Uint8Array(5);
        this.#header.set(chunk.subarray(start, end));
        this.#headerLength = end - start;
        this.#pos = end;
        return null;
      }
      const b = chunk[i++];
      remaining += (b & 0x7f) * multiplier;
      if ((b & 0x80) === 0) {
        if (b === 0 && i - start > 2 && this.minimalLengthOnly) throw notMinimal();
        break;
      }
      if (i - start === 5) throw tooLong();
      multiplier *= 128;
    }
    const total = i - start + remaining;
    this.#checkSize(total);
    if (start + total <= end) {
      this.#pos = start + total;
      return chunk.subarray(start, start + total);
    }
    const partial = new Uint8Array(total);
    partial.set(chunk.subarray(start, end));
    this.#partial = partial;
    this.#partialLength = end - start;
    this.#pos = end;
    return null;
  }

  #continueHeader(): Uint8Array | null {
    const chunk = this.#chunk;
    const header = this.#header;
    while (this.#pos < chunk.length) {
      const b = chunk[this.#pos++];
      header[this.#headerLength++] = b;
      if ((b & 0x80) !== 0) {
        if (this.#headerLength === 5) throw tooLong();
        continue;
      }
      if (b === 0 && this.#headerLength > 2 && this.minimalLengthOnly) throw notMinimal();
      let remaining = 0;
      let multiplier = 1;
      for (let k = 1; k < this.#headerLength; k++) {
        remaining += (header[k] & 0x7f) * multiplier;
        multiplier *= 128;
      }
      const total = this.#headerLength + remaining;
      this.#checkSize(total);
      const partial = new Uint8Array(total);
      partial.set(header.subarray(0, this.#headerLength));
      this.#partial = partial;
      this.#partialLength = this.#headerLength;
      this.#headerLength = 0;
      return this.#continuePartial();
    }
    return null;
  }

  #continuePartial(): Uint8Array | null {
    const partial = this.#partial!;
    const chunk = this.#chunk;
    const take = Math.min(partial.length - this.#partialLength, chunk.length - this.#pos);
    partial.set(chunk.subarray(this.#pos, this.#pos + take), this.#partialLength);
    this.#partialLength += take;
    this.#pos += take;
    if (this.#partialLength < partial.length) return null;
    this.#partial = null;
    this.#partialLength = 0;
    return partial;
  }

  #checkSize(total: number): void {
    if (total > this.maxPacketSize) {
      throw new MqttError(
        ReasonCode.PacketTooLarge,
        `packet of ${total} bytes exceeds the maximum packet size of ${this.maxPacketSize}`,
      );
    }
  }
}

function tooLong(): MqttError {
  return malformed("remaining length is longer than 4 bytes");
}

function notMinimal(): MqttError {
  return malformed("remaining length is not minimally encoded [MQTT-1.5.5-1]");
}
