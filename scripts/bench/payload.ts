/**
 * The header every benchmark payload starts with, so that a subscriber can tell exactly which
 * message it got and when it was sent (the same fields as mqttbench's, little-endian):
 *
 * ```
 * offset 0  magic      u32  "MDG1"
 * offset 4  publisher  u32  index of the publisher in the run
 * offset 8  sequence   u64  0, 1, 2 ... per publisher
 * offset 16 sent at    u64  nanoseconds on the generator's clock (scheduled time at a fixed rate)
 * ```
 *
 * Read and written byte by byte: no DataView or BigInt per message.
 *
 * @module
 */

/** Bytes of the header; payloads are at least this long. */
export const PAYLOAD_HEADER_BYTES = 24;

/** "MDG1" read as a little-endian u32. */
export const PAYLOAD_MAGIC = 0x3147444d;

const TWO_32 = 0x1_0000_0000;

function putU32(buf: Uint8Array, at: number, value: number): void {
  buf[at] = value;
  buf[at + 1] = value >>> 8;
  buf[at + 2] = value >>> 16;
  buf[at + 3] = value >>> 24;
}

function getU32(buf: Uint8Array, at: number): number {
  return (buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16) | (buf[at + 3] << 24)) >>> 0;
}

/** Write the header at `buf[at..at+24)`. `sentAtNs` is an integer. */
export function writePayloadHeader(
  buf: Uint8Array,
  fields: { at: number; publisher: number; sequence: number; sentAtNs: number },
): void {
  const at = fields.at;
  putU32(buf, at, PAYLOAD_MAGIC);
  putU32(buf, at + 4, fields.publisher);
  putU32(buf, at + 8, fields.sequence % TWO_32);
  putU32(buf, at + 12, Math.floor(fields.sequence / TWO_32));
  putU32(buf, at + 16, fields.sentAtNs % TWO_32);
  putU32(buf, at + 20, Math.floor(fields.sentAtNs / TWO_32));
}

/** The decoded header of one payload (a reusable record: `readPayloadHeader` fills it). */
export interface PayloadHeader {
  /** Index of the publisher. */
  publisher: number;
  /** Sequence number within that publisher. */
  sequence: number;
  /** Send time in nanoseconds on the generator's clock. */
  sentAtNs: number;
}

/** Fill `out` from `payload`; false when it is too short or not ours (wrong magic). */
export function readPayloadHeader(payload: Uint8Array, out: PayloadHeader): boolean {
  if (payload.length < PAYLOAD_HEADER_BYTES || getU32(payload, 0) !== PAYLOAD_MAGIC) return false;
  out.publisher = getU32(payload, 4);
  out.sequence = getU32(payload, 8) + getU32(payload, 12) * TWO_32;
  out.sentAtNs = getU32(payload, 16) + getU32(payload, 20) * TWO_32;
  return true;
}

/** The generator's clock in integer nanoseconds (`performance.now()`, one process). */
export function nowNs(): number {
  return Math.round(performance.now() * 1e6);
}
