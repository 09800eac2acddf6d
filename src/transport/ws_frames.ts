/**
 * RFC 6455 frames as a WebSocket server sees them, without I/O: the accept key of the
 * handshake, frame headers to send, and `FrameDecoder`, which turns the masked frames a client
 * sends into the bytes of its binary messages (MQTT packets may be split across frames or
 * joined within one anywhere), reporting pings, the close frame and the protocol errors.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** Frame opcodes (RFC 6455 section 5.2). */
export const Opcode = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

/** Close status codes (RFC 6455 section 7.4.1) the server sends. */
export const CloseCode = {
  normal: 1000,
  protocolError: 1002,
  unsupportedData: 1003,
  tooBig: 1009,
} as const;

/** Why the decoder stopped: a close frame came, or the client broke the protocol. */
export interface DecoderStop {
  /** The code to send in the close frame that answers. */
  code: number;
  /** For log lines: what happened. */
  reason: string;
  /** Whether the client closed (true) or broke the protocol (false). */
  byPeer: boolean;
}

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** The Sec-WebSocket-Accept value that answers a Sec-WebSocket-Key (RFC 6455 section 4.2.2). */
export function acceptKey(key: string): string {
  return createHash("sha1").update(key + GUID).digest("base64");
}

/** The length of an unmasked server frame header for a payload of `length` bytes. */
export function frameHeaderLength(length: number): number {
  return length < 126 ? 2 : length < 0x10000 ? 4 : 10;
}

/**
 * Write the header of a final, unmasked frame (a server's frames are never masked) at the
 * start of `into`; returns its length.
 */
export function writeFrameHeader(into: Uint8Array, opcode: number, length: number): number {
  into[0] = 0x80 | opcode;
  if (length < 126) {
    into[1] = length;
    return 2;
  }
  if (length < 0x10000) {
    into[1] = 126;
    into[2] = length >> 8;
    into[3] = length & 0xff;
    return 4;
  }
  into[1] = 127;
  new DataView(into.buffer, into.byteOffset, 10).setBigUint64(2, BigInt(length));
  return 10;
}

/** The payload of a close frame carrying status `code`. */
export function closePayload(code: number): Uint8Array {
  return new Uint8Array([code >> 8, code & 0xff]);
}

/** The input buffer's first size: an idle connection holds no more. */
const INPUT_FIRST = 4 * 1024;
/** The input buffer grows (doubling while reads fill it) up to this size. */
const INPUT_MAX = 64 * 1024;

/** Close codes a peer may send (RFC 6455 section 7.4). */
function validCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999);
}

/**
 * Decodes what a client sends: `space()` is where the next socket read goes, `filled(n)` says
 * how much came, and `decode(out)` copies the unmasked bytes of binary and continuation frames
 * into `out`. Pings leave their payload in `ping` (the latest only: one pong answers them all,
 * RFC 6455 section 5.5.3); a close frame or a protocol error sets `stop`, after which nothing
 * more is decoded.
 */
export class FrameDecoder {
  readonly #maxMessage: number;
  #input = new Uint8Array(INPUT_FIRST);
  #start = 0;
  #end = 0;
  /** The last read filled all the space it was given: give the next one more. */
  #grow = false;
  /** Payload bytes of the current data frame still to come. */
  #remaining = 0;
  #mask = new Uint8Array(4);
  #maskAt = 0;
  /** Bytes of the current (possibly fragmented) message so far; -1 between messages. */
  #message = -1;
  /** A ping's payload to answer with a pong, until taken. */
  ping: Uint8Array | undefined;
  /** Set when a close frame came or the client broke the protocol. */
  stop: DecoderStop | undefined;

  /** `maxMessage`: the largest frame or fragmented message accepted (bytes). */
  constructor(maxMessage: number) {
    this.#maxMessage = maxMessage;
  }

  /** Whether received bytes wait to be decoded (perhaps only part of a header). */
  get buffered(): boolean {
    return this.#end > this.#start;
  }

  /** Take bytes already read (those that came after the upgrade request) as input. */
  push(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#input.set(bytes, this.#end);
    this.#end += bytes.length;
  }

  /**
   * Where the next read goes: the free end of the input, once undecoded bytes (at most a
   * header and a control frame, as `decode` leaves them) moved to the front.
   */
  space(): Uint8Array {
    this.#reserve(this.#grow ? this.#input.length : 1);
    return this.#input.subarray(this.#end);
  }

  /** `n` bytes were read into `space()`. */
  filled(n: number): void {
    this.#grow = this.#end + n === this.#input.length && this.#input.length < INPUT_MAX;
    this.#end += n;
  }

