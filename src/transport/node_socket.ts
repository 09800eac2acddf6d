/**
 * Connections `Deno.connect` cannot make, through Deno's `node:net` and `node:tls`: from a
 * chosen local address (`-A`) and TLS without checking the server's name (`--insecure`).
 *
 * @module
 */

import net from "node:net";
import tls from "node:tls";
import type { Conn } from "./conn.ts";
import { nodeConn } from "./node_conn.ts";

/** TLS settings of a connection. */
export interface TlsSettings {
  /** PEM CA certificates to trust (instead of the system's). */
  caCerts?: string[];
  /** PEM client certificate and key. */
  cert?: string;
  /** PEM private key of `cert`. */
  key?: string;
  /** ALPN protocol. */
  alpn?: string;
  /** The only TLS version to speak (outward through node:tls only); unset = 1.2 or newer. */
  version?: "TLSv1.3" | "TLSv1.2" | "TLSv1.1";
}

/** Where to connect, and how. */
export interface NodeTarget {
  /** Broker host. */
  host: string;
  /** Broker port. */
  port: number;
  /** Local address to connect from (`-A`). */
  localAddress?: string;
  /** TLS, if any. */
  tls?: TlsSettings;
  /** Do not check the certificate's host name (`--insecure`); the chain is still checked. */
  insecure?: boolean;
}

/** Open a connection to `target` as a Conn. */
export function openNodeSocket(target: NodeTarget): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    const raw = net.connect({
      host: target.host,
      port: target.port,
      localAddress: target.localAddress,
    });
    const socket: net.Socket = target.tls === undefined ? raw : tls.connect({
      socket: raw,
      ca: target.tls.caCerts,
      cert: target.tls.cert,
      key: target.tls.key,
      ALPNProtocols: target.tls.alpn === undefined ? undefined : [target.tls.alpn],
      minVersion: target.tls.version,
      maxVersion: target.tls.version,
      host: target.host, // the name checked against the certificate (else "localhost")
      servername: net.isIP(target.host) ? undefined : target.host,
      // Named only when insecure: node:tls refuses an explicit undefined here.
      ...(target.insecure ? { checkServerIdentity: () => undefined } : {}),
    });
    socket.once("error", onError);
    socket.once(target.tls === undefined ? "connect" : "secureConnect", () => {
      socket.off("error", onError);
      socket.setNoDelay(true);
      resolve(nodeConn(socket, {
        transport: "tcp",
        hostname: socket.remoteAddress ?? target.host,
        port: socket.remotePort ?? target.port,
      }));
    });
  });
}
