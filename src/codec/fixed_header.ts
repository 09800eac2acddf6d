/**
 * The fixed header (MQTT 5.0 §2.1): the first byte's type and flags, the remaining length, and
 * starting an encoded packet of a known size.
 *
 * @module
 */

import { malformed } from "./errors.ts";
import { ByteWriter, MAX_VARINT, varintSize } from "./writer.ts";

/**
 * The flags `decodePacket` passes for an MQTT 3.1 packet other than PUBLISH: 3.1 fixes none of
 * those bits (its PUBREL, SUBSCRIBE and UNSUBSCRIBE only "use QoS 1"), so none is checked, as
 * Mosquitto does not.
 */
export const UNCHECKED_FLAGS = -1;

/**
 * Check that the flag nibble of a packet other than PUBLISH is the one the specification
 * fixes: 0b0010 for PUBREL, SUBSCRIBE and UNSUBSCRIBE, 0 for the rest [MQTT-2.1.3-1]; nothing
 * for `UNCHECKED_FLAGS`.
 */
export function expectFlags(flags: number, required: number, name: string): void {
  if (flags !== required && flags !== UNCHECKED_FLAGS) {
    throw malformed(
      `${name} has reserved flags 0x${flags.toString(16)}, must be 0x${required.toString(16)}` +
        " [MQTT-2.1.3-1]",
    );
  }
}

/** Packets up to this size are cut from a shared slab instead of allocated one by one. */
const POOLED_MAX = 4 * 1024;
const SLAB_SIZE = 64 * 1024;
let slab = new Uint8Array(SLAB_SIZE);
let slabUsed = 0;

/**
 * A zeroed buffer of `size` bytes. Small ones are 8-byte-aligned slices of a shared slab (a
 * fresh small Uint8Array costs about 20 times more than a view in Deno); a slab is never
 * reused, so a kept packet only keeps its slab alive.
 */
function allocate(size: number): Uint8Array {
  if (size > POOLED_MAX) return new Uint8Array(size);
  if (slabUsed + size > SLAB_SIZE) {
    slab = new Uint8Array(SLAB_SIZE);
    slabUsed = 0;
  }
  const buf = slab.subarray(slabUsed, slabUsed + size);
  slabUsed = (slabUsed + size + 7) & ~7;
  return buf;
}

/**
 * Allocate a packet of `remaining` bytes after the fixed header, write the header and return a
 * writer positioned at the variable header.
 */
export function startPacket(firstByte: number, remaining: number): ByteWriter {
  if (remaining > MAX_VARINT) {
    throw new RangeError(`packet body of ${remaining} bytes exceeds the MQTT maximum`);
  }
  const w = new ByteWriter(allocate(1 + varintSize(remaining) + remaining));
  w.u8(firstByte);
  w.varint(remaining);
  return w;
}

/** Throw unless a writer filled its buffer exactly (a sizing bug otherwise). */
export function finishPacket(w: ByteWriter): Uint8Array {
  if (w.pos !== w.buf.length) {
    throw new Error(`encoder wrote ${w.pos} of ${w.buf.length} bytes`);
  }
  return w.buf;
}
