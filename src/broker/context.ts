/**
 * What the connection, the dispatcher, the handlers and delivery need of the broker
 * (`BrokerContext`) and of a connection (`ClientConnection`): types only. `Broker` and
 * `Connection` are these and more; the modules below them import these, never the classes,
 * so none of them is in an import cycle with broker.ts.
 *
 * @module
 */

import type { PeerIdentity } from "../transport/peer_certificate.ts";
import type { MqttError } from "../codec/mod.ts";
import type { Logger } from "../log/logger.ts";
import type { RetainedVisitor } from "../router/mod.ts";
import type { FanOut } from "./fan_out.ts";
import type { Publisher } from "./flow_control.ts";
import type { MemoryWatch } from "./memory_watch.ts";
import type { Message } from "./message.ts";
import type { Counters, Metrics } from "./metrics.ts";
import type { BrokerOptions } from "./options.ts";
import type { CloseKind, Session, SessionConnection } from "./session.ts";
import type { SessionRegistry } from "./sessions.ts";
import type { StateObserver } from "./state_observer.ts";

/** The broker as a connection and the handlers see it. */
export interface BrokerContext {
  /** The options in force (a reload may replace them: read at each use). */
  readonly options: BrokerOptions;
  /** The logger in force. */
  readonly log: Logger;
  /** Who hears of changes to the state that outlives a restart. */
  readonly observer: StateObserver;
  /** Sessions by client id, and their lives. */
  readonly sessions: SessionRegistry;
  /** Subscriptions, retained messages and routing. */
  readonly fanOut: FanOut;
  /** `memory_limit`: the PUBLISH handler's headroom. */
  readonly memory: MemoryWatch;
  /** Broker-wide counters (refused logins, ACL denials). */
  readonly metrics: Metrics;
  /** Whether `stop()` has begun: closing connections do not linger then. */
  readonly stopping: boolean;
  /**
   * Closed connections whose socket still reads and drops what their client sends (see
   * `Connection.close`); `stop()` closes their sockets at once.
   */
  readonly lingering: Set<{ closeSocket(): void }>;
  /** The current time in ms. */
  now(): number;
  /** The counters a session's traffic goes to, connected or not. */
  countersOf(session: Session): Counters;
  /** Visit the retained messages `filter` matches, clients' and `$SYS`'s. */
  matchRetained(filter: string, visit: RetainedVisitor<Message>): void;
  /** `conn` is closing (as `kind` says): forget it, detach its session. */
  connectionClosed(conn: ClientConnection, kind: CloseKind): void;
  /** A connection's read loop has ended. */
  readLoopEnded(): void;
}

/**
 * A connection as the dispatcher and the handlers see it: no socket, no read loop. As a
 * publisher, flow control may hold it.
 */
export interface ClientConnection extends SessionConnection, Publisher {
  /** The broker it belongs to. */
  readonly broker: BrokerContext;
  /** Whether CONNECT has been accepted. */
  readonly isConnected: boolean;
  /** A name for log lines: the client id, or the address before CONNECT. */
  readonly logName: string;
  /** The client certificate it presented over TLS, verified; undefined without one. */
  readonly certificate: PeerIdentity | undefined;
  /** Topic aliases the client has set, alias -> topic (5.0). */
  inboundAliases: Map<number, string> | undefined;
  /** Whether the client connected as a bridge (3.x protocol level with its high bit set). */
  isBridge: boolean;
  /** Log a malformed or illegal packet, tell a 5.0 client why, and close. */
  protocolFailure(error: MqttError): void;
}
