/**
 * The broker: its owners put together (listeners, the session registry, fan-out, the store
 * writer, metrics and the `$SYS` tree), its open connections, and the sweep that enforces keep
 * alive, connect timeouts, session expiry and `memory_limit`.
 *
 * @module
 */

import type { Logger } from "../log/logger.ts";
import type { RetainedVisitor } from "../router/mod.ts";
import type { Conn } from "../transport/conn.ts";
import { Connection } from "./connection.ts";
import type { BrokerContext } from "./context.ts";
import { deliver } from "./delivery.ts";
import { FanOut } from "./fan_out.ts";
import { Listeners, type Peer } from "./listeners.ts";
import { LoadAverages } from "./load_average.ts";
import { MemoryWatch } from "./memory_watch.ts";
import { type Message, newMessage } from "./message.ts";
import { BEFORE_CONNECT, type Counters, Metrics } from "./metrics.ts";
import type { BridgeEnd, BrokerOptions, ListenerOptions } from "./options.ts";
import type { Persistence } from "./persistence.ts";
import { type Reconfiguration, reconfiguration } from "./reconfigure.ts";
import { NOT_OBSERVED, type StateObserver } from "./state_observer.ts";
import type { CloseKind, Session } from "./session.ts";
import { SessionRegistry } from "./sessions.ts";
import type { BridgeFigures } from "./stats.ts";
import { SysTree } from "./sys_tree.ts";

/** How often keep alive, connect timeouts and session expiry are checked (ms). */
const SWEEP_INTERVAL_MS = 250;

/** An MQTT broker. */
export class Broker implements BrokerContext {
  /** Counters. */
  readonly metrics: Metrics = new Metrics();
  /** Sessions by client id, connected or not, and their lives. */
  readonly sessions: SessionRegistry;
  /** Subscriptions, retained messages and the routing of messages. */
  readonly fanOut: FanOut;
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
  /** Closed connections whose sockets linger (`Connection.close`). */
  readonly lingering: Set<{ closeSocket(): void }> = new Set();
  /** The store writer when persistence is on (set by `restore`, before `start`). */
  persistence: Persistence | undefined;
  /**
   * `memory_limit`, and giving back the memory of cleared retained messages (a test may put a
   * watch with its own memory probe here before `start`).
   */
  memory: MemoryWatch = new MemoryWatch();
  /** The MQTT listeners, their limits and the descriptor gate. */
  readonly listeners: Listeners;
  /** The figures of the running bridges for snapshots; the bridges' owner sets it (none here). */
  bridgeStats: () => readonly BridgeFigures[] = () => [];
  /** Connections whose read loop has not ended yet, and who waits for them all to end. */
  #liveReadLoops = 0;
  #readLoopsEnded: (() => void) | undefined;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  #now: () => number;
  #options: BrokerOptions;

  /** A broker with `options`; `now` is the clock (ms), replaceable in tests. */
  constructor(options: BrokerOptions, now: () => number = Date.now) {
    this.#options = Object.freeze({ ...options });
    this.#now = now;
    // The owners read the options in force at each use, through this getter.
    const current = () => this.#options;
    this.startedAt = now();
    this.loads = new LoadAverages(this.startedAt);
    this.listeners = new Listeners({
      get options() {
        return current();
      },
      metrics: this.metrics,
      now,
      admitted: (conn, peer) => this.#serve(conn, peer),
    });
    this.fanOut = new FanOut({
      get options() {
        return current();
      },
      metrics: this.metrics,
      observer: () => this.observer,
      isOnline: (clientId) => this.sessions.isOnline(clientId),
      deliver: (session, message, qos, retain, ids) => {
        deliver(this, session, message, qos, retain, ids);
      },
    });
    this.sessions = new SessionRegistry({
      get options() {
        return current();
      },
      metrics: this.metrics,
      fanOut: this.fanOut,
      now,
      observer: () => this.observer,
    });
  }

  /** The options in force: one frozen value, replaced whole by `reconfigure`. */
  get options(): BrokerOptions {
    return this.#options;
  }

