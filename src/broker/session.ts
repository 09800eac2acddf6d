/**
 * A client's session: its subscriptions, the QoS 1/2 messages in flight to it, its queue of
 * messages waiting to be sent, the QoS 2 messages it has sent us and not yet released, its
 * will, and when it expires. No sockets: the connection, when there is one, is a reference.
 *
 * @module
 */

import type { Packet, ProtocolVersion, QoS, Will } from "../codec/mod.ts";
import type { OutQueue } from "../transport/out_queue.ts";
import type { Counters } from "./metrics.ts";
import type { ListenerOptions } from "./options.ts";
import type { Message } from "./message.ts";
import type { StoreMark } from "./store_mark.ts";

// deno-lint-ignore no-explicit-any
const EMPTY_MAP: ReadonlyMap<any, any> = new Map();
/** The queue and the drain waiters of a session that never had any (never written to). */
const NO_DELIVERIES: Delivery[] = [];
const NO_WAITERS: (() => void)[] = [];
const NO_IDS: number[] = [];

/** Session expiry that means "never" (MQTT 5.0 §3.1.2.11.2). */
export const NEVER_EXPIRES = 0xffffffff;

/** How a connection ended, for the log line and the will. */
export type CloseKind =
  | "disconnect" // the client sent DISCONNECT
  | "lost" // the socket closed or failed
  | "keepalive" // keep alive expired
  | "protocol" // a malformed or illegal packet
  | "takeover" // another connection took the session
  | "server"; // the broker closed it (shutdown, refusal)

/**
 * A client's connection as a session and those who reach it through `Session.connection` see
 * it (delivery, the registry, persistence, the HTTP API): who the client is, the limits it
 * announced, its output and counters, and how it is ended. No socket: `Connection` (the class)
 * is this and more.
 */
export interface SessionConnection {
  /** Client id once CONNECT is handled ("" before). */
  clientId: string;
  /** Protocol version; 4 until CONNECT says otherwise. */
  version: ProtocolVersion;
  /** The session, once CONNECT is accepted. */
  session: Session | undefined;
  /** The listener the client connected through. */
  readonly listener: ListenerOptions;
  /** "ip:port" of the peer. */
  readonly remote: string;
  /** Batched output. */
  readonly out: OutQueue;
  /** The counters this connection's traffic goes to. */
  readonly counters: Counters;
  /** When its CONNECT was accepted (ms); 0 before. */
  connectedAt: number;
  /** Keep alive in ms granted to the client; 0 disables it. */
  keepAliveMs: number;
  /** Whether the connection is closed or closing. */
  readonly closed: boolean;
  /** The client's receive maximum (5.0): QoS 1/2 messages it takes at once. */
  clientReceiveMaximum: number;
  /** The largest packet the client accepts (5.0). */
  clientMaximumPacketSize: number;
  /** Whether the will must be published when this connection ends. */
  publishWillOnClose: boolean;
  /** Its CONNECT was accepted: count its traffic in `counters` from now on. */
  countConnected(counters: Counters): void;
  /** Encode `packet` for this connection's version and queue it. */
  send(packet: Packet): void;
  /** Close with a reason (a 5.0 client that completed CONNECT first gets DISCONNECT). */
  disconnect(reasonCode: number, kind: CloseKind): void;
  /** Close after writing what is queued. Idempotent. */
  close(kind: CloseKind): void;
}

/** One subscription as the router stores it. */
export interface SubscriptionOptions {
  /** The subscriber. */
  session: Session;
  /** The filter as subscribed (with any `$share/GROUP/` prefix). */
  filter: string;
  /** Maximum QoS granted. */
  qos: QoS;
  /** 5.0 no local. */
  noLocal: boolean;
  /** 5.0 retain as published. */
  retainAsPublished: boolean;
  /** 5.0 retain handling. */
  retainHandling: 0 | 1 | 2;
  /** 5.0 subscription identifier, if the SUBSCRIBE carried one. */
  subscriptionId: number | undefined;
}

/**
 * A message bound for this session with the per-subscriber parts decided. The same object
 * waits in the queue and then, for QoS 1 and 2, stays in flight until acknowledged.
 */
export interface Delivery {
  /** The message. */
  message: Message;
  /** QoS of this delivery (the lower of the message's and the subscription's). */
  qos: QoS;
  /** Retain flag of this delivery. */
  retain: boolean;
  /** Subscription identifiers of the matching subscriptions (5.0). */
  subscriptionIds: number[] | undefined;
  /**
   * Packet identifier (QoS 1 and 2), given when the delivery is queued or sent, whichever comes
   * first, as Mosquitto gives it: a queued message that expires leaves a gap. 0 for QoS 0.
   */
  packetId: number;
  /** "queued" waits in the queue; in flight, "publish" awaits PUBACK or PUBREC, "pubrel" PUBCOMP. */
  state: "queued" | "publish" | "pubrel";
  /** Its store keys while persistence stores it (store_mark.ts); undefined otherwise. */
  store: StoreMark | undefined;
}

