/**
 * TCP and Unix-socket listeners on `Deno.listen` (faster than node:net for small packets,
 * DESIGN.md).
 *
 * @module
 */

/** An open TCP or Unix-socket listener. */
export interface TcpListener {
  /** The port it is bound to (useful with port 0); 0 for a Unix socket. */
  readonly port: number;
  /** The address it is bound to; a Unix socket's path. */
  readonly hostname: string;
  /**
   * Accepted connections until the listener is closed. A failed accept (out of descriptors:
   * EMFILE, ENFILE) does not end it: `onError` is told, and accepting is tried again after a
   * pause that grows from 50 ms to 1 s while the failures last.
   */
  accept(onError?: (error: Error) => void): AsyncIterable<Deno.Conn>;
  /** Stop accepting. */
  close(): void;
}

const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 1000;

/** Listen on `hostname:port`. */
export function listenTcp(hostname: string | undefined, port: number): TcpListener {
  const listener = Deno.listen({ hostname: hostname ?? "0.0.0.0", port, transport: "tcp" });
  const addr = listener.addr as Deno.NetAddr;
  return acceptLoop(listener, addr.hostname, addr.port, () => {});
}

/**
 * Listen on the Unix socket `path`. A socket file left there by an earlier run is replaced
 * (any other kind of file is not); the file is removed again on close.
 */
export function listenUnix(path: string): TcpListener {
  try {
    if (Deno.lstatSync(path).isSocket) Deno.removeSync(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const listener = Deno.listen({ path, transport: "unix" });
  return acceptLoop(listener, path, 0, () => {
    try {
      Deno.removeSync(path);
    } catch {
      // already gone
    }
  });
}

/** `listener`'s accept loop, surviving failed accepts; `onClose` runs once it is closed. */
function acceptLoop(
  listener: Deno.Listener,
  hostname: string,
  port: number,
  onClose: () => void,
): TcpListener {
  let closed = false;
  let wake: (() => void) | undefined;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  return {
    port,
    hostname,
    async *accept(onError) {
      let retryMs = RETRY_FIRST_MS;
      while (!closed) {
        let conn: Deno.Conn;
        try {
          conn = await listener.accept();
        } catch (error) {
          if (closed || error instanceof Deno.errors.BadResource) return;
          onError?.(error as Error);
          await pause(retryMs);
          retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
          continue;
        }
        retryMs = RETRY_FIRST_MS;
        yield conn;
      }
    },
    close() {
      closed = true;
      wake?.();
      try {
        listener.close();
      } catch {
        // already closed
      }
      onClose();
    },
  };
}

/** Whether an address is IPv6 (for Mosquitto's "Opening ipv6 listen socket" line). */
export function isIpv6(hostname: string): boolean {
  return hostname.includes(":");
}