  /**
   * Put `next` in force (a reload): every option but the listeners, which stay the open ones
   * and take only their new security (see `reconfiguration`). A replaced logger is closed;
   * `$SYS` follows `sysInterval`. Returns what changed.
   */
  reconfigure(next: BrokerOptions): Reconfiguration {
    const change = reconfiguration(this.#options, next);
    const oldLogger = this.#options.logger;
    this.#options = change.options;
    if (change.changed.includes("logger")) void oldLogger.close();
    if (change.changed.includes("sysInterval")) this.sysTree.schedule();
    if (change.tlsReloads.length > 0) void this.listeners.reloadCertificates(change.tlsReloads);
    return change;
  }

  /** Who hears of changes to the state that outlives a restart: persistence, when it is on. */
  get observer(): StateObserver {
    return this.persistence ?? NOT_OBSERVED;
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
    return this.listeners.ports;
  }

  /** The port `listener` is bound to (its configured port when it is not open). */
  portOf(listener: ListenerOptions): number {
    return this.listeners.boundPort(listener) ?? listener.port;
  }

  /**
   * Open the listeners and start serving: the plain listeners are open when this returns, the
   * TLS ones (their files read first) when it resolves. A listener that cannot open throws or
   * rejects (after closing those already open), unless it is optional: then a warning says why
   * it is missing.
   */
  start(): Promise<void> {
    this.stopping = false;
    this.startedAt = this.now();
    this.loads = new LoadAverages(this.startedAt);
    const tlsOpen = this.listeners.open();
    this.#checkMemory();
    this.#sweepTimer = setInterval(() => this.#sweep(), SWEEP_INTERVAL_MS);
    this.sysTree.schedule();
    return tlsOpen;
  }

  /**
   * Serve the broker's end of one of its own bridges: `conn` carries MQTT as a client's socket
   * does, through no listener; `end.bridge` says whose it is.
   */
  attachBridge(conn: Conn, end: ListenerOptions & { bridge: BridgeEnd }): void {
    const counters = this.metrics.counters(undefined, BEFORE_CONNECT);
    this.#serve(conn, { address: `bridge ${end.bridge.name}`, port: 0, listener: end, counters });
  }

  /** Serve a connection the listeners admitted (or a bridge's, `attachBridge`). */
  #serve(conn: Conn, peer: Peer): void {
    const connection = new Connection(this, conn, peer);
    this.connections.add(connection);
    if (this.log.connectionMessages && peer.listener.bridge === undefined) {
      const port = this.portOf(peer.listener);
      this.log.notice(`New connection from ${connection.remote} on port ${port}.`);
    }
    this.#liveReadLoops++;
    connection.start();
  }

  /**
   * Stop: close the listeners, close every connection, clear timers. As Mosquitto 2.0 does,
   * clients get no DISCONNECT (0x8B would be allowed, MQTT 5.0 §3.14.2.1): the socket closes.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.sysTree.stop();
    await this.listeners.close();
    for (const conn of [...this.connections]) {
      conn.publishWillOnClose = false;
      conn.close("server");
    }
    for (const conn of [...this.lingering]) conn.closeSocket();
    if (this.#liveReadLoops > 0) {
      await new Promise<void>((resolve) => this.#readLoopsEnded = resolve);
      this.#readLoopsEnded = undefined;
    }
    clearInterval(this.#sweepTimer);
    this.sessions.cancelDelayedWills();
    await this.persistence?.close();
  }

  /** Called once by each connection when its read loop has ended. */
  readLoopEnded(): void {
    if (--this.#liveReadLoops === 0) this.#readLoopsEnded?.();
  }

  /** The counters a session's traffic goes to, connected or not. */
  countersOf(session: Session): Counters {
    const conn = session.connection;
    if (conn !== undefined) return conn.counters;
    const listener = session.listener;
    const label = listener !== undefined ? this.listeners.label(listener) : undefined;
    return this.metrics.counters(label, session.version);
  }

  /** Count the bytes open connections have written (see `Counters.bytesSent`). */
  settleCounters(): void {
    for (const conn of this.connections) conn.settleBytesSent();
  }

  /** Called by a connection as it closes: log, detach the session, the will, expiry. */
  connectionClosed(conn: Connection, kind: CloseKind): void {
    if (this.connections.delete(conn) && conn.listener.bridge === undefined) {
      this.listeners.released(conn.listener);
    }
    this.sessions.detach(conn, kind);
  }

  #checkMemory(): void {
    this.memory.check({
      limit: this.options.memoryLimit,
      retainedBytes: this.fanOut.retained.bytes,
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
        // Closed as if the network had failed [MQTT-3.1.2-22]: no DISCONNECT, as Mosquitto.
        conn.close("keepalive");
      }
    }
    this.sessions.expire(now);
  }

  /** Visit the retained messages `filter` matches: clients', then the `$SYS` values. */
  matchRetained(filter: string, visit: RetainedVisitor<Message>): void {
    this.fanOut.retained.match(filter, visit);
    this.sysTree.matchRetained(filter, visit);
  }

  /**
   * Publish a message from the broker itself (its log lines on `$SYS/broker/log/...`, a
   * bridge's state): QoS 0, no publisher, routed like a client's message, and kept as its
   * topic's retained message when `retain`. `payload` is kept as it is,
   * not copied: the caller must not reuse it.
   */
  publishFromBroker(topic: string, payload: Uint8Array, retain = false): void {
    const message = newMessage(topic, payload, 0, retain, "");
    message.owned = true;
    if (retain) this.fanOut.setRetained(topic, message);
    this.fanOut.route(message);
  }
}
