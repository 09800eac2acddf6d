/**
 * The persistence seam: the broker reports every change to the state that outlives a restart
 * (sessions, subscriptions, deliveries, inbound QoS 2 ids, retained messages) to one
 * `StateObserver`. With persistence on, `Persistence` (persistence.ts) is that observer and
 * turns the changes into store records; with it off, `NOT_OBSERVED` hears them and does
 * nothing, so no call site asks whether persistence is on.
 *
 * The dispatcher reads `promised` before and after each packet: when the packet made changes
 * its answer promises (a CONNACK's session, a PUBACK's stored message), it calls
 * `holdUntilDurable` once, and the connection's output waits for them.
 *
 * @module
 */

import type { Message } from "./message.ts";
import type { Delivery, Session, SubscriptionOptions } from "./session.ts";

/** What holding a connection's output needs of it. */
export interface HoldableConnection {
  /** Its output queue. */
  readonly out: { hold(): void; release(): void };
  /** Close it (the broker is shutting down before its output could be released). */
  close(kind: "server"): void;
}

/** Hears of every change to the state that outlives a restart. */
export interface StateObserver {
  /**
   * A session began, resumed or changed (expiry, will, connection): stored while it outlives
   * its connection, forgotten when it no longer does.
   */
  sessionChanged(session: Session): void;
  /** A session ended: everything it holds is forgotten. */
  sessionEnded(session: Session): void;
  /** A subscription was added, or replaced one to the same filter. */
  subscribed(sub: SubscriptionOptions): void;
  /** A subscription was removed. */
  unsubscribed(sub: SubscriptionOptions): void;
  /** A new delivery joined its session's queue. */
  queued(session: Session, delivery: Delivery): void;
  /** A delivery, new or from the queue, went out under its packet id (it is in flight). */
  sent(session: Session, delivery: Delivery): void;
  /** A QoS 2 delivery got its PUBREC: it now awaits PUBCOMP. */
  released(session: Session, delivery: Delivery): void;
  /** A delivery is over (acknowledged, expired or dropped). */
  done(session: Session, delivery: Delivery): void;
  /**
   * The client sent a QoS 2 message under `packetId`: it is held until PUBREL (replacing one
   * held under that id).
   */
  incomingAdded(session: Session, packetId: number, message: Message): void;
  /** The client released `packetId` (PUBREL), or reused it for another message. */
  incomingReleased(session: Session, packetId: number): void;
  /** The retained message of a topic changed from `before` to `after` (either may be none). */
  retainedChanged(before: Message | undefined, after: Message | undefined): void;
  /**
   * Changes so far that an answer to the client may promise (not counted: in-flight state and
   * ends of deliveries, which a crash may only make be sent again).
   */
  readonly promised: number;
  /** Hold `conn`'s output until every change so far is durable; output queued since waits too. */
  holdUntilDurable(conn: HoldableConnection): void;
}

function ignore(): void {}

/** The observer when persistence is off: nothing is stored, nothing is held. */
export const NOT_OBSERVED: StateObserver = {
  sessionChanged: ignore,
  sessionEnded: ignore,
  subscribed: ignore,
  unsubscribed: ignore,
  queued: ignore,
  sent: ignore,
  released: ignore,
  done: ignore,
  incomingAdded: ignore,
  incomingReleased: ignore,
  retainedChanged: ignore,
  promised: 0,
  holdUntilDurable: ignore,
};
