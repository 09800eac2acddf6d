/**
 * What reports call an MQTT listener: its name (the port it is bound to, or a Unix socket's
 * path) and its transport. `/metrics`, `/api/v1/stats` and the status page show them, and
 * counters are kept per label (metrics.ts). `$SYS` has no per-listener topics (Mosquitto 2.0
 * publishes none).
 *
 * @module
 */

import type { ListenerOptions } from "./options.ts";

/** How a listener carries MQTT: plain TCP, TLS, WebSocket (plain or over TLS), a Unix socket. */
export type Transport = "tcp" | "tls" | "ws" | "wss" | "unix";

/** An open listener as reports name it. */
export interface ListenerLabel {
  /** The port it is bound to, as text; a Unix socket's path. */
  readonly name: string;
  /** How it carries MQTT (a Unix socket is "unix", WebSocket or not). */
  readonly transport: Transport;
  /** The address it is bound to ("::", "0.0.0.0", an IP); a Unix socket's path. */
  readonly address: string;
  /** The port it is bound to; 0 for a Unix socket. */
  readonly port: number;
  /** Whether its connections start with a PROXY header (`enable_proxy_protocol`). */
  readonly proxy: boolean;
  /** Transport and name together: what its counters are kept under (made once, here). */
  readonly key: string;
}

/** The label of `listener`, bound to `address` and `port` (options may say port 0). */
export function labelListener(
  listener: ListenerOptions,
  bound: { address: string; port: number },
): ListenerLabel {
  const path = listener.socketPath;
  const name = path ?? String(bound.port);
  const transport = transportOf(listener);
  return {
    name,
    transport,
    address: path ?? bound.address,
    port: path === undefined ? bound.port : 0,
    proxy: listener.proxyProtocol !== undefined,
    key: `${transport} ${name}`,
  };
}

/** The transport of `listener`. */
function transportOf(listener: ListenerOptions): Transport {
  if (listener.socketPath !== undefined) return "unix";
  if (listener.websockets !== undefined) return listener.tls !== undefined ? "wss" : "ws";
  return listener.tls !== undefined ? "tls" : "tcp";
}
