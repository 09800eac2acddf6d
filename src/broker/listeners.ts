/**
 * The MQTT listeners: they open (TCP or a Unix socket, plain or TLS), accept, and admit a
 * socket only within the limits: `max_connection_rate`, the listener's `max_connections`, and
 * the connection limit of the whole process (the descriptor limit read at start, logged once,
 * with a warning for a `max_connections` that could never be reached under it). Before a
 * socket is served, its PROXY header is read (`enable_proxy_protocol`) and its WebSocket
 * upgrade answered (`protocol websockets`).
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
import { unmapIpv4 } from "../transport/ip_address.ts";
import type { PeerIdentity } from "../transport/peer_certificate.ts";
import { readProxyHeader } from "../transport/proxy_protocol.ts";
import { isIpv6, listenTcp, listenUnix, type TcpListener } from "../transport/tcp.ts";
import type { TlsConn, TlsListener, TlsListenSettings } from "../transport/tls_listen.ts";
import { ConnectionRate } from "./connection_rate.ts";
import { labelListener, type ListenerLabel } from "./listener_label.ts";
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
        `max_connections ${max} on port ${l.port} is more than the descriptor limit ` +
          `allows: at most ${gate.capacity} connections at once (raise it with ulimit -n or ` +
          "LimitNOFILE).",
      );
    }
  }
  return gate;
}

/** How long a client has to send its PROXY header, or its WebSocket upgrade request (ms). */
const PRELUDE_TIMEOUT_MS = 10_000;

/** An open listening socket: TCP or Unix (`TcpListener`), or TLS. */
type OpenListener = TcpListener | TlsListener;

/** Where an admitted connection came from, as its `Connection` is told. */
export interface Peer {
  /** Address of the peer without the port (the PROXY header's; a Unix socket's path). */
  address: string;
  /** Port of the peer (0 on a Unix socket). */
  port: number;
  /** The listener it connected through. */
  listener: ListenerOptions;
  /** The "before CONNECT" counters of that listener. */
  counters: Counters;
  /** The client certificate it presented over TLS, verified; undefined without one. */
  certificate?: PeerIdentity;
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
  /** The open listeners, by their options. */
  #open = new Map<ListenerOptions, OpenListener>();
  #acceptLoops: Promise<void>[] = [];
  /** New connections per address this second, for `max_connection_rate`. */
  #connectionRate = new ConnectionRate();
  /** Open sockets per listener, for `max_connections`. */
  #openSockets = new Map<ListenerOptions, number>();
  /** What each opened listener is called (options may say port 0); kept after `close`. */
  #labels = new Map<ListenerOptions, ListenerLabel>();

  /** Listeners for the broker of `context`, not open yet. */
  constructor(context: ListenersContext) {
    this.#context = context;
  }