/** A delivery of `message` not queued or sent yet (no packet id) and not stored. */
export function newDelivery(
  message: Message,
  qos: QoS,
  retain: boolean,
  subscriptionIds: number[] | undefined,
): Delivery {
  return { message, qos, retain, subscriptionIds, packetId: 0, state: "queued", store: undefined };
}

/** A client's session state. */
export class Session {
  /** Client identifier. */
  readonly clientId: string;
  /** Protocol version of the last connection. */
  version: ProtocolVersion;
  #subscriptions: Map<string, SubscriptionOptions> | undefined;
  /** Seconds the session outlives its connection; 0 ends it with the connection. */
  expiryInterval: number;
  /** The connection, while the client is connected. */
  connection: SessionConnection | undefined;
  /** Username of the last connection, for ACL checks. */
  username: string | undefined;
  /** Listener of the last connection: its ACL applies, even while the client is away. */
  listener: ListenerOptions | undefined;
  /** When the last connection ended (ms), for expiry. */
  disconnectedAt = 0;
  #inflight: Map<number, Delivery> | undefined;
  #incomingQos2: Map<number, Message | undefined> | undefined;
  /** The will of the current or last connection. */
  will: Will | undefined;
  /** Timer of a delayed will, if one is pending. */
  willTimer: ReturnType<typeof setTimeout> | undefined;
  /** Set by flow control (flow_control.ts) when a publisher waited for this queue in vain. */
  stalled = false;
  /** Messages dropped for this client (its queue was full, or its output backed up). */
  dropped = 0;
  /** PUBLISH packets from this client refused because `memory_limit` was reached. */
  refusedForMemory = 0;
  /** Whether "messages are being dropped" was logged since the queue last emptied. */
  droppingLogged = false;
  #queue: Delivery[] = NO_DELIVERIES;
  #queueHead = 0;
  #queuedBytes = 0;
  #nextPacketId = 1;
  #drainWaiters: (() => void)[] = NO_WAITERS;
  #heldResends: number[] = NO_IDS;
  #heldResendsHead = 0;

  /** A new, empty session. */
  constructor(clientId: string, version: ProtocolVersion, expiryInterval: number) {
    this.clientId = clientId;
    this.version = version;
    this.expiryInterval = expiryInterval;
  }

  // The collections are created on first use: most connections of a large fleet are idle and
  // never need them (an empty Map costs about 200 bytes).

  /** Subscriptions by filter. */
  get subscriptions(): ReadonlyMap<string, SubscriptionOptions> {
    return this.#subscriptions ?? EMPTY_MAP;
  }

