/**
 * The broker: sessions, the router, retained messages, listeners and the timers that enforce
 * keep alive, connect timeouts, session expiry and will delays, and the `$SYS` tree.
 *
 * @module
 */

import type { QoS } from "../codec/mod.ts";
import { ReasonCode } from "../codec/mod.ts";
import type { Logger } from "../log/logger.ts";
import { RetainedIndex, type RetainedVisitor, SubscriptionTrie } from "../router/mod.ts";
import { ConnectionGate, descriptorGateLimit } from "../transport/connection_gate.ts";
import { isIpv6, listenTcp, type TcpListener } from "../transport/tcp.ts";
import { type CloseKind, Connection } from "./connection.ts";
import { ConnectionRate } from "./connection_rate.ts";
import { mayLeaveWill, mayRead } from "./access.ts";
import { deliver, flowControlLimit } from "./delivery.ts";
import { openConnectionGate } from "./listeners.ts";
import { LoadAverages } from "./load_average.ts";
import { MemoryWatch } from "./memory_watch.ts";
import { type Message, newMessage } from "./message.ts";
import { BEFORE_CONNECT, type Counters, Metrics } from "./metrics.ts";
import type { BrokerOptions, ListenerOptions } from "./options.ts";
import type { Persistence } from "./persistence.ts";
import { NEVER_EXPIRES, type Session, type SubscriptionOptions } from "./session.ts";
import { SysTree } from "./sys_tree.ts";

const NO_TARGETS: Session[] = [];

function payloadLength(message: Message): number {
  return message.payload.length;
}

/** How often keep alive, connect timeouts and session expiry are checked (ms). */
const SWEEP_INTERVAL_MS = 250;

/** The log line for each way a connection ends (Mosquitto's texts). */
function closeLine(id: string, kind: CloseKind): string | undefined {
  switch (kind) {
    case "disconnect":
      return `Client ${id} disconnected.`;
    case "lost":
      return `Client ${id} closed its connection.`;
    case "keepalive":
      return `Client ${id} has exceeded timeout, disconnecting.`;
    default:
      return undefined; // logged where the decision was made
  }
}

/** An MQTT broker. */
export class Broker {
  /** Options in force. */
  readonly options: BrokerOptions;
  /** Counters. */
  readonly metrics: Metrics = new Metrics();
  /** Sessions by client id, connected or not. */
  readonly sessions: Map<string, Session> = new Map();
  /** Subscriptions. */
  readonly trie: SubscriptionTrie<SubscriptionOptions> = new SubscriptionTrie();
  /** Retained messages of clients by topic (the `$SYS` values are the `sysTree`'s). */
  readonly retained: RetainedIndex<Message> = new RetainedIndex(payloadLength);
  /** Load averages of the counters, moved forward by each stats snapshot. */
  loads: LoadAverages;
  /** The `$SYS` publisher. */
  readonly sysTree: SysTree = new SysTree(this);
  /** When the broker was started (ms; its creation until `start`). */
  startedAt: number;
  /** Set as `stop` begins: the broker is going away (`/health` says 503). */
  stopping = false;
  /** Open connections, connected or still before CONNECT. */
  readonly connections: Set<Connection> = new Set();
  /** The store writer when persistence is on (set by `restore`, before `start`). */
  persistence: Persistence | undefined;
  /**
   * `memory_limit`, and giving back the memory of cleared retained messages (a test may put a
   * watch with its own memory probe here before `start`).
   */
  memory: MemoryWatch = new MemoryWatch();
  /**
   * Connections open through every listener (HTTP ones included) against what the descriptor
   * limit allows; set by `start`.
   */
  connectionGate: ConnectionGate = new ConnectionGate(descriptorGateLimit(undefined), {
    paused: () => {},
    resumed: () => {},
  });
  #listeners: TcpListener[] = [];
  /** New connections per address this second, for `max_connection_rate`. */
  #connectionRate = new ConnectionRate();
  /** Open sockets per listener, for `max_connections`. */
  #listenerSockets = new Map<ListenerOptions, number>();
  /** The port each listener is bound to (options may say 0). */
  #boundPorts = new Map<ListenerOptions, number>();
  #acceptLoops: Promise<void>[] = [];
  /** Connections whose read loop has not ended yet, and who waits for them all to end. */
  #liveReadLoops = 0;
  #readLoopsEnded: (() => void) | undefined;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  #matchStamp = 0;
  #connected = 0;
  #now: () => number;
  // The routing pass in progress, for #collectTarget (one function for every pass rather than
  // a closure per message).
  #routeTargets: Session[] = NO_TARGETS;
  #routePublisherId = "";
  #collectTarget = (_id: string, sub: SubscriptionOptions): void => {
    const session = sub.session;
    // No local: not back to the publisher [MQTT-3.8.3-3].
    if (sub.noLocal && session.clientId === this.#routePublisherId) return;
    if (session.matchStamp !== this.#matchStamp) {
      session.matchStamp = this.#matchStamp;
      session.matchQos = sub.qos;
      session.matchRetainAsPublished = sub.retainAsPublished;
      session.matchSubscriptionIds = sub.subscriptionId !== undefined
        ? [sub.subscriptionId]
        : undefined;
      this.#routeTargets.push(session);
    } else {
      if (sub.qos > session.matchQos) session.matchQos = sub.qos;
      if (sub.retainAsPublished) session.matchRetainAsPublished = true;
      if (sub.subscriptionId !== undefined) {
        (session.matchSubscriptionIds ??= []).push(sub.subscriptionId);
      }
    }
  };
  #isOnline = (clientId: string): boolean => this.sessions.get(clientId)?.connection !== undefined;

