/**
 * The bytes of one segment (one commit of the Deno KV store): a stream of entries, each
 *
 * ```
 * varint  key length in bytes
 * bytes   key, UTF-8
 * varint  value length + 1, or 0 for a delete
 * bytes   value
 * ```
 *
 * (varints are unsigned LEB128, at most 8 bytes). The stream is cut into chunks of at most a
 * given size, whatever the entry boundaries: a value may span many chunks. The writer copies
 * what it is given, so callers may reuse their buffers; the reader copies what it returns, so
 * records never pin a whole chunk in memory.
 *
 * @module
 */

/** One entry of a segment: a record's new bytes, or null for a delete. */
export interface SegmentEntry {
  /** The record's key. */
  key: string;
  /** Its new value, or null when the record is deleted. */
  value: Uint8Array | null;
  /** Bytes of key (UTF-8) and value: what the record counts for in `liveBytes`. */
  size: number;
}

/** The stream of a segment could not be read; `chunk` is where reading stopped. */
export class SegmentFormatError extends Error {
  /** Index of the chunk where the bytes went wrong. */
  readonly chunk: number;

  /** `message` says what was wrong in chunk number `chunk`. */
  constructor(message: string, chunk: number) {
    super(message);
    this.name = "SegmentFormatError";
    this.chunk = chunk;
  }
}

/** A varint never has more than this many bytes (56 bits, past any safe length). */
const MAX_VARINT_BYTES = 8;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}

/** Encodes entries into chunks of at most `chunkBytes` bytes. */
export class SegmentWriter {
  readonly #chunkBytes: number;
  readonly #chunks: Uint8Array[] = [];
  #chunk: Uint8Array = new Uint8Array(0);
  #pos = 0;
  #bytes = 0;
  #entries = 0;

  /** A writer cutting its stream into chunks of `chunkBytes`. */
  constructor(chunkBytes: number) {
    this.#chunkBytes = chunkBytes;
  }

  /** Bytes written so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Entries written so far. */
  get entries(): number {
    return this.#entries;
  }

  /**
   * Append a put of `value` (copied) or, for null, a delete of `key`. Returns the record's
   * size (key and value bytes). Throws a TypeError for a key that is not well-formed UTF-16,
   * which could not come back from UTF-8 as the same string.
   */
  add(key: string, value: Uint8Array | null): number {
    const keyLength = isAscii(key) ? this.#writeAscii(key) : this.#writeText(key);
    this.#varint(value === null ? 0 : value.length + 1);
    if (value !== null) this.#write(value);
    this.#entries++;
    return keyLength + (value?.length ?? 0);
  }

  /** Length and bytes of an ASCII key, one char code a byte (the broker's keys: no encoder). */
  #writeAscii(key: string): number {
    this.#varint(key.length);
    for (let i = 0; i < key.length;) {
      const n = Math.min(this.#room(), key.length - i);
      const chunk = this.#chunk;
      let pos = this.#pos;
      for (const end = i + n; i < end; i++) chunk[pos++] = key.charCodeAt(i);
      this.#pos = pos;
    }
    this.#bytes += key.length;
    return key.length;
  }

  #writeText(key: string): number {
    if (!key.isWellFormed()) throw new TypeError(`key ${JSON.stringify(key)} is not well-formed`);
    const keyBytes = encoder.encode(key);
    this.#varint(keyBytes.length);
    this.#write(keyBytes);
    return keyBytes.length;
  }

  /** The chunks written, the last one cut to its length. The writer is done with. */
  finish(): Uint8Array[] {
    if (this.#pos > 0) this.#chunks.push(this.#chunk.subarray(0, this.#pos));
    this.#pos = 0;
    return this.#chunks;
  }

  #room(): number {
    if (this.#pos === this.#chunk.length) {
      if (this.#pos > 0) this.#chunks.push(this.#chunk);
      this.#chunk = new Uint8Array(this.#chunkBytes);
      this.#pos = 0;
    }
    return this.#chunk.length - this.#pos;
  }

  #varint(n: number): void {
    while (true) {
      this.#room();
      const low = n % 128;
      n = Math.floor(n / 128);
      this.#chunk[this.#pos++] = n > 0 ? low | 0x80 : low;
      this.#bytes++;
      if (n === 0) return;
    }
  }

  #write(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) {
      const n = Math.min(this.#room(), bytes.length - done);
      this.#chunk.set(bytes.subarray(done, done + n), this.#pos);
      this.#pos += n;
      done += n;
    }
    this.#bytes += bytes.length;
  }
}

