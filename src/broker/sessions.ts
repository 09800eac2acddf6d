/**
 * The session registry: every session by client id, connected or not. It attaches a session to
 * its connection, takes a session over for a new connection, detaches it when the connection
 * closes, sends wills (now or after their delay), expires sessions, and subscribes and
 * unsubscribes them (one operation for SUBSCRIBE, UNSUBSCRIBE and a restore from the store).
 *
 * @module
 */

import { orderWithout, type ProtocolVersion, ReasonCode } from "../codec/mod.ts";
import { mayLeaveWill } from "./access.ts";
import type { FanOut } from "./fan_out.ts";
import { newMessage } from "./message.ts";
import type { Metrics } from "./metrics.ts";
import type { BrokerOptions } from "./options.ts";
import type { StateObserver } from "./state_observer.ts";
import {
  type CloseKind,
  NEVER_EXPIRES,
  Session,
  type SessionConnection,
  type SubscriptionOptions,
} from "./session.ts";

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

/** What the session registry needs of the broker. */
export interface SessionsContext {
  /** Options in force (read as they are when used: a reload may change them). */
  readonly options: BrokerOptions;
  /** Counters. */
  readonly metrics: Metrics;
  /** Subscriptions and routing (wills are routed like any message). */
  readonly fanOut: FanOut;
  /** The current time in ms. */
  now(): number;
  /** Who hears of changes to sessions (persistence may be set after the registry is made). */
  observer(): StateObserver;
}

/** How a connecting client wants its session. */
export interface SessionRequest {
  /** Clean start (5.0) or clean session (3.x): an existing session is not resumed. */
  cleanStart: boolean;
  /** Protocol version of the connection. */
  version: ProtocolVersion;
  /** Seconds the session is to outlive its connection. */
  expiryInterval: number;
}

/** Every session by client id, and what happens to them over their lives. */
export class SessionRegistry {
  #byClientId = new Map<string, Session>();
  #context: SessionsContext;
  #connected = 0;

  /** An empty registry for the broker of `context`. */
  constructor(context: SessionsContext) {
    this.#context = context;
  }

  /** Sessions held, connected or not. */
  get size(): number {
    return this.#byClientId.size;
  }

  /** Clients connected now. */
  get connectedCount(): number {
    return this.#connected;
  }

  /** The session of `clientId`, if there is one. */
  get(clientId: string): Session | undefined {
    return this.#byClientId.get(clientId);
  }

  /** Whether `clientId` has a session. */
  has(clientId: string): boolean {
    return this.#byClientId.has(clientId);
  }

  /** Every session. */
  values(): IterableIterator<Session> {
    return this.#byClientId.values();
  }

  /** Every client id that has a session. */
  clientIds(): IterableIterator<string> {
    return this.#byClientId.keys();
  }

  /** Whether `clientId` is connected now. */
  isOnline(clientId: string): boolean {
    return this.#byClientId.get(clientId)?.connection !== undefined;
  }

  /** Hold `session` (a restored one), replacing any other of its client id. */
  add(session: Session): void {
    this.#byClientId.set(session.clientId, session);
  }

