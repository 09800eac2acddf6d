/**
 * TCP listeners on `Deno.listen` (faster than node:net for small packets, DESIGN.md).
 *
 * @module
 */

/** An open TCP listener. */
export interface TcpListener {
  /** The port it is bound to (useful with port 0). */
  readonly port: number;
  /** The address it is bound to. */
  readonly hostname: string;
  /** Accepted connections until the listener is closed. */
  accept(): AsyncIterable<Deno.TcpConn>;
  /** Stop accepting. */
  close(): void;
}

/** Listen on `hostname:port`. */
export function listenTcp(hostname: string | undefined, port: number): TcpListener {
  const listener = Deno.listen({ hostname: hostname ?? "0.0.0.0", port, transport: "tcp" });
  const addr = listener.addr as Deno.NetAddr;
  return {
    port: addr.port,
    hostname: addr.hostname,
    async *accept() {
      try {
        for await (const conn of listener) yield conn;
      } catch (error) {
        if (!(error instanceof Deno.errors.BadResource)) throw error;
      }
    },
    close() {
      try {
        listener.close();
      } catch {
        // already closed
      }
    },
  };
}

/** Whether an address is IPv6 (for Mosquitto's "Opening ipv6 listen socket" line). */
export function isIpv6(hostname: string): boolean {
  return hostname.includes(":");
}
