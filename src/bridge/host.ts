/**
 * What a bridge needs of the broker it runs in: a way in for its local connection, a way to
 * publish its state, and a look at its own session. `Broker` is one as it is.
 *
 * @module
 */

import type { BridgeEnd, ListenerOptions } from "../broker/options.ts";
import type { Logger } from "../log/logger.ts";
import type { Conn } from "../transport/conn.ts";

/** A session as a bridge looks at its own. */
export interface BridgeSessionView {
  /** QoS 1/2 messages waiting in its queue. */
  readonly queuedCount: number;
  /** Messages dropped for it (queue full, output backed up). */
  readonly dropped: number;
  /** Its subscriptions, by filter. */
  readonly subscriptions: ReadonlyMap<string, unknown>;
  /** Messages in flight to it, by packet identifier. */
  readonly inflight: ReadonlyMap<number, unknown>;
}

/** The broker, as its bridges use it. */
export interface BridgeHost {
  /** The logger in force. */
  readonly log: Logger;
  /** Serve `conn` as the broker's end of a bridge's local connection. */
  attachBridge(conn: Conn, end: ListenerOptions & { bridge: BridgeEnd }): void;
  /** Publish from the broker (QoS 0), kept as retained when `retain`. */
  publishFromBroker(topic: string, payload: Uint8Array, retain?: boolean): void;
  /** The sessions, by client id. */
  readonly sessions: { get(clientId: string): BridgeSessionView | undefined };
}
