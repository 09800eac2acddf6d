/**
 * Received bytes waiting to be read, as the sockets that are not a `Deno.Conn` keep them (a
 * WebSocket, a node socket, the in-memory pair): a queue of chunks read from the front.
 *
 * @module
 */

/**
 * Move as many bytes as fit in `buf` from the front of `chunks` (the first chunk cut where
 * `buf` ends); returns how many were moved.
 */
export function takeChunks(chunks: Uint8Array[], buf: Uint8Array): number {
  let n = 0;
  while (n < buf.length && chunks.length > 0) {
    const chunk = chunks[0];
    const part = Math.min(buf.length - n, chunk.length);
    buf.set(chunk.subarray(0, part), n);
    n += part;
    if (part === chunk.length) chunks.shift();
    else chunks[0] = chunk.subarray(part);
  }
  return n;
}
