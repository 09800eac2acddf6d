/**
 * The byte encoding of stored records: unsigned integers as LEB128 varints (up to 2^53),
 * strings and byte strings with a varint length. Reading checks every bound and throws
 * `RecordError`, so a damaged record is reported, never half-read.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** A record whose bytes do not decode. */
export class RecordError extends Error {
  override name = "RecordError";
}

/** Appends to a buffer that grows as needed. */
export class RecordWriter {
  #buf: Uint8Array;
  #pos = 0;

  /** A writer whose first buffer holds `sizeHint` bytes. */
  constructor(sizeHint = 64) {
    this.#buf = new Uint8Array(Math.max(16, sizeHint));
  }

  #room(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#pos + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.#buf.subarray(0, this.#pos));
    this.#buf = grown;
  }

  /** One byte. */
  u8(value: number): this {
    this.#room(1);
    this.#buf[this.#pos++] = value;
    return this;
  }

  /** An unsigned integer below 2^53. */
  uint(value: number): this {
    this.#room(8);
    while (value >= 0x80) {
      this.#buf[this.#pos++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.#buf[this.#pos++] = value;
    return this;
  }

  /** A byte string with its length. */
  bytes(value: Uint8Array): this {
    this.uint(value.length);
    this.#room(value.length);
    this.#buf.set(value, this.#pos);
    this.#pos += value.length;
    return this;
  }

  /** A string (UTF-8) with its length. */
  string(value: string): this {
    this.#room(value.length * 3 + 8);
    // Length first: reserve the varint for the worst case, then move the bytes if shorter.
    const lengthAt = this.#pos;
    const start = lengthAt + varintLength(value.length * 3);
    const { written } = encoder.encodeInto(value, this.#buf.subarray(start));
    this.uint(written);
    if (this.#pos !== start) this.#buf.copyWithin(this.#pos, start, start + written);
    this.#pos += written;
    return this;
  }

  /** Raw bytes without a length (an encoding made elsewhere). */
  raw(value: Uint8Array): this {
    this.#room(value.length);
    this.#buf.set(value, this.#pos);
    this.#pos += value.length;
    return this;
  }

  /** The bytes written. */
  finish(): Uint8Array {
    return this.#buf.subarray(0, this.#pos);
  }
}

function varintLength(value: number): number {
  let n = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    n++;
  }
  return n;
}

/** Reads what `RecordWriter` wrote. */
export class RecordReader {
  readonly #buf: Uint8Array;
  #pos = 0;

  /** Read `buf` from its start. */
  constructor(buf: Uint8Array) {
    this.#buf = buf;
  }

  /** Whether everything has been read. */
  get atEnd(): boolean {
    return this.#pos >= this.#buf.length;
  }

  /** One byte. */
  u8(what: string): number {
    if (this.#pos >= this.#buf.length) throw new RecordError(`ends before ${what}`);
    return this.#buf[this.#pos++];
  }

  /** An unsigned integer. */
  uint(what: string): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const byte = this.u8(what);
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return value;
      scale *= 0x80;
    }
    throw new RecordError(`${what} is not a valid integer`);
  }

  /** A byte string (a view into the record). */
  bytes(what: string): Uint8Array {
    const length = this.uint(`length of ${what}`);
    const end = this.#pos + length;
    if (end > this.#buf.length) throw new RecordError(`ends inside ${what}`);
    const value = this.#buf.subarray(this.#pos, end);
    this.#pos = end;
    return value;
  }

  /** A string. */
  string(what: string): string {
    const bytes = this.bytes(what);
    try {
      return decoder.decode(bytes);
    } catch {
      throw new RecordError(`${what} is not UTF-8`);
    }
  }

  /** Everything left. */
  rest(): Uint8Array {
    const value = this.#buf.subarray(this.#pos);
    this.#pos = this.#buf.length;
    return value;
  }

  /** Throw unless everything was read. */
  end(what: string): void {
    if (!this.atEnd) {
      throw new RecordError(`${what} has ${this.#buf.length - this.#pos} extra bytes`);
    }
  }
}