/**
 * Every entry of the segment stored as `chunks`, in order. Throws `SegmentFormatError`
 * when the bytes are not a whole number of well-formed entries.
 */
export function readSegment(chunks: readonly Uint8Array[]): SegmentEntry[] {
  const reader = new ChunkReader(chunks);
  const entries: SegmentEntry[] = [];
  while (!reader.done) {
    const keyLength = reader.varint("key length");
    const key = reader.text(keyLength);
    const valueLength = reader.varint("value length");
    const value = valueLength === 0 ? null : reader.bytes(valueLength - 1);
    entries.push({ key, value, size: keyLength + (value?.length ?? 0) });
  }
  return entries;
}

/** Keys up to this long, all ASCII, are decoded without TextDecoder (much faster). */
const SHORT_KEY = 64;

/** Reads a stream stored as consecutive chunks. */
class ChunkReader {
  readonly #chunks: readonly Uint8Array[];
  #chunk = 0;
  #pos = 0;
  #left: number;

  constructor(chunks: readonly Uint8Array[]) {
    this.#chunks = chunks;
    this.#left = chunks.reduce((sum, c) => sum + c.length, 0);
    this.#skipEmpty();
  }

  get done(): boolean {
    return this.#left === 0;
  }

  varint(what: string): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (this.#left === 0) throw this.#error(`${what} cut short`);
      const b = this.#chunks[this.#chunk][this.#pos];
      this.#advance(1);
      n += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return n;
      scale *= 128;
    }
    throw this.#error(`${what} is not a varint`);
  }

  text(length: number): string {
    const at = this.#chunk;
    const ascii = this.#ascii(length);
    if (ascii !== undefined) return ascii;
    try {
      return decoder.decode(this.#take(length, false));
    } catch (e) {
      if (e instanceof SegmentFormatError) throw e;
      throw new SegmentFormatError("key is not UTF-8", at);
    }
  }

  bytes(length: number): Uint8Array {
    return this.#take(length, true);
  }

  /** The next `length` bytes as a string, if they are few, ASCII and in one chunk. */
  #ascii(length: number): string | undefined {
    if (length > SHORT_KEY || length > this.#left) return undefined;
    const chunk = this.#chunks[this.#chunk];
    const end = this.#pos + length;
    if (end > (chunk?.length ?? 0)) return undefined;
    let text = "";
    for (let i = this.#pos; i < end; i++) {
      if (chunk[i] >= 0x80) return undefined;
      text += String.fromCharCode(chunk[i]);
    }
    if (length > 0) this.#advance(length);
    return text;
  }

  /** The next `length` bytes; a copy when `copy`, else a view when they lie in one chunk. */
  #take(length: number, copy: boolean): Uint8Array {
    if (length > this.#left) throw this.#error(`an entry runs past the end (${length} bytes)`);
    if (length === 0) return new Uint8Array(0);
    const chunk = this.#chunks[this.#chunk];
    const end = this.#pos + length;
    if (end <= chunk.length) {
      const part = copy ? chunk.slice(this.#pos, end) : chunk.subarray(this.#pos, end);
      this.#advance(length);
      return part;
    }
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const current = this.#chunks[this.#chunk];
      const n = Math.min(current.length - this.#pos, length - done);
      out.set(current.subarray(this.#pos, this.#pos + n), done);
      this.#advance(n);
      done += n;
    }
    return out;
  }

  #advance(n: number): void {
    this.#pos += n;
    this.#left -= n;
    if (this.#pos === this.#chunks[this.#chunk].length) {
      this.#chunk++;
      this.#pos = 0;
      this.#skipEmpty();
    }
  }

  #skipEmpty(): void {
    while (this.#chunk < this.#chunks.length && this.#chunks[this.#chunk].length === 0) {
      this.#chunk++;
    }
  }

  #error(message: string): SegmentFormatError {
    return new SegmentFormatError(message, Math.min(this.#chunk, this.#chunks.length - 1));
  }
}