  /** A broker with `options`; `now` is the clock (ms), replaceable in tests. */
  constructor(options: BrokerOptions, now: () => number = Date.now) {
    this.options = options;
    this.#now = now;
    this.startedAt = now();
    this.loads = new LoadAverages(this.startedAt);
  }

  /** The logger (`options.logger`, which a reload may replace). */
  get log(): Logger {
    return this.options.logger;
  }

  /** The current time in ms. */
  now(): number {
    return this.#now();
  }

  /** Ports the listeners are bound to, in listener order. */
  get ports(): number[] {
    return this.#listeners.map((l) => l.port);
  }

  /** The port `listener` is bound to (its configured port when it is not open). */
  portOf(listener: ListenerOptions): number {
    return this.#boundPorts.get(listener) ?? listener.port;
  }

  /** Clients connected now. */
  get connectedCount(): number {
    return this.#connected;
  }

  /**
   * Open the listeners and start serving. A listener that cannot open throws (after closing
   * those already open), unless it is optional: then a warning says why it is missing.
   */
  start(): void {
    this.stopping = false;
    this.startedAt = this.now();
    this.loads = new LoadAverages(this.startedAt);
    this.connectionGate = openConnectionGate(this.log, this.options.listeners);
    for (const l of this.options.listeners) {
      const opened = this.#open(l);
      if (opened === undefined) continue;
      this.#listeners.push(opened);
      this.#listenerSockets.set(l, 0);
      this.#boundPorts.set(l, opened.port);
      this.#acceptLoops.push(this.#acceptLoop(opened, l));
    }
    this.#checkMemory();
    this.#sweepTimer = setInterval(() => this.#sweep(), SWEEP_INTERVAL_MS);
    this.sysTree.schedule();
  }

