/**
 * The MQTT listeners: they open, accept, and admit a socket only within the limits:
 * `max_connection_rate`, the listener's `max_connections`, and the connection limit of the
 * whole process (the descriptor limit read at start, logged once, with a warning for a
 * `max_connections` that could never be reached under it).
 *
 * @module
 */

import type { Logger } from "../log/logger.ts";
import {
  ConnectionGate,
  descriptorGateLimit,
  readDescriptorLimit,
} from "../transport/connection_gate.ts";
import type { Conn } from "../transport/conn.ts";
import { isIpv6, listenTcp, type TcpListener } from "../transport/tcp.ts";
import { ConnectionRate } from "./connection_rate.ts";
import { BEFORE_CONNECT, type Counters, type Metrics } from "./metrics.ts";
import type { BrokerOptions, ListenerOptions } from "./options.ts";

/**
 * The gate every listener (MQTT and HTTP) admits its connections through, for a process whose
 * descriptor limit is `descriptorLimit` (read from the system when undefined).
 */
function openConnectionGate(
  log: Logger,
  listeners: readonly ListenerOptions[],
  descriptorLimit: number | undefined = readDescriptorLimit(),
): ConnectionGate {
  const gate = new ConnectionGate(descriptorGateLimit(descriptorLimit), {
    paused: (line) => log.warning(line),
    resumed: (line) => log.notice(line),
  });
  if (descriptorLimit === undefined) {
    log.info("Descriptor limit unknown: connections are limited by max_connections only.");
    return gate;
  }
  log.info(
    `Descriptor limit ${descriptorLimit}: at most ${gate.capacity} connections at once, ` +
      "all listeners together.",
  );
  for (const l of listeners) {
    const max = l.maxConnections ?? -1;
    if (max > gate.capacity) {
      log.warning(
        `Warning: max_connections ${max} on port ${l.port} is more than the descriptor limit ` +
          `allows: at most ${gate.capacity} connections at once (raise it with ulimit -n or ` +
          "LimitNOFILE).",
      );
    }
  }
  return gate;
}

/** Where an admitted connection came from, as its `Connection` is told. */
export interface Peer {
  /** Address of the peer without the port. */
  address: string;
  /** Port of the peer. */
  port: number;
  /** The listener it connected through. */
  listener: ListenerOptions;
  /** The "before CONNECT" counters of that listener's port. */
  counters: Counters;
}

/** What the listeners need of the broker. */
export interface ListenersContext {
  /** Options in force (read as they are when used: a reload may change them). */
  readonly options: BrokerOptions;
  /** Counters. */
  readonly metrics: Metrics;
  /** The current time in ms. */
  now(): number;
  /** A socket passed every limit: serve it. */
  admitted(conn: Conn, peer: Peer): void;
}

/**
 * The MQTT listeners: opening them, their accept loops, and what a socket must pass before it
 * is served: `max_connection_rate`, the listener's `max_connections`, and the descriptor gate
 * shared with the HTTP listeners.
 */
export class Listeners {
  /**
   * Connections open through every listener (HTTP ones included) against what the descriptor
   * limit allows; replaced by `open`.
   */
  gate: ConnectionGate = new ConnectionGate(descriptorGateLimit(undefined), {
    paused: () => {},
    resumed: () => {},
  });
  #context: ListenersContext;
  #open: TcpListener[] = [];
  #acceptLoops: Promise<void>[] = [];
  /** New connections per address this second, for `max_connection_rate`. */
  #connectionRate = new ConnectionRate();
  /** Open sockets per listener, for `max_connections`. */
  #openSockets = new Map<ListenerOptions, number>();
  /** The port each listener is bound to (options may say 0); kept after `close`. */
  #boundPorts = new Map<ListenerOptions, number>();

  /** Listeners for the broker of `context`, not open yet. */
  constructor(context: ListenersContext) {
    this.#context = context;
  }

  /** Ports the open listeners are bound to, in listener order. */
  get ports(): number[] {
    return this.#open.map((l) => l.port);
  }

  /** The port `listener` was bound to, if it was opened. */
  boundPort(listener: ListenerOptions): number | undefined {
    return this.#boundPorts.get(listener);
  }

  /**
   * Open every listener of the options and start accepting. A listener that cannot open
   * throws (after closing those already open), unless it is optional: then a warning says why
   * it is missing.
   */
  open(): void {
    const { options } = this.#context;
    this.gate = openConnectionGate(options.logger, options.listeners);
    for (const l of options.listeners) {
      const opened = this.#openOne(l);
      if (opened === undefined) continue;
      this.#open.push(opened);
      this.#openSockets.set(l, 0);
      this.#boundPorts.set(l, opened.port);
      this.#acceptLoops.push(this.#acceptLoop(opened, l));
    }
  }