  /** Ports the open listeners are bound to, in listener order. */
  get ports(): number[] {
    return this.#context.options.listeners.flatMap((l) => {
      const open = this.#open.get(l);
      return open === undefined ? [] : [open.port];
    });
  }

  /** The port `listener` was bound to, if it was opened. */
  boundPort(listener: ListenerOptions): number | undefined {
    return this.#labels.get(listener)?.port;
  }

  /** What `listener` is called in reports, if it was opened. */
  label(listener: ListenerOptions): ListenerLabel | undefined {
    return this.#labels.get(listener);
  }

  /** The labels of the open listeners, in listener order. */
  labels(): ListenerLabel[] {
    return this.#context.options.listeners.flatMap((l) => {
      const label = this.#labels.get(l);
      return label === undefined || !this.#open.has(l) ? [] : [label];
    });
  }

  /**
   * Open every listener of the options and start accepting: the plain ones (TCP, Unix) before
   * this returns, the TLS ones (their files read first) by the time it resolves. A listener
   * that cannot open throws, or rejects, after closing those already open, unless it is
   * optional: then a warning says why it is missing.
   */
  open(): Promise<void> {
    const { options } = this.#context;
    this.gate = openConnectionGate(options.logger, options.listeners);
    for (const l of options.listeners) {
      if (l.tls === undefined) this.#started(l, this.#openPlain(l));
    }
    return this.#openTls(options.listeners.filter((l) => l.tls !== undefined));
  }

  async #openTls(listeners: readonly ListenerOptions[]): Promise<void> {
    for (const l of listeners) {
      this.#started(l, await this.#openTlsOne(l, l.tls!));
    }
  }

  /** `l` is open as `opened` (unless it could not open): accept through it. */
  #started(l: ListenerOptions, opened: OpenListener | undefined): void {
    if (opened === undefined) return;
    this.#open.set(l, opened);
    this.#openSockets.set(l, 0);
    const label = labelListener(l, { address: opened.hostname, port: opened.port });
    this.#labels.set(l, label);
    this.#acceptLoops.push(this.#acceptLoop(opened, l, label));
  }

  /** Stop accepting: close the listeners and wait for their accept loops to end. */
  async close(): Promise<void> {
    for (const l of this.#open.values()) l.close();
    await Promise.all(this.#acceptLoops);
    this.#openSockets.clear();
    this.#open.clear();
    this.#acceptLoops = [];
  }

  /** A socket admitted through `listener` has closed: it no longer counts against the limits. */
  released(listener: ListenerOptions): void {
    this.gate.release();
    const open = this.#openSockets.get(listener);
    if (open !== undefined) this.#openSockets.set(listener, open - 1);
  }

  /**
   * Read the certificates, keys, CAs and CRLs of the TLS listeners again (SIGHUP) from the
   * files `next` names for each (by running listener); connected clients keep their
   * connections. A listener whose files cannot be used keeps those in force, and says why.
   */
  async reloadCertificates(
    next: readonly (readonly [ListenerOptions, TlsListenSettings])[],
  ): Promise<void> {
    const log = () => this.#context.options.logger;
    for (const [l, settings] of next) {
      const listener = this.#open.get(l);
      if (listener === undefined || !("reload" in listener)) continue;
      try {
        await listener.reload(settings);
        log().notice(`Reloaded the certificates of the TLS listener on port ${listener.port}.`);
      } catch (error) {
        log().error(
          `Error: TLS listener on port ${listener.port}: ${(error as Error).message}; its ` +
            "certificates in force are kept.",
        );
      }
    }
  }

  /**
   * Open a plain (TCP or Unix) listener. Without an address it binds every address: IPv6 and
   * IPv4 on one dual-stack socket, or IPv4 alone where the host has no IPv6 (or
   * `socket_domain` says).
   */
  #openPlain(l: ListenerOptions): OpenListener | undefined {
    if (l.socketPath !== undefined) {
      this.#context.options.logger.info(`Opening unix listen socket on ${l.socketPath}.`);
      try {
        return listenUnix(l.socketPath);
      } catch (error) {
        return this.#failed(l, `${l.socketPath}: ${(error as Error).message}`, "unix");
      }
    }
    const hosts = this.#hostsOf(l);
    let failure = "";
    for (const host of hosts) {
      try {
        return listenTcp(host, l.port);
      } catch (error) {
        failure = bindFailure(l, host, error);
        if (host === "::" && hosts.length > 1) continue; // no IPv6 here: IPv4 alone
      }
    }
    return this.#failed(l, failure, familiesOf(hosts));
  }

  /** Open a TLS listener, its files read first; the addresses as `#openPlain`'s. */
  async #openTlsOne(
    l: ListenerOptions,
    settings: TlsListenSettings,
  ): Promise<TlsListener | undefined> {
    const hosts = this.#hostsOf(l);
    let failure = "";
    for (const host of hosts) {
      try {
        const { listenTls } = await import("../transport/tls_listen.ts"); // TLS listeners only
        return await listenTls(host, l.port, settings);
      } catch (error) {
        failure = bindFailure(l, host, error);
        if (host === "::" && hosts.length > 1) continue;
      }
    }
    return this.#failed(l, failure, familiesOf(hosts));
  }

  /** The addresses to try for `l`, in order, logging the families it opens. */
  #hostsOf(l: ListenerOptions): string[] {
    const hosts = l.host !== undefined
      ? [l.host]
      : l.socketDomain === "ipv4"
      ? ["0.0.0.0"]
      : l.socketDomain === "ipv6"
      ? ["::"]
      : ["::", "0.0.0.0"];
    for (const family of familiesOf(hosts).split("/")) {
      this.#context.options.logger.info(`Opening ${family} listen socket on port ${l.port}.`);
    }
    return hosts;
  }

  /** `l` could not open (`failure` says why): a warning if it is optional, else the end. */
  #failed(l: ListenerOptions, failure: string, family: string): undefined {
    if (l.optional) {
      this.#context.options.logger.warning(
        `cannot open ${family} listen socket ${failure}`,
      );
      return undefined;
    }
    for (const open of this.#open.values()) open.close();
    this.#open.clear();
    throw new Error(`cannot open listen socket ${failure}`);
  }

  async #acceptLoop(
    listener: OpenListener,
    options: ListenerOptions,
    label: ListenerLabel,
  ): Promise<void> {
    // The listener's counters show (at zero) from the start, not from its first client.
    this.#context.metrics.counters(label, BEFORE_CONNECT);
    const gate = this.gate;
    const failed = (error: Error) => gate.acceptFailed(error);
    const sockets = "reload" in listener
      ? listener.accept(failed, (address, reason) => {
        this.#context.metrics.counters(label, BEFORE_CONNECT).sockets++;
        this.#context.options.logger.notice(
          `Client connection from ${unmapIpv4(address.hostname)} denied: ${reason}.`,
        );
      })
      : listener.accept(failed);
    for await (const socket of sockets) {
      if (socket.remoteAddr.transport === "tcp") {
        try {
          (socket as Deno.TcpConn).setNoDelay?.(true);
        } catch {
          // the peer may already be gone
        }
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
    const label = this.#labels.get(listener) ??
      labelListener(listener, { address: listener.host ?? "", port: listener.port });
    const counters = this.#context.metrics.counters(label, BEFORE_CONNECT);
    counters.sockets++;
    const certificate = (conn as Partial<TlsConn>).peer;
    // A TLS listener reads the PROXY header itself, before the handshake.
    const proxy = listener.tls === undefined ? listener.proxyProtocol : undefined;
    if (proxy === undefined && listener.websockets === undefined) {
      this.#serve(conn, listener, counters, certificate);
      return;
    }
    if (!this.#hasRoom(addressOf(conn, listener), listener)) {
      conn.close();
      return;
    }
    void this.#prelude(conn, listener, proxy, counters, certificate);
  }

  /**
   * Read `conn`'s PROXY header and answer its WebSocket upgrade, as `listener` asks, then
   * serve it (it holds its place in the limits meanwhile; a failure gives it back).
   */
  async #prelude(
    conn: Conn,
    listener: ListenerOptions,
    proxy: 1 | 2 | undefined,
    counters: Counters,
    certificate: PeerIdentity | undefined,
  ): Promise<void> {
    const log = () => this.#context.options.logger;
    let served = conn;
    try {
      if (proxy !== undefined) served = await readProxyHeader(served, proxy, PRELUDE_TIMEOUT_MS);
      if (listener.websockets !== undefined) {
        const { acceptWebSocket } = await import("../transport/ws_server.ts"); // cached after one
        const upgrade = await acceptWebSocket(served, {
          maxFrameSize: listener.websockets.maxFrameSize,
          httpDir: listener.websockets.httpDir,
          handshakeTimeoutMs: PRELUDE_TIMEOUT_MS,
        });
        if (!("conn" in upgrade)) {
          const address = addressOf(served, listener);
          if ("served" in upgrade) log().debug(`HTTP ${address}: ${upgrade.served}.`);
          else log().notice(`Client connection from ${address} denied: ${upgrade.refused}.`);
          this.released(listener);
          return;
        }
        served = upgrade.conn;
      }
    } catch (error) {
      log().notice(
        `Client connection from ${addressOf(served, listener)} denied: ` +
          `${(error as Error).message}.`,
      );
      conn.close();
      this.released(listener);
      return;
    }
    if (!this.#rateAllows(addressOf(served, listener), listener)) {
      served.close();
      this.released(listener);
      return;
    }
    this.#admitted(served, listener, counters, certificate);
  }

  /** Serve `conn`, which needs no prelude, if it is within every limit; else close it. */
  #serve(
    conn: Conn,
    listener: ListenerOptions,
    counters: Counters,
    certificate: PeerIdentity | undefined,
  ): void {
    const address = addressOf(conn, listener);
    if (!this.#rateAllows(address, listener) || !this.#hasRoom(address, listener)) {
      conn.close();
      return;
    }
    this.#admitted(conn, listener, counters, certificate);
  }

  #admitted(
    conn: Conn,
    listener: ListenerOptions,
    counters: Counters,
    certificate: PeerIdentity | undefined,
  ): void {
    const remote = conn.remoteAddr;
    this.#context.admitted(conn, {
      address: addressOf(conn, listener),
      port: "port" in remote ? remote.port : 0,
      listener,
      counters,
      certificate,
    });
  }

  /** Whether `address` may open another connection on `listener` (`max_connection_rate`). */
  #rateAllows(address: string, listener: ListenerOptions): boolean {
    const { options: { logger: log }, now } = this.#context;
    const rate = listener.maxConnectionRate ?? 0;
    if (rate === 0) return true;
    const verdict = this.#connectionRate.admit(address, rate, now());
    if (verdict === "first refusal") {
      log.notice(
        `Client connection from ${address} denied: more than ${rate} new ` +
          "connections in a second (max_connection_rate).",
      );
    }
    return verdict === "ok";
  }

  /**
   * Whether `listener` (`max_connections`) and the process (the descriptor gate) have room for
   * one more socket, from `address`; counts it if so.
   */
  #hasRoom(address: string, listener: ListenerOptions): boolean {
    const { options: { logger: log } } = this.#context;
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

/** The address families of `hosts`, as "ipv4", "ipv6" or "ipv4/ipv6". */
function familiesOf(hosts: readonly string[]): string {
  return [...new Set(hosts.map((h) => (isIpv6(h) ? "ipv6" : "ipv4")))].sort().join("/");
}

/** Why `l` could not bind `host`, for the log. */
function bindFailure(l: ListenerOptions, host: string, error: unknown): string {
  return `${l.host === undefined ? "*" : host}:${l.port}: ${(error as Error).message}`;
}

/** The address a connection is known by: its IP (IPv4 unmapped), or the Unix socket's path. */
function addressOf(conn: Conn, listener: ListenerOptions): string {
  const remote = conn.remoteAddr;
  if ("hostname" in remote) return unmapIpv4(remote.hostname);
  return listener.socketPath ?? ("path" in remote ? remote.path : "");
}