  /**
   * Open one listener. Without an address it binds every address: IPv6 and IPv4 on one
   * dual-stack socket, or IPv4 alone where the host has no IPv6 (or `socket_domain` says).
   */
  #open(l: ListenerOptions): TcpListener | undefined {
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
      this.log.info(`Opening ${family} listen socket on port ${l.port}.`);
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
      this.log.warning(`Warning: cannot open ${families.join("/")} listen socket ${failure}`);
      return undefined;
    }
    for (const open of this.#listeners) open.close();
    this.#listeners = [];
    throw new Error(`cannot open listen socket ${failure}`);
  }

  async #acceptLoop(listener: TcpListener, options: ListenerOptions): Promise<void> {
    const counters = this.metrics.counters(listener.port, BEFORE_CONNECT);
    const gate = this.connectionGate;
    for await (const socket of listener.accept((error) => gate.acceptFailed(error))) {
      counters.sockets++;
      const remote = socket.remoteAddr as Deno.NetAddr;
      const rate = options.maxConnectionRate ?? 0;
      if (rate > 0) {
        const verdict = this.#connectionRate.admit(remote.hostname, rate, this.now());
        if (verdict !== "ok") {
          if (verdict === "first refusal") {
            this.log.notice(
              `Client connection from ${remote.hostname} denied: more than ${rate} new ` +
                "connections in a second (max_connection_rate).",
            );
          }
          socket.close();
          continue;
        }
      }
      const open = this.#listenerSockets.get(options) ?? 0;
      const max = options.maxConnections ?? -1;
      if (max >= 0 && open >= max) {
        this.log.notice(
          `Client connection from ${remote.hostname} denied: max_connections exceeded.`,
        );
        socket.close();
        continue;
      }
      if (!gate.admit()) {
        socket.close(); // the descriptor limit is near: logged once by the gate
        continue;
      }
      this.#listenerSockets.set(options, open + 1);
      try {
        socket.setNoDelay(true);
      } catch {
        // the peer may already be gone
      }
      const conn = new Connection(this, socket, {
        address: remote.hostname,
        port: remote.port,
        listener: options,
        counters,
      });
      this.connections.add(conn);
      if (this.log.connectionMessages) {
        this.log.notice(`New connection from ${conn.remote} on port ${listener.port}.`);
      }
      this.#liveReadLoops++;
      conn.start();
    }
  }

  /**
   * Stop: close the listeners, tell 5.0 clients the server is shutting down (0x8B), close every
   * connection, clear timers.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.sysTree.stop();
    for (const l of this.#listeners) l.close();
    await Promise.all(this.#acceptLoops);
    for (const conn of [...this.connections]) {
      conn.publishWillOnClose = false;
      conn.disconnect(ReasonCode.ServerShuttingDown, undefined, "server");
    }
    if (this.#liveReadLoops > 0) {
      await new Promise<void>((resolve) => this.#readLoopsEnded = resolve);
      this.#readLoopsEnded = undefined;
    }
    clearInterval(this.#sweepTimer);
    for (const session of this.sessions.values()) this.cancelDelayedWill(session);
    await this.persistence?.close();
    this.#listenerSockets.clear();
    this.#listeners = [];
    this.#acceptLoops = [];
  }

  /** Called once by each connection when its read loop has ended. */
  readLoopEnded(): void {
    if (--this.#liveReadLoops === 0) this.#readLoopsEnded?.();
  }

  /**
   * Make `conn` the connection of `session`. From now on its traffic counts for its listener
   * and protocol version, its CONNECT included.
   */
  attach(session: Session, conn: Connection): void {
    session.connection = conn;
    conn.session = session;
    conn.connectedAt = this.now();
    const connected = ++this.#connected;
    if (connected > this.metrics.clientsMaximum) this.metrics.clientsMaximum = connected;
    conn.countConnected(this.metrics.counters(conn.counters.port, conn.version));
  }

  /** The counters a session's traffic goes to, connected or not. */
  countersOf(session: Session): Counters {
    const conn = session.connection;
    if (conn !== undefined) return conn.counters;
    const listener = session.listener;
    if (listener === undefined || !this.#boundPorts.has(listener)) {
      return this.metrics.unattributed;
    }
    return this.metrics.counters(this.#boundPorts.get(listener)!, session.version);
  }

  /** Count the bytes open connections have written (see `Counters.bytesSent`). */
  settleCounters(): void {
    for (const conn of this.connections) conn.settleBytesSent();
  }

  /**
   * Route a message to every matching subscription: one delivery per client, at the highest
   * QoS of its matching subscriptions and with all their identifiers [MQTT-3.3.4-2]
   * [MQTT-3.3.4-3]. Returns the number of clients it went to. When a connected client's queue
   * grows past the flow-control limit, `publisher` is told to pause reading until it drains.
   */
  route(message: Message, publisher?: Connection): number {
    ++this.#matchStamp;
    const targets: Session[] = [];
    this.#routeTargets = targets;
    this.#routePublisherId = message.publisherId;
    this.trie.match(message.topic, this.#collectTarget, this.#isOnline);
    this.#routeTargets = NO_TARGETS;
    const options = this.options;
    for (const session of targets) {
      // Read access, when an ACL is in force [acl_file].
      if (options.aclFile !== undefined || session.listener?.security?.aclFile !== undefined) {
        if (!mayRead(options, session, message.topic)) continue;
      }
      const qos = Math.min(message.qos, session.matchQos) as QoS;
      // Live messages carry retain only with retain as published [MQTT-3.3.1-12].
      const retain = session.matchRetainAsPublished && message.retain;
      deliver(this, session, message, qos, retain, session.matchSubscriptionIds);
      if (
        publisher !== undefined && session.connection !== undefined && !session.stalled &&
        session.queuedCount >= flowControlLimit(this)
      ) {
        publisher.congestedBy = session;
      }
    }
    return targets.length;
  }

  /** Called by a connection as it closes: log, detach the session, the will, expiry. */
  connectionClosed(conn: Connection, kind: CloseKind): void {
    if (this.connections.delete(conn)) {
      this.connectionGate.release();
      const open = this.#listenerSockets.get(conn.listener);
      if (open !== undefined) this.#listenerSockets.set(conn.listener, open - 1);
    }
    const session = conn.session;
    if (session === undefined) return;
    this.#connected--;
    const line = closeLine(conn.clientId, kind);
    if (line !== undefined && this.log.connectionMessages) this.log.notice(line);
    if (session.connection !== conn) return; // already taken over
    session.connection = undefined;
    session.disconnectedAt = this.now();
    if (conn.publishWillOnClose && kind !== "server") this.startWill(session);
    else session.will = undefined;
    if (session.expiryInterval === 0) this.endSession(session);
    else this.persistence?.syncSession(session);
  }

  /**
   * The will of a session whose connection ended without a normal DISCONNECT (or whose
   * connection the broker lost in a crash: see restore.ts).
   */
  startWill(session: Session): void {
    const will = session.will;
    if (will === undefined) return;
    const delay = will.properties?.willDelayInterval ?? 0;
    if (delay > 0 && session.expiryInterval > 0) {
      // Delayed: sent when the delay or the session ends, unless the client returns first
      // [MQTT-3.1.3-9].
      session.willTimer = setTimeout(() => {
        session.willTimer = undefined;
        this.#publishWill(session);
      }, Math.min(delay, session.expiryInterval) * 1000);
      return;
    }
    this.#publishWill(session);
  }

  #publishWill(session: Session): void {
    const will = session.will;
    session.will = undefined;
    if (will === undefined) return;
    if (session.storeId > 0 && this.sessions.get(session.clientId) === session) {
      this.persistence?.syncSession(session); // the will is gone
    }
    // The ACL may have changed since CONNECT (a reload) [acl_file].
    if (!mayLeaveWill(this.options, session, will.topic)) {
      this.log.notice(
        `Will of ${session.clientId} on '${will.topic}' not published: not authorised.`,
      );
      return;
    }
    const { willDelayInterval: _d, messageExpiryInterval: expiry, ...rest } = will.properties ??
      {};
    const message = newMessage(
      will.topic,
      will.payload.slice(),
      will.qos,
      will.retain,
      session.clientId,
      Object.keys(rest).length > 0 ? rest : undefined,
      expiry !== undefined ? this.now() + expiry * 1000 : undefined,
    );
    message.owned = true;
    if (will.retain) this.setRetained(will.topic, message);
    this.route(message);
  }

  /**
   * Make `message` the retained message of `topic`; an empty payload removes it
   * [MQTT-3.3.1-5] [MQTT-3.3.1-6]. `message` must own its payload.
   */
  setRetained(topic: string, message: Message): void {
    const persistence = this.persistence;
    const before = persistence !== undefined ? this.retained.get(topic) : undefined;
    if (message.payload.length === 0) {
      this.retained.delete(topic);
      persistence?.retainedChanged(before, undefined);
    } else {
      this.retained.set(topic, message);
      persistence?.retainedChanged(before, message);
    }
  }

  /** Cancel a pending delayed will (the client came back). */
  cancelDelayedWill(session: Session): void {
    if (session.willTimer !== undefined) {
      clearTimeout(session.willTimer);
      session.willTimer = undefined;
    }
  }

  /** End a session: its subscriptions go, and a pending delayed will is sent now. */
  endSession(session: Session): void {
    if (session.willTimer !== undefined) {
      this.cancelDelayedWill(session);
      this.#publishWill(session);
    }
    for (const filter of session.subscriptions.keys()) {
      this.trie.unsubscribe(session.clientId, filter);
    }
    this.persistence?.unstoreSession(session);
    session.clear();
    if (this.sessions.get(session.clientId) === session) this.sessions.delete(session.clientId);
  }

  #checkMemory(): void {
    this.memory.check({
      limit: this.options.memoryLimit,
      retainedBytes: this.retained.bytes,
      now: this.now(),
      log: this.log,
    });
  }

  #sweep(): void {
    this.#checkMemory();
    const now = this.now();
    for (const conn of this.connections) {
      conn.out.trimIfIdle(); // buffers idle for a whole sweep are let go
      if (!conn.isConnected) {
        if (now - conn.openedAt > this.options.connectTimeoutMs) {
          this.log.notice(`Client ${conn.remote} sent no CONNECT in time, closing.`);
          conn.close("server");
        }
      } else if (conn.keepAliveMs > 0 && now - conn.lastPacketAt > conn.keepAliveMs * 1.5) {
        // [MQTT-3.1.2-22]
        conn.disconnect(ReasonCode.KeepAliveTimeout, undefined, "keepalive");
      }
    }
    for (const session of this.sessions.values()) {
      if (
        session.connection === undefined && session.expiryInterval !== NEVER_EXPIRES &&
        now - session.disconnectedAt >= session.expiryInterval * 1000
      ) {
        this.metrics.clientsExpired++;
        this.log.notice(`Expiring client ${session.clientId}.`);
        this.endSession(session);
      }
    }
  }

  /** Visit the retained messages `filter` matches: clients', then the `$SYS` values. */
  matchRetained(filter: string, visit: RetainedVisitor<Message>): void {
    this.retained.match(filter, visit);
    this.sysTree.matchRetained(filter, visit);
  }

  /**
   * Publish a message from the broker itself (its log lines on `$SYS/broker/log/...`): QoS 0,
   * not retained, no publisher, routed like a client's message. `payload` is kept as it is,
   * not copied: the caller must not reuse it.
   */
  publishFromBroker(topic: string, payload: Uint8Array): void {
    const message = newMessage(topic, payload, 0, false, "");
    message.owned = true;
    this.route(message);
  }
}
