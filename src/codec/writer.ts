/**
 * Writing MQTT data types into a buffer whose exact size the encoder computed beforehand, and
 * the size helpers that computation needs.
 *
 * @module
 */

import { writeUtf8 } from "./utf8.ts";

/** Bytes a Variable Byte Integer takes. */
export function varintSize(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : 4;
}

/** Largest value a Variable Byte Integer holds (and so the largest remaining length). */
export const MAX_VARINT = 268_435_455;

/** Writes into a pre-sized buffer; it never grows, so sizes must be computed first. */
export class ByteWriter {
  /** The buffer being written. */
  readonly buf: Uint8Array;
  /** Position of the next byte. */
  pos: number;

  /** Write into `buf` from `pos`. */
  constructor(buf: Uint8Array, pos = 0) {
    this.buf = buf;
    this.pos = pos;
  }

  /** One byte. */
  u8(value: number): void {
    this.buf[this.pos++] = value;
  }

  /** Two Byte Integer, big-endian. */
  u16(value: number): void {
    this.buf[this.pos++] = value >>> 8;
    this.buf[this.pos++] = value;
  }

  /** Four Byte Integer, big-endian. */
  u32(value: number): void {
    const b = this.buf;
    b[this.pos++] = value >>> 24;
    b[this.pos++] = value >>> 16;
    b[this.pos++] = value >>> 8;
    b[this.pos++] = value;
  }

  /** Variable Byte Integer, minimal encoding [MQTT-1.5.5-1]. */
  varint(value: number): void {
    do {
      let byte = value % 128;
      value = Math.floor(value / 128);
      if (value > 0) byte |= 0x80;
      this.buf[this.pos++] = byte;
    } while (value > 0);
  }

  /** UTF-8 Encoded String whose byte length is already known. */
  utf8(value: string, byteLength: number): void {
    this.u16(byteLength);
    this.pos = writeUtf8(this.buf, this.pos, value, byteLength);
  }

  /** Binary Data: a two-byte length and the bytes. */
  binary(value: Uint8Array): void {
    this.u16(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  /** Raw bytes with no length prefix. */
  bytes(value: Uint8Array): void {
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }
}
