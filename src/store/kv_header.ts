/**
 * A segment's header, `["seg", n]`: what the segment must add up to. Format 2 (schema 2 on)
 * is bytes, so that damage to it is caught rather than misread:
 *
 * ```
 * u8      2
 * varint  chunks, bytes, entries
 * varint  for each chunk: where its first entry starts + 1, or 0 for none (SegmentLayout)
 * u32     CRC-32 of everything above, little-endian
 * ```
 *
 * Format 1 (schema 1) was a structured value `{ chunks, bytes, entries }` and its entries had
 * no checksums; such segments are still read.
 *
 * @module
 */

import { crc32 } from "./crc32.ts";
import { RecordError, RecordReader, RecordWriter } from "./record_codec.ts";

/** What a segment's header says. */
export interface SegmentHeader {
  /** 1: no checksums (schema 1); 2: checksummed entries and header. */
  format: 1 | 2;
  /** Number of chunks. */
  chunks: number;
  /** Bytes in all chunks. */
  bytes: number;
  /** Entries in the stream. */
  entries: number;
  /** Format 2: where the first entry of each chunk starts, -1 for none. */
  firstEntries?: number[];
}

const FORMAT = 2;

/** The bytes of a format 2 header. */
export function encodeHeader(
  h: { chunks: number; bytes: number; entries: number; firstEntries: readonly number[] },
): Uint8Array {
  const w = new RecordWriter(16 + h.firstEntries.length * 3);
  w.u8(FORMAT).uint(h.chunks).uint(h.bytes).uint(h.entries);
  for (const first of h.firstEntries) w.uint(first + 1);
  const body = w.finish();
  const crc = crc32(body);
  for (let i = 0; i < 4; i++) w.u8((crc >>> (8 * i)) & 0xff);
  return w.finish().slice();
}

/**
 * A header as stored, of either format. Throws `RecordError` saying why when it is not one
 * (damaged, or never a header).
 */
export function decodeHeader(value: unknown): SegmentHeader {
  if (value instanceof Uint8Array) return decodeFormat2(value);
  const h = value as Partial<SegmentHeader> | null;
  if (
    typeof h === "object" && h !== null && isCount(h.chunks) && isCount(h.bytes) &&
    isCount(h.entries)
  ) {
    return { format: 1, chunks: h.chunks, bytes: h.bytes, entries: h.entries };
  }
  throw new RecordError("not a segment header");
}

function decodeFormat2(bytes: Uint8Array): SegmentHeader {
  if (bytes.length < 5) throw new RecordError(`${bytes.length} bytes: too short`);
  const bodyEnd = bytes.length - 4;
  const stored = (bytes[bodyEnd] | bytes[bodyEnd + 1] << 8 | bytes[bodyEnd + 2] << 16 |
    bytes[bodyEnd + 3] << 24) >>> 0;
  if (crc32(bytes, 0, 0, bodyEnd) !== stored) throw new RecordError("checksum mismatch");
  const r = new RecordReader(bytes.subarray(0, bodyEnd));
  const format = r.u8("format");
  if (format !== FORMAT) throw new RecordError(`unknown header format ${format}`);
  const chunks = r.uint("chunks");
  const total = r.uint("bytes");
  const entries = r.uint("entries");
  const firstEntries: number[] = [];
  for (let i = 0; i < chunks; i++) firstEntries.push(r.uint("first entry") - 1);
  r.end("segment header");
  return { format: 2, chunks, bytes: total, entries, firstEntries };
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}