  /** Add or replace the subscription to `filter`. */
  setSubscription(filter: string, options: SubscriptionOptions): void {
    (this.#subscriptions ??= new Map()).set(filter, options);
  }

  /** Remove the subscription to `filter`; returns whether there was one. */
  deleteSubscription(filter: string): boolean {
    return this.#subscriptions?.delete(filter) ?? false;
  }

  /** Outgoing QoS 1/2 messages awaiting acknowledgement, in send order. */
  get inflight(): ReadonlyMap<number, Delivery> {
    return this.#inflight ?? EMPTY_MAP;
  }

  /** Record a message in flight under its packet id. */
  setInflight(delivery: Delivery): void {
    (this.#inflight ??= new Map()).set(delivery.packetId, delivery);
  }

  /** Forget the message in flight under `packetId`; returns whether there was one. */
  deleteInflight(packetId: number): boolean {
    return this.#inflight?.delete(packetId) ?? false;
  }

  /**
   * Inbound QoS 2 messages that got PUBREC, by packet id: each goes to its subscribers at its
   * PUBREL, as in Mosquitto (exactly once). Undefined for an id whose message went out when it
   * arrived (restored from a record written before messages were held).
   */
  get incomingQos2(): ReadonlyMap<number, Message | undefined> {
    return this.#incomingQos2 ?? EMPTY_MAP;
  }

  /** Hold an inbound QoS 2 message under its packet id until its PUBREL (replacing one held). */
  holdIncoming(packetId: number, message: Message | undefined): void {
    (this.#incomingQos2 ??= new Map()).set(packetId, message);
  }

  /** Forget the inbound QoS 2 message under `packetId`; returns whether one was held. */
  deleteIncoming(packetId: number): boolean {
    return this.#incomingQos2?.delete(packetId) ?? false;
  }

  /** Forget subscriptions, messages in flight and queued (the session ends). */
  clear(): void {
    this.#subscriptions = undefined;
    this.#inflight = undefined;
    this.#incomingQos2 = undefined;
    this.holdResends(NO_IDS);
    this.clearQueue();
  }

  /**
   * Note the packet ids, in order, of messages in flight that a resumed connection is to be
   * sent again once its receive maximum allows (replacing those noted before).
   */
  holdResends(packetIds: number[]): void {
    this.#heldResends = packetIds.length === 0 ? NO_IDS : packetIds;
    this.#heldResendsHead = 0;
  }

  /** In-flight messages not sent again yet on the resumed connection. */
  get heldResendCount(): number {
    return this.#heldResends.length - this.#heldResendsHead;
  }

  /** The next held message's packet id, taken off the list. */
  takeHeldResend(): number | undefined {
    if (this.heldResendCount === 0) return undefined;
    const id = this.#heldResends[this.#heldResendsHead++];
    if (this.heldResendCount === 0) this.holdResends(NO_IDS);
    return id;
  }

  /** Messages waiting in the queue. */
  get queuedCount(): number {
    return this.#queue.length - this.#queueHead;
  }

  /** Payload bytes waiting in the queue. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /**
   * Append a delivery to the queue. A QoS 1/2 one without a packet id gets one now, if one is
   * free (with 65535 in flight and queued, it gets one when it is sent: a bridge's queue holds
   * more); one that has its id (restored) keeps it, and ids go on after it.
   */
  enqueue(delivery: Delivery): void {
    if (delivery.qos > 0) {
      const id = delivery.packetId;
      if (id === 0) {
        delivery.packetId = this.allocatePacketId() ?? 0;
      } else {
        this.#nextPacketId = id === 65535 ? 1 : id + 1;
      }
    }
    if (this.#queue === NO_DELIVERIES) this.#queue = [];
    this.#queue.push(delivery);
    this.#queuedBytes += delivery.message.payload.length;
  }

  /** The queued deliveries, oldest first. */
  *queued(): IterableIterator<Delivery> {
    for (let i = this.#queueHead; i < this.#queue.length; i++) yield this.#queue[i];
  }

  /** Take the oldest queued delivery. */
  dequeue(): Delivery | undefined {
    if (this.#queueHead >= this.#queue.length) return undefined;
    const d = this.#queue[this.#queueHead];
    this.#queue[this.#queueHead++] = undefined as unknown as Delivery;
    this.#queuedBytes -= d.message.payload.length;
    if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
    return d;
  }

  /**
   * Resolve once the queue has drained to flow control's low-water mark, or after
   * `timeoutMs` (a stalled client must not hold a publisher forever).
   */
  waitForDrain(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      if (this.#drainWaiters === NO_WAITERS) this.#drainWaiters = [];
      const waiters = this.#drainWaiters;
      function done(): void {
        clearTimeout(timer);
        const i = waiters.indexOf(done);
        if (i >= 0) waiters.splice(i, 1);
        resolve();
      }
      waiters.push(done);
    });
  }

  /** Wake everyone waiting for this queue to drain. */
  notifyDrained(): void {
    if (this.#drainWaiters.length === 0) return;
    for (const done of [...this.#drainWaiters]) done();
  }

  /** Drop every queued delivery (clean start). */
  clearQueue(): void {
    this.#queue = NO_DELIVERIES;
    this.#queueHead = 0;
    this.#queuedBytes = 0;
    this.notifyDrained();
  }

  /**
   * A free packet identifier for an outgoing message, or undefined if all 65535 are used. Ids
   * go up in queue order, so the queue holds those from its oldest one's to the last given:
   * reaching the oldest queued id means every id is taken.
   */
  allocatePacketId(): number | undefined {
    const inflight = this.inflight;
    const oldestQueued = this.#oldestQueuedId();
    let id = this.#nextPacketId;
    for (let tries = 0; tries < 65535; tries++) {
      if (id === oldestQueued) return undefined;
      const next = id === 65535 ? 1 : id + 1;
      if (!inflight.has(id)) {
        this.#nextPacketId = next;
        return id;
      }
      id = next;
    }
    return undefined;
  }

  /** The packet id of the oldest queued QoS 1/2 delivery; 0 when there is none. */
  #oldestQueuedId(): number {
    for (let i = this.#queueHead; i < this.#queue.length; i++) {
      const id = this.#queue[i].packetId;
      if (id !== 0) return id;
    }
    return 0;
  }
}