  /**
   * Where a read may put payload bytes straight into `out` (no copy through the input): the
   * rest of the current data frame, when nothing else is buffered; else undefined.
   */
  direct(out: Uint8Array): Uint8Array | undefined {
    if (this.#remaining === 0 || this.buffered || this.stop !== undefined) return undefined;
    return out.subarray(0, Math.min(out.length, this.#remaining));
  }

  /** `bytes` of the current frame were read into what `direct` gave: unmask them there. */
  unmaskDirect(bytes: Uint8Array): void {
    this.#unmask(bytes, 0, bytes.length);
    this.#remaining -= bytes.length;
  }

  /** Unmask `bytes` from `from` to `to` in place, continuing the current frame's mask. */
  #unmask(bytes: Uint8Array, from: number, to: number): void {
    const mask = this.#mask;
    let m = this.#maskAt;
    for (let k = from; k < to; k++) {
      bytes[k] ^= mask[m];
      m = (m + 1) & 3;
    }
    this.#maskAt = m;
  }

  /** Move undecoded bytes to the front and make room for `free` more after them. */
  #reserve(free: number): void {
    const kept = this.#end - this.#start;
    if (this.#input.length - kept < free) {
      const bigger = new Uint8Array(Math.max(kept + free, this.#input.length * 2));
      bigger.set(this.#input.subarray(this.#start, this.#end));
      this.#input = bigger;
    } else if (this.#start > 0) {
      this.#input.copyWithin(0, this.#start, this.#end);
    }
    this.#start = 0;
    this.#end = kept;
  }

  /** Copy decoded message bytes into `out`; returns how many (0 when none are complete yet). */
  decode(out: Uint8Array): number {
    let n = 0;
    while (this.stop === undefined && n < out.length) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, this.#end - this.#start, out.length - n);
        if (take === 0) break;
        this.#unmaskInto(out, n, take);
        n += take;
        continue;
      }
      if (!this.#frame()) break;
    }
    return n;
  }

  #unmaskInto(out: Uint8Array, at: number, count: number): void {
    out.set(this.#input.subarray(this.#start, this.#start + count), at);
    this.#unmask(out, at, at + count);
    this.#start += count;
    this.#remaining -= count;
  }

  /**
   * Take the next frame's header (and a control frame whole) when it has come; false when it
   * has not (or the decoder stopped).
   */
  #frame(): boolean {
    const input = this.#input;
    const at = this.#start;
    const have = this.#end - at;
    if (have < 2) return false;
    const b0 = input[at];
    const b1 = input[at + 1];
    const opcode = b0 & 0x0f;
    if ((b0 & 0x70) !== 0) return this.#fail(CloseCode.protocolError, "reserved bits set");
    if ((b1 & 0x80) === 0) return this.#fail(CloseCode.protocolError, "unmasked client frame");
    let length = b1 & 0x7f;
    let headerLength = 6;
    if (length === 126) headerLength = 8;
    else if (length === 127) headerLength = 14;
    if (have < headerLength) return false;
    if (length === 126) length = (input[at + 2] << 8) | input[at + 3];
    else if (length === 127) {
      const big = new DataView(input.buffer, input.byteOffset + at + 2, 8).getBigUint64(0);
      length = big > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(big);
    }
    const fin = (b0 & 0x80) !== 0;
    if (opcode >= 0x8) {
      if (opcode > Opcode.pong) return this.#fail(CloseCode.protocolError, "reserved opcode");
      if (!fin || length > 125) {
        return this.#fail(CloseCode.protocolError, "fragmented or long control frame");
      }
      if (have < headerLength + length) return false;
      this.#takeMask(at + headerLength - 4);
      const payload = input.slice(at + headerLength, at + headerLength + length);
      for (let k = 0; k < payload.length; k++) payload[k] ^= this.#mask[k & 3];
      this.#start = at + headerLength + length;
      this.#control(opcode, payload);
      return this.stop === undefined;
    }
    if (opcode === Opcode.text) {
      return this.#fail(CloseCode.unsupportedData, "text frame (MQTT is binary)");
    }
    if (opcode !== Opcode.binary && opcode !== Opcode.continuation) {
      return this.#fail(CloseCode.protocolError, "reserved opcode");
    }
    if ((opcode === Opcode.continuation) !== (this.#message >= 0)) {
      return this.#fail(CloseCode.protocolError, "continuation frame out of place");
    }
    const message = Math.max(this.#message, 0) + length;
    if (message > this.#maxMessage) {
      return this.#fail(CloseCode.tooBig, `frame or message of ${length} bytes over the maximum`);
    }
    this.#message = fin ? -1 : message;
    this.#takeMask(at + headerLength - 4);
    this.#remaining = length;
    this.#start = at + headerLength;
    return true;
  }

  #takeMask(at: number): void {
    const input = this.#input;
    const mask = this.#mask;
    for (let k = 0; k < 4; k++) mask[k] = input[at + k];
    this.#maskAt = 0;
  }

  #control(opcode: number, payload: Uint8Array): void {
    if (opcode === Opcode.ping) this.ping = payload;
    if (opcode !== Opcode.close) return;
    if (payload.length === 0) {
      this.stop = { code: CloseCode.normal, reason: "close frame", byPeer: true };
      return;
    }
    const code = payload.length >= 2 ? (payload[0] << 8) | payload[1] : 0;
    if (!validCloseCode(code)) this.#fail(CloseCode.protocolError, "invalid close frame");
    else this.stop = { code, reason: `close frame (${code})`, byPeer: true };
  }

  #fail(code: number, reason: string): false {
    this.stop = { code, reason, byPeer: false };
    return false;
  }
}
