/**
 * Bounds-checked reading of MQTT data types from a packet body. Every overrun or bad value is
 * an `MqttError`, so decoders can read without checking lengths themselves.
 *
 * @module
 */

import { malformed, protocolError } from "./errors.ts";
import { decodeValidUtf8, utf8Problem } from "./utf8.ts";

/** Reads the MQTT data types (MQTT 5.0 §1.5) from `buf[pos..end)`. */
export class ByteReader {
  /** The bytes being read. */
  readonly buf: Uint8Array;
  /** Position of the next byte to read. */
  pos: number;
  /** End of the readable range (exclusive). */
  end: number;

  /** Read `buf` from `pos` up to `end`. */
  constructor(buf: Uint8Array, pos: number, end: number) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  /** Bytes left to read. */
  get remaining(): number {
    return this.end - this.pos;
  }

  /** One byte. */
  u8(what: string): number {
    if (this.pos >= this.end) throw malformed(`packet too short for ${what}`);
    return this.buf[this.pos++];
  }

  /** Two Byte Integer, big-endian. */
  u16(what: string): number {
    const p = this.pos;
    if (p + 2 > this.end) throw malformed(`packet too short for ${what}`);
    this.pos = p + 2;
    return (this.buf[p] << 8) | this.buf[p + 1];
  }

  /** Four Byte Integer, big-endian. */
  u32(what: string): number {
    const p = this.pos;
    if (p + 4 > this.end) throw malformed(`packet too short for ${what}`);
    this.pos = p + 4;
    const b = this.buf;
    return ((b[p] << 24) >>> 0) + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
  }

  /** Packet Identifier: a Two Byte Integer that must not be 0 [MQTT-2.2.1-3]. */
  packetId(packetName: string): number {
    const id = this.u16("packet identifier");
    if (id === 0) throw protocolError(`${packetName} packet identifier is 0 [MQTT-2.2.1-3]`);
    return id;
  }

  /**
   * Variable Byte Integer: 1 to 4 bytes, minimal encoding [MQTT-1.5.5-1] unless `minimal` is
   * false (a 3.1 or 3.1.1 remaining length, which may use more bytes than it needs).
   */
  varint(what: string, minimal = true): number {
    let value = 0;
    let multiplier = 1;
    for (let i = 0; i < 4; i++) {
      if (this.pos >= this.end) throw malformed(`packet too short for ${what}`);
      const b = this.buf[this.pos++];
      value += (b & 0x7f) * multiplier;
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0 && minimal) {
          throw malformed(`${what} is not minimally encoded [MQTT-1.5.5-1]`);
        }
        return value;
      }
      multiplier *= 128;
    }
    throw malformed(`${what} is longer than 4 bytes`);
  }

  /** UTF-8 Encoded String: a length and well-formed UTF-8 [MQTT-1.5.4-1] [MQTT-1.5.4-2]. */
  utf8(what: string): string {
    const length = this.u16(what);
    const start = this.pos;
    const end = start + length;
    if (end > this.end) throw malformed(`packet too short for ${what}`);
    const problem = utf8Problem(this.buf, start, end);
    if (problem !== undefined) throw malformed(`${what} ${problem}`);
    this.pos = end;
    return decodeValidUtf8(this.buf, start, end);
  }

  /** Binary Data: a length and that many bytes, returned as a view. */
  binary(what: string): Uint8Array {
    const length = this.u16(what);
    const start = this.pos;
    if (start + length > this.end) throw malformed(`packet too short for ${what}`);
    this.pos = start + length;
    return this.buf.subarray(start, start + length);
  }

  /** Everything left, as a view. */
  rest(): Uint8Array {
    const view = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return view;
  }

  /** Throw unless every byte has been read. */
  expectEnd(what: string): void {
    if (this.pos !== this.end) {
      throw malformed(`${this.end - this.pos} unexpected bytes at the end of ${what}`);
    }
  }
}
