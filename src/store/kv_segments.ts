/**
 * The bytes of one segment (one commit of the Deno KV store): a stream of entries, each
 *
 * ```
 * varint  key length in bytes
 * bytes   key, UTF-8
 * varint  value length + 1, or 0 for a delete
 * u32     CRC-32 of the three fields above, little-endian     (format 2 on)
 * bytes   value
 * u32     CRC-32 of the value, little-endian (not for a delete) (format 2 on)
 * ```
 *
 * (varints are unsigned LEB128, at most 8 bytes). Format 1 (schema 1) had no checksums. The
 * stream is cut into chunks of at most a given size, whatever the entry boundaries: a value
 * may span many chunks. The writer notes where the first entry starting in each chunk begins,
 * so that a reader can pick the stream up again after damaged bytes (LevelDB's log does the
 * same with its blocks). The writer copies what it is given, so callers may reuse their
 * buffers; the reader copies what it returns, so records never pin a whole chunk in memory.
 *
 * Reading format 2 keeps what is intact. An entry whose value fails its checksum (or is cut
 * short) is left out and named: its key and lengths passed theirs, so the next entry is where
 * they say. Bytes
 * whose key or lengths fail are skipped up to the next entry start the writer noted, and the
 * entries they held are lost unnamed (the segment's header says how many entries it has).
 *
 * @module
 */

import { crc32 } from "./crc32.ts";

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
  /** Format 2: the key of the entry whose value could not be read, when its key checked. */
  key?: string;

  /** `message` says what was wrong in chunk number `chunk`. */
  constructor(message: string, chunk: number) {
    super(message);
    this.name = "SegmentFormatError";
    this.chunk = chunk;
  }
}