  /** Stop accepting: close the listeners and wait for their accept loops to end. */
  async close(): Promise<void> {
    for (const l of this.#open) l.close();
    await Promise.all(this.#acceptLoops);
    this.#openSockets.clear();
    this.#open = [];
    this.#acceptLoops = [];
  }

  /** A socket admitted through `listener` has closed: it no longer counts against the limits. */
  released(listener: ListenerOptions): void {
    this.gate.release();
    const open = this.#openSockets.get(listener);
    if (open !== undefined) this.#openSockets.set(listener, open - 1);
  }

  /**
   * Open one listener. Without an address it binds every address: IPv6 and IPv4 on one
   * dual-stack socket, or IPv4 alone where the host has no IPv6 (or `socket_domain` says).
   */
  #openOne(l: ListenerOptions): TcpListener | undefined {
    const log = this.#context.options.logger;
    const anyAddress = l.host === undefined;
    const hosts = !anyAddress
      ? [l.host!]
      : l.socketDomain === "ipv4"
      ? ["0.0.0.0"]
      : l.socketDomain === "ipv6"
      ? ["::"]
      : ["::", "0.0.0.0"];
    const families = [...new Set(hosts.map((h) => (isIpv6(h) ? "ipv6" : "ipv4")))].sort();
    for (const family of families) {
      log.info(`Opening ${family} listen socket on port ${l.port}.`);
    }
    let failure = "";
    for (const host of hosts) {
      try {
        return listenTcp(host, l.port);
      } catch (error) {
        failure = `${anyAddress ? "*" : host}:${l.port}: ${(error as Error).message}`;
        if (host === "::" && hosts.length > 1) continue; // no IPv6 here: IPv4 alone
      }
    }
    if (l.optional) {
      log.warning(`Warning: cannot open ${families.join("/")} listen socket ${failure}`);
      return undefined;
    }
    for (const open of this.#open) open.close();
    this.#open = [];
    throw new Error(`cannot open listen socket ${failure}`);
  }

  async #acceptLoop(listener: TcpListener, options: ListenerOptions): Promise<void> {
    // The listener's counters show (at zero) from the start, not from its first client.
    this.#context.metrics.counters(listener.port, BEFORE_CONNECT);
    const gate = this.gate;
    for await (const socket of listener.accept((error) => gate.acceptFailed(error))) {
      try {
        socket.setNoDelay(true);
      } catch {
        // the peer may already be gone
      }
      this.accept(socket, options);
    }
  }

  /**
   * Serve `conn` as a client of `listener` if it is within every limit, else close it. The
   * accept loops hand each TCP socket here; any other transport (an in-memory pair in tests)
   * may hand its own `Conn`.
   */
  accept(conn: Conn, listener: ListenerOptions): void {
    const port = this.#boundPorts.get(listener) ?? listener.port;
    const counters = this.#context.metrics.counters(port, BEFORE_CONNECT);
    counters.sockets++;
    const remote = conn.remoteAddr as Deno.NetAddr;
    if (!this.#admit(remote.hostname, listener)) {
      conn.close();
      return;
    }
    this.#context.admitted(conn, {
      address: remote.hostname,
      port: remote.port,
      listener,
      counters,
    });
  }

  /** Whether a new socket from `address` on `listener` is within every limit; counts it if so. */
  #admit(address: string, listener: ListenerOptions): boolean {
    const { options: { logger: log }, now } = this.#context;
    const rate = listener.maxConnectionRate ?? 0;
    if (rate > 0) {
      const verdict = this.#connectionRate.admit(address, rate, now());
      if (verdict !== "ok") {
        if (verdict === "first refusal") {
          log.notice(
            `Client connection from ${address} denied: more than ${rate} new ` +
              "connections in a second (max_connection_rate).",
          );
        }
        return false;
      }
    }
    const open = this.#openSockets.get(listener) ?? 0;
    const max = listener.maxConnections ?? -1;
    if (max >= 0 && open >= max) {
      log.notice(`Client connection from ${address} denied: max_connections exceeded.`);
      return false;
    }
    if (!this.gate.admit()) return false; // the descriptor limit is near: logged once by the gate
    this.#openSockets.set(listener, open + 1);
    return true;
  }
}
