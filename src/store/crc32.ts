/**
 * CRC-32 (IEEE 802.3, the one of zip, gzip and PNG): what the Deno KV store checks its records
 * and segment headers with. `crc32(bytes)` of "123456789" is 0xcbf43926. Long ranges go to
 * `node:zlib`'s native code (gigabytes a second); short ones (an entry's key and lengths) are
 * cheaper with a table here than with a call out.
 *
 * @module
 */

import { crc32 as nativeCrc32 } from "node:zlib";

/** Ranges shorter than this are done with the table. */
const NATIVE_FROM = 128;

const TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/**
 * The CRC-32 of `bytes[start..end)` continued from `crc` (the CRC of what came before, 0 for
 * none), as an unsigned 32-bit number.
 */
export function crc32(bytes: Uint8Array, crc = 0, start = 0, end = bytes.length): number {
  if (end - start >= NATIVE_FROM) {
    const part = start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end);
    return nativeCrc32(part, crc) >>> 0;
  }
  let c = ~crc;
  for (let i = start; i < end; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