  /**
   * The session for a new connection of `clientId`. A connection that has it now is closed
   * [MQTT-3.1.4-3]; the session is resumed unless `request.cleanStart` says otherwise
   * [MQTT-3.2.2-3]; a pending delayed will is dropped either way [MQTT-3.1.3-9]
   * [MQTT-3.1.2-8] (as Mosquitto does). The will of the closed connection is published only
   * when its session or the new connection is not persistent, as Mosquitto decides: a session
   * that lives on is resumed at once, so its client has not gone.
   */
  takeOver(clientId: string, request: SessionRequest): { session: Session; resumed: boolean } {
    let existing = this.#byClientId.get(clientId);
    if (existing?.connection !== undefined) {
      this.#context.options.logger.info(
        `Client ${clientId} already connected, closing old connection.`,
      );
      const old = existing.connection;
      if (existing.expiryInterval > 0 && !request.cleanStart) old.publishWillOnClose = false;
      old.disconnect(ReasonCode.SessionTakenOver, "takeover");
      existing = this.#byClientId.get(clientId); // gone if it ended with that connection
    }
    if (existing !== undefined && !request.cleanStart) {
      this.cancelDelayedWill(existing);
      return { session: existing, resumed: true };
    }
    if (existing !== undefined) {
      // Ending the session must not publish the will.
      this.cancelDelayedWill(existing);
      this.end(existing);
    }
    const session = new Session(clientId, request.version, request.expiryInterval);
    this.#byClientId.set(clientId, session);
    return { session, resumed: false };
  }

  /**
   * Make `conn` the connection of `session`. From now on its traffic counts for its listener
   * and protocol version, its CONNECT included.
   */
  attach(session: Session, conn: SessionConnection): void {
    const { metrics, now } = this.#context;
    session.connection = conn;
    conn.session = session;
    conn.connectedAt = now();
    const connected = ++this.#connected;
    if (connected > metrics.clientsMaximum) metrics.clientsMaximum = connected;
    conn.countConnected(metrics.counters(conn.counters.listener, conn.version));
  }

  /**
   * `conn` has closed (as `kind` says): log it (before CONNECT too, as Mosquitto), detach its
   * session, the will, expiry.
   */
  detach(conn: SessionConnection, kind: CloseKind): void {
    const session = conn.session;
    const log = this.#context.options.logger;
    const line = closeLine(session === undefined ? "<unknown>" : conn.clientId, kind);
    if (line !== undefined && log.connectionMessages) log.notice(line);
    if (session === undefined) return;
    this.#connected--;
    if (session.connection !== conn) return; // already taken over
    session.connection = undefined;
    session.disconnectedAt = this.#context.now();
    if (conn.publishWillOnClose && kind !== "server") this.startWill(session);
    else session.will = undefined;
    if (session.expiryInterval === 0) this.end(session);
    else this.#context.observer().sessionChanged(session);
  }

  /**
   * Add or replace the subscription of `options.session` to `options.filter`, in the router,
   * the session and the store; returns whether it is new.
   */
  subscribe(options: SubscriptionOptions): boolean {
    const isNew = this.#context.fanOut.subscribe(options);
    options.session.setSubscription(options.filter, options);
    this.#context.observer().subscribed(options);
    return isNew;
  }

  /**
   * Remove the subscription of `session` to `filter` from the router, the session and the
   * store; returns whether the router had it.
   */
  unsubscribe(session: Session, filter: string): boolean {
    const existed = this.#context.fanOut.unsubscribe(session.clientId, filter);
    const sub = session.subscriptions.get(filter);
    if (sub !== undefined) this.#context.observer().unsubscribed(sub);
    session.deleteSubscription(filter);
    return existed;
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
    const { options, fanOut, now } = this.#context;
    if (this.#byClientId.get(session.clientId) === session) {
      this.#context.observer().sessionChanged(session); // the will is gone
    }
    // The ACL may have changed since CONNECT (a reload) [acl_file].
    if (!mayLeaveWill(options, session, will.topic)) {
      this.#context.metrics.aclDenied.publish++;
      options.logger.notice(
        `Will of ${session.clientId} on '${will.topic}' not published: not authorised.`,
      );
      return;
    }
    const { willDelayInterval: _d, messageExpiryInterval: expiry, ...rest } = will.properties ??
      {};
    if (rest.order !== undefined) {
      rest.order = orderWithout(rest.order, ["willDelayInterval", "messageExpiryInterval"]);
    }
    const message = newMessage(
      will.topic,
      will.payload.slice(),
      will.qos,
      will.retain,
      session.clientId,
      Object.keys(rest).length > 0 ? rest : undefined,
      expiry !== undefined ? now() + expiry * 1000 : undefined,
    );
    message.owned = true;
    if (will.retain) fanOut.setRetained(will.topic, message);
    fanOut.route(message);
  }

  /** Cancel a pending delayed will (the client came back). */
  cancelDelayedWill(session: Session): void {
    if (session.willTimer !== undefined) {
      clearTimeout(session.willTimer);
      session.willTimer = undefined;
    }
  }

  /** Cancel every pending delayed will (the broker stops). */
  cancelDelayedWills(): void {
    for (const session of this.#byClientId.values()) this.cancelDelayedWill(session);
  }

  /** End a session: its subscriptions go, and a pending delayed will is sent now. */
  end(session: Session): void {
    if (session.willTimer !== undefined) {
      this.cancelDelayedWill(session);
      this.#publishWill(session);
    }
    const fanOut = this.#context.fanOut;
    for (const filter of session.subscriptions.keys()) fanOut.unsubscribe(session.clientId, filter);
    this.#context.observer().sessionEnded(session);
    session.clear();
    if (this.#byClientId.get(session.clientId) === session) {
      this.#byClientId.delete(session.clientId);
    }
  }

  /** End the sessions that have been without a connection longer than their expiry interval. */
  expire(now: number): void {
    const { metrics, options } = this.#context;
    for (const session of this.#byClientId.values()) {
      if (
        session.connection === undefined && session.expiryInterval !== NEVER_EXPIRES &&
        now - session.disconnectedAt >= session.expiryInterval * 1000
      ) {
        metrics.clientsExpired++;
        options.logger.notice(`Expiring client ${session.clientId}.`);
        this.end(session);
      }
    }
  }
}