/** What the writer says about its stream, for the segment's header. */
export interface SegmentLayout {
  /** The chunks. */
  chunks: Uint8Array[];
  /**
   * For each chunk, where the first entry starting in it begins (an offset in the chunk), or
   * -1 when every byte of it belongs to an entry started before.
   */
  firstEntries: number[];
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
  readonly #firstEntries: number[] = [];

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
    this.#room();
    const startChunk = this.#chunks.length;
    const startPos = this.#pos;
    while (this.#firstEntries.length < startChunk) this.#firstEntries.push(-1);
    if (this.#firstEntries.length === startChunk) this.#firstEntries.push(startPos);
    const keyLength = isAscii(key) ? this.#writeAscii(key) : this.#writeText(key);
    this.#varint(value === null ? 0 : value.length + 1);
    this.#u32(this.#crcSince(startChunk, startPos));
    if (value !== null) {
      this.#write(value);
      this.#u32(crc32(value));
    }
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

  /** The chunks written (the last one cut to its length), and where entries start in them. */
  finish(): SegmentLayout {
    if (this.#pos > 0) this.#chunks.push(this.#chunk.subarray(0, this.#pos));
    this.#pos = 0;
    while (this.#firstEntries.length < this.#chunks.length) this.#firstEntries.push(-1);
    return { chunks: this.#chunks, firstEntries: this.#firstEntries };
  }

  /** The CRC of the bytes written since `startPos` in chunk number `startChunk`. */
  #crcSince(startChunk: number, startPos: number): number {
    let crc = 0;
    for (let i = startChunk; i < this.#chunks.length; i++) {
      crc = crc32(this.#chunks[i], crc, i === startChunk ? startPos : 0);
    }
    const from = startChunk === this.#chunks.length ? startPos : 0;
    return crc32(this.#chunk, crc, from, this.#pos);
  }

  /** Four bytes, little-endian. */
  #u32(n: number): void {
    for (let i = 0; i < 4; i++) {
      this.#room();
      this.#chunk[this.#pos++] = (n >>> (8 * i)) & 0xff;
    }
    this.#bytes += 4;
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
 * Every entry of the format 1 segment stored as `chunks` (no checksums), in order. Throws
 * `SegmentFormatError` when the bytes are not a whole number of well-formed entries.
 */
export function readSegment(chunks: readonly Uint8Array[]): SegmentEntry[] {
  const reader = new ChunkReader(chunks);
  const entries: SegmentEntry[] = [];
  while (!reader.done) entries.push(readFraming(reader));
  return entries;
}

/** A damaged stretch of a format 2 segment. */
export interface SegmentDamage {
  /** The chunk where it starts. */
  chunk: number;
  /** What was wrong. */
  why: string;
  /** The key of the one entry lost there, when its key and lengths checked (else unnamed). */
  key?: string;
}

/** What reading a format 2 segment found. */
export interface CheckedSegment {
  /** The entries that passed their checksums, in order. */
  entries: SegmentEntry[];
  /** Where bytes were damaged, in order. */
  damage: SegmentDamage[];
}

/**
 * The entries of the format 2 segment stored as `chunks` that pass their checksums, and where
 * the others were. `firstEntries` (from the header, see `SegmentLayout`) says where to pick
 * the stream up after bytes that cannot be framed; without it, reading stops there. A missing
 * chunk may be passed as an empty one: the entries it held are lost, the others are not.
 */
export function readCheckedSegment(
  chunks: readonly Uint8Array[],
  firstEntries: readonly number[] | undefined,
): CheckedSegment {
  const restarts: number[] = [];
  let at = 0;
  for (let i = 0; i < chunks.length; i++) {
    const first = firstEntries?.[i] ?? -1;
    if (first >= 0 && first < chunks[i].length) restarts.push(at + first);
    at += chunks[i].length;
  }
  const reader = new ChunkReader(chunks);
  const entries: SegmentEntry[] = [];
  const damage: SegmentDamage[] = [];
  while (!reader.done) {
    const start = reader.offset;
    const chunk = reader.chunk;
    try {
      const entry = readCheckedEntry(reader);
      if (entry.ok) entries.push(entry.entry);
      else damage.push({ chunk, why: "value checksum mismatch", key: entry.entry.key });
      continue;
    } catch (e) {
      if (!(e instanceof SegmentFormatError)) throw e;
      damage.push({ chunk, why: e.message, key: e.key });
    }
    const next = restarts.find((offset) => offset > start);
    if (next === undefined) break;
    reader.seek(next);
  }
  return { entries, damage };
}

/**
 * The next entry of a format 2 stream, and whether its value checks. Throws
 * `SegmentFormatError` when its key or lengths do not (where it ends is unknown), or when its
 * value is cut short (the error then has the key).
 */
function readCheckedEntry(reader: ChunkReader): { entry: SegmentEntry; ok: boolean } {
  const mark = reader.mark();
  const keyLength = reader.varint("key length");
  const key = reader.text(keyLength);
  const valueLength = reader.varint("value length");
  if (reader.crcSince(mark) !== reader.u32("checksum")) {
    throw reader.error("key or length checksum mismatch");
  }
  try {
    const value = valueLength === 0 ? null : reader.bytes(valueLength - 1);
    const ok = value === null || crc32(value) === reader.u32("checksum");
    return { entry: { key, value, size: keyLength + (value?.length ?? 0) }, ok };
  } catch (e) {
    if (e instanceof SegmentFormatError) e.key = key;
    throw e;
  }
}

/** Key and value of the next format 1 entry. */
function readFraming(reader: ChunkReader): SegmentEntry {
  const keyLength = reader.varint("key length");
  const key = reader.text(keyLength);
  const valueLength = reader.varint("value length");
  const value = valueLength === 0 ? null : reader.bytes(valueLength - 1);
  return { key, value, size: keyLength + (value?.length ?? 0) };
}

/** Keys up to this long, all ASCII, are decoded without TextDecoder (much faster). */
const SHORT_KEY = 64;

/** Reads a stream stored as consecutive chunks. */
class ChunkReader {
  readonly #chunks: readonly Uint8Array[];
  readonly #total: number;
  #chunk = 0;
  #pos = 0;
  #left: number;

  constructor(chunks: readonly Uint8Array[]) {
    this.#chunks = chunks;
    this.#total = this.#left = chunks.reduce((sum, c) => sum + c.length, 0);
    this.#skipEmpty();
  }

  get done(): boolean {
    return this.#left === 0;
  }

  /** Bytes read since the start of the stream. */
  get offset(): number {
    return this.#total - this.#left;
  }

  /** The chunk being read. */
  get chunk(): number {
    return Math.min(this.#chunk, this.#chunks.length - 1);
  }

  /** Go on reading at `offset` bytes from the start of the stream. */
  seek(offset: number): void {
    this.#chunk = 0;
    this.#pos = 0;
    this.#left = this.#total;
    this.#skipEmpty();
    let skip = offset;
    while (skip > 0) {
      const n = Math.min(skip, this.#chunks[this.#chunk].length - this.#pos);
      this.#advance(n);
      skip -= n;
    }
  }

  /** Where reading stands, for `crcSince`. */
  mark(): { chunk: number; pos: number } {
    return { chunk: this.#chunk, pos: this.#pos };
  }

  /** The CRC-32 of the bytes read since `mark`. */
  crcSince(mark: { chunk: number; pos: number }): number {
    let crc = 0;
    for (let i = mark.chunk; i < this.#chunk; i++) {
      crc = crc32(this.#chunks[i], crc, i === mark.chunk ? mark.pos : 0);
    }
    if (this.#chunk >= this.#chunks.length) return crc;
    const from = mark.chunk === this.#chunk ? mark.pos : 0;
    return crc32(this.#chunks[this.#chunk], crc, from, this.#pos);
  }

  /** The next byte; `what` names it if the stream ends first. */
  byte(what: string): number {
    if (this.#left === 0) throw this.error(`${what} cut short`);
    const b = this.#chunks[this.#chunk][this.#pos];
    this.#advance(1);
    return b;
  }

  /** The next four bytes as an unsigned little-endian number. */
  u32(what: string): number {
    let n = 0;
    for (let i = 0; i < 4; i++) n |= this.byte(what) << (8 * i);
    return n >>> 0;
  }

  varint(what: string): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      const b = this.byte(what);
      n += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return n;
      scale *= 128;
    }
    throw this.error(`${what} is not a varint`);
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
    if (length > this.#left) throw this.error(`an entry runs past the end (${length} bytes)`);
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

  /** A `SegmentFormatError` at the chunk being read. */
  error(message: string): SegmentFormatError {
    return new SegmentFormatError(message, Math.min(this.#chunk, this.#chunks.length - 1));
  }
}
