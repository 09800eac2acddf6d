/**
 * The one socket seam: what the broker's connections and the MQTT client read from and write
 * to. A `Deno.Conn` (TCP, TLS, Unix) is one as it is; WebSocket and node sockets
 * (`dial.ts`, `node_socket.ts`) and in-memory pairs (`memory_pair.ts`) are adapted to it.
 *
 * @module
 */

/**
 * A read refused because the peer sent more than its connection may hold unread while the
 * reader is not reading (over Deno's node:tls, which cannot stop reading the socket); the
 * connection is closed.
 */
export class UnreadLimitError extends Error {}

/** A connected byte stream. */
export interface Conn {
  /** Read into `buf`; resolves to the number of bytes read, or null at end of stream. */
  read(buf: Uint8Array): Promise<number | null>;
  /** Write some of `data`; resolves to the number of bytes written. */
  write(data: Uint8Array): Promise<number>;
  /** Close; a pending read then resolves to null (or rejects) and writes throw. */
  close(): void;
  /**
   * Close the write side only (a TCP FIN) while reads go on; absent where the transport cannot
   * (then the broker closes without lingering).
   */
  closeWrite?(): Promise<void>;
  /** The address of the other end. */
  readonly remoteAddr: Deno.Addr;
}
