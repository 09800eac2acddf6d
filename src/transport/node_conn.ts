/**
 * A node socket (node:net, node:tls) seen as a `Conn`: received chunks wait in a queue for
 * `read`, and past `READ_AHEAD_BYTES` of them the socket is paused until the reader catches up.
 * On a plain node:net socket that stops TCP reads. On Deno 2.9's node:tls it only stops the
 * socket's events: the TLS layer goes on reading what the peer sends (pausing the TCP socket
 * under it stops that, but its resume never starts reading again; measured: a paused server
 * socket took 570 MB in 2 s). So a TLS server side sets `maxUnreadBytes` instead: the bytes
 * are counted here, and past the bound the peer is cut off and the read fails with
 * `UnreadLimitError`.
 *
 * @module
 */

import type net from "node:net";
import { takeChunks } from "./chunks.ts";
import { type Conn, UnreadLimitError } from "./conn.ts";

/** Received bytes a Conn keeps ahead of its reader before it pauses the socket. */
export const READ_AHEAD_BYTES = 64 * 1024;

/** Options of `nodeConn`. */
export interface NodeConnOptions {
  /**
   * Instead of pausing the socket (which over Deno's node:tls does not stop its reads, and
   * only hides the bytes in the TLS socket's own buffer), hold at most this many received
   * bytes unread, then close the connection. Unset: pause.
   */
  maxUnreadBytes?: number;
}

/** `socket` as a Conn whose other end is `remoteAddr`. */
export function nodeConn(
  socket: net.Socket,
  remoteAddr: Deno.NetAddr,
  options: NodeConnOptions = {},
): Conn {
  const maxUnread = options.maxUnreadBytes ?? Infinity;
  const chunks: Uint8Array[] = [];
  let queued = 0;
  let waiting: (() => void) | undefined;
  let ended = false;
  let failure: Error | undefined;
  const wake = () => {
    const w = waiting;
    waiting = undefined;
    w?.();
  };
  socket.on("data", (data: Uint8Array) => {
    chunks.push(data);
    queued += data.length;
    if (queued > maxUnread && failure === undefined) {
      failure = new UnreadLimitError(
        `sent more than ${maxUnread} bytes that were not read yet (the limit of unread input)`,
      );
      ended = true;
      chunks.length = 0;
      socket.destroy();
    } else if (queued > READ_AHEAD_BYTES && maxUnread === Infinity) {
      socket.pause();
    }
    wake();
  });
  socket.on("end", () => {
    ended = true;
    wake();
  });
  socket.on("close", () => {
    ended = true;
    wake();
  });
  socket.on("error", (error: Error) => {
    failure = error;
    ended = true;
    wake();
  });
  return {
    remoteAddr,
    async read(buf) {
      if (failure instanceof UnreadLimitError) throw failure;
      while (chunks.length === 0) {
        if (failure !== undefined) throw failure;
        if (ended) return null;
        await new Promise<void>((resolve) => waiting = resolve);
      }
      const n = takeChunks(chunks, buf);
      queued -= n;
      if (queued <= READ_AHEAD_BYTES && socket.isPaused()) socket.resume();
      return n;
    },
    write(data) {
      if (ended) return Promise.reject(failure ?? new Error("the connection is closed"));
      const copy = data.slice();
      return new Promise((resolve, reject) => {
        socket.write(copy, (error) => error ? reject(failure ?? error) : resolve(copy.length));
      });
    },
    close() {
      ended = true;
      socket.destroy();
      wake();
    },
    closeWrite() {
      // end() flushes what is written, then half-closes (over TLS: close_notify, then FIN).
      if (ended) return Promise.resolve();
      return new Promise((resolve) => socket.end(() => resolve()));
    },
  };
}
