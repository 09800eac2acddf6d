/**
 * The broker's side of persistence: turns changes to sessions, queues, in-flight state and
 * retained messages into store records (src/store/records.ts), committed in groups, and holds
 * back what a client must not see before those changes are durable.
 *
 * The durability contract (README, "Persistence"): a connection whose packet changed stored
 * state has its output held until the commit that stores the change. So the PUBACK / PUBREC of
 * a message reaches its publisher only once the message is stored for every persistent
 * subscriber (and as retained), CONNACK and SUBACK only once the session and subscription
 * are, PUBCOMP only once the released packet id is forgotten; a QoS 2 PUBLISH (and its PUBREL)
 * reaches a persistent subscriber only once its packet id is stored, so a crash can never
 * make the broker send it again under another id. QoS 1 messages go to connected subscribers
 * at once: after a crash they may come again (at least once), never not at all.
 *
 * Only sessions that outlive their connection are stored (3.x clean session 0, 5.0 session
 * expiry > 0); the messages of clean sessions live in memory only, as in Mosquitto.
 *
 * @module
 */

import { ReasonCode } from "../codec/mod.ts";
import { GroupCommit } from "../store/group_commit.ts";
import {
  deliveryKey,
  encodeDelivery,
  encodeMessage,
  encodeSession,
  encodeSubscription,
  incomingKey,
  MARKER,
  messageKey,
  retainedKey,
  sessionKey,
  subscriptionKey,
} from "../store/records.ts";
import type { Store } from "../store/store.ts";
import type { Broker } from "./broker.ts";
import type { Connection } from "./connection.ts";
import type { Message } from "./message.ts";
import type { Delivery, Session, SubscriptionOptions } from "./session.ts";

/** Ids handed out after those found in the store. */
export interface StoreCounters {
  /** Next session id. */
  nextSessionId: number;
  /** Next message id. */
  nextMessageId: number;
}

/** Keeps the store in step with the broker's state. */
export class Persistence {
  /** The store. */
  readonly store: Store;
  readonly #broker: Broker;
  readonly #writer: GroupCommit;
  /**
   * Deliveries whose record the open batch must write, encoded as it leaves: a message
   * acknowledged before that (most, to connected subscribers) costs no write, no encoding and
   * no map entry at all.
   */
  #unsealed: Delivery[] = [];
  /** The store ids of their sessions (the keys are made only for records written). */
  #unsealedSessions: number[] = [];
  #nextSessionId = 1;
  #nextMessageId = 1;
  /** Connections whose output waits for a batch, by batch number. */
  #held = new Map<number, Connection[]>();
  #failures = 0;

  /** Persist `broker`'s state to `store`. */
  constructor(broker: Broker, store: Store) {
    this.#broker = broker;
    this.store = store;
    this.#writer = new GroupCommit(
      store,
      (batch, error) => this.#batchDone(batch, error),
      () => this.#seal(),
    );
  }

  /** Continue numbering after what `restore` found. */
  setCounters(counters: StoreCounters): void {
    this.#nextSessionId = counters.nextSessionId;
    this.#nextMessageId = counters.nextMessageId;
  }

  /** Changes made so far (compare before and after handling a packet). */
  get changeCount(): number {
    return this.#writer.changeCount;
  }

  /** Whether the last commit failed (its changes wait for the next one). Read by /health. */
  get failing(): boolean {
    return this.#failures > 0;
  }

  // ---- sessions ----

  /**
   * Bring a session's records in line with it: stored while it outlives its connection
   * (everything it holds, the first time), removed when it no longer does, its record updated
   * otherwise (will, expiry, disconnect time).
   */
  syncSession(session: Session): void {
    const persistent = session.expiryInterval > 0;
    if (!persistent) {
      if (session.storeId > 0) this.unstoreSession(session);
      return;
    }
    const created = session.storeId === 0;
    if (created) session.storeId = this.#nextSessionId++;
    this.#writer.put(sessionKey(session.storeId), encodeSession(sessionRecord(session)), created);
    if (!created) return;
    for (const sub of session.subscriptions.values()) this.subscribed(session, sub);
    for (const delivery of session.inflight.values()) this.stored(session, delivery);
    for (const delivery of session.queued()) this.stored(session, delivery);
    for (const packetId of session.incomingQos2) this.incomingAdded(session, packetId);
  }

  /** Remove every record of a session (it ended, or no longer outlives its connection). */
  unstoreSession(session: Session): void {
    const sid = session.storeId;
    if (sid === 0) return;
    for (const sub of session.subscriptions.values()) this.unsubscribed(session, sub);
    for (const delivery of session.inflight.values()) this.done(session, delivery);
    for (const delivery of session.queued()) this.done(session, delivery);
    for (const packetId of session.incomingQos2) this.incomingReleased(session, packetId);
    this.#writer.delete(sessionKey(sid));
    session.storeId = 0;
  }

  // ---- subscriptions ----

  /** A stored session added or replaced a subscription. */
  subscribed(session: Session, sub: SubscriptionOptions): void {
    if (session.storeId === 0) return;
    const created = sub.storeKey === 0;
    if (created) sub.storeKey = session.nextSubscriptionKey++;
    this.#writer.put(
      subscriptionKey(session.storeId, sub.storeKey),
      encodeSubscription({
        filter: sub.filter,
        qos: sub.qos,
        noLocal: sub.noLocal,
        retainAsPublished: sub.retainAsPublished,
        retainHandling: sub.retainHandling,
        subscriptionId: sub.subscriptionId ?? 0,
      }),
      created,
    );
  }

  /** A stored session dropped a subscription. */
  unsubscribed(session: Session, sub: SubscriptionOptions): void {
    if (session.storeId === 0 || sub.storeKey === 0) return;
    this.#writer.delete(subscriptionKey(session.storeId, sub.storeKey));
    sub.storeKey = 0;
  }

  // ---- deliveries ----

  /** A new delivery to a stored session, queued or already in flight. */
  stored(session: Session, delivery: Delivery): void {
    if (session.storeId === 0) return;
    delivery.message.storeRefs++;
    delivery.storeSeq = session.nextStoreSeq++;
    this.#unseal(session, delivery, true);
  }

  /**
   * A delivery's in-flight state changed (a queued one got its packet id, a QoS 2 one its
   * PUBREC): its record is written again, so that after a restart it is resent first, as it
   * stands, under the same id [MQTT-4.4.0-1] (QoS 2 output waits for this: see `hold`).
   */
  updated(session: Session, delivery: Delivery): void {
    if (delivery.storeSeq > 0) this.#unseal(session, delivery, false);
  }

  /** A delivery is over (acknowledged, expired or dropped). */
  done(session: Session, delivery: Delivery): void {
    if (delivery.storeSeq === 0) return;
    if (delivery.storePending && delivery.storeNew) this.#writer.cancelled();
    else this.#writer.delete(deliveryKey(session.storeId, delivery.storeSeq));
    delivery.storeSeq = 0;
    delivery.storePending = false;
    this.#unref(delivery.message);
  }

  /** The open batch must write `delivery`'s record (`isNew`: it has none yet). */
  #unseal(session: Session, delivery: Delivery, isNew: boolean): void {
    if (delivery.storePending) return; // already: encoded as it stands when the batch leaves
    delivery.storePending = true;
    delivery.storeNew = isNew;
    this.#unsealed.push(delivery);
    this.#unsealedSessions.push(session.storeId);
    this.#writer.touch();
  }

  /** The open batch is leaving: write the records of its deliveries still pending. */
  #seal(): void {
    const deliveries = this.#unsealed;
    const sessions = this.#unsealedSessions;
    this.#unsealed = [];
    this.#unsealedSessions = [];
    for (let i = 0; i < deliveries.length; i++) {
      const delivery = deliveries[i];
      if (!delivery.storePending) continue; // done meanwhile
      delivery.storePending = false;
      this.#writer.put(
        deliveryKey(sessions[i], delivery.storeSeq),
        this.#encodeDelivery(delivery),
        false,
      );
    }
  }

  /**
   * The record of a delivery as it stands when its batch leaves. A message no other stored
   * record refers to goes inside it (one write, one delete); one that several deliveries (or
   * the retained index) share gets a record of its own, written once.
   */
  #encodeDelivery(delivery: Delivery): Uint8Array {
    const message = delivery.message;
    const inside = message.storeId === 0 && message.storeRefs <= 1;
    if (!inside) this.#share(message);
    return encodeDelivery({
      messageId: inside ? 0 : message.storeId,
      message: inside ? message : undefined,
      qos: delivery.qos,
      retain: delivery.retain,
      subscriptionIds: delivery.subscriptionIds,
      state: delivery.packetId === 0 ? "queued" : delivery.state,
      packetId: delivery.packetId,
    });
  }

  // ---- inbound QoS 2 ----

  /** A stored session's client sent a QoS 2 message under `packetId`. */
  incomingAdded(session: Session, packetId: number): void {
    if (session.storeId === 0) return;
    this.#writer.put(incomingKey(session.storeId, packetId), MARKER, true);
  }

  /** The client released `packetId` (PUBREL). */
  incomingReleased(session: Session, packetId: number): void {
    if (session.storeId === 0) return;
    this.#writer.delete(incomingKey(session.storeId, packetId));
  }

  // ---- retained messages ----

  /** The retained message of a topic changed from `before` to `after` (either may be none). */
  retainedChanged(before: Message | undefined, after: Message | undefined): void {
    if (before !== undefined && before.storeId > 0) {
      this.#writer.delete(retainedKey(before.storeId));
      this.#unref(before);
    }
    if (after !== undefined) {
      after.storeRefs++;
      this.#share(after);
      this.#writer.put(retainedKey(after.storeId), MARKER, true);
    }
  }

  // ---- messages ----

  /** Give `message` a record of its own (`m/MID`), unless it has one. */
  #share(message: Message): void {
    if (message.storeId > 0) return;
    message.storeId = this.#nextMessageId++;
    const source = message.retainSource;
    const record = source === undefined ? message : {
      ...message,
      source: { username: source.username, listenerPort: source.listener?.port },
    };
    this.#writer.put(messageKey(message.storeId), encodeMessage(record), true);
  }

  #unref(message: Message): void {
    if (--message.storeRefs > 0 || message.storeId === 0) return;
    this.#writer.delete(messageKey(message.storeId));
    message.storeId = 0;
  }

  // ---- holding output until changes are durable ----

  /**
   * Hold `conn`'s output until the changes made so far are durable (call it before queueing
   * the packet that must wait). Output queued meanwhile waits too, so its order is kept.
   */
  hold(conn: Connection): void {
    const batch = this.#writer.openBatch;
    if (conn.heldForBatch === batch) return;
    if (conn.heldForBatch === 0) conn.out.hold();
    conn.heldForBatch = batch;
    let held = this.#held.get(batch);
    if (held === undefined) this.#held.set(batch, held = []);
    held.push(conn);
    this.#writer.mark();
  }

  #batchDone(batch: number, error: Error | undefined): void {
    const held = this.#held.get(batch);
    this.#held.delete(batch);
    if (error !== undefined) {
      this.#failures++;
      this.#broker.log.error(
        `Error: persistence: cannot write to ${this.store.location}: ${error.message}. ` +
          `${this.#writer.pendingCount} changes are kept and tried again; ` +
          `${held?.length ?? 0} clients wait for them.`,
      );
      // Their changes go with the next batch: so does their output.
      for (const conn of held ?? []) {
        if (conn.heldForBatch === batch) {
          conn.heldForBatch = 0;
          this.hold(conn);
        }
      }
      return;
    }
    if (this.#failures > 0) {
      this.#broker.log.notice(`Persistence: writing to ${this.store.location} again.`);
      this.#failures = 0;
    }
    if (held === undefined) return;
    for (const conn of held) {
      if (conn.heldForBatch !== batch) continue; // held again for a later batch
      conn.heldForBatch = 0;
      conn.out.release();
    }
  }

  /** Resolve once every change made so far is durable. */
  flush(): Promise<void> {
    return this.#writer.flush();
  }

  /** Commit what is pending, release held output, and close the store. */
  async close(): Promise<void> {
    await this.#writer.close();
    for (const held of this.#held.values()) {
      for (const conn of held) {
        conn.heldForBatch = 0;
        conn.disconnect(ReasonCode.ServerShuttingDown, undefined, "server");
      }
    }
    this.#held.clear();
    await this.store.close();
  }
}

/** The record of `session` as it stands. */
function sessionRecord(session: Session) {
  return {
    clientId: session.clientId,
    version: session.version,
    expiryInterval: session.expiryInterval,
    disconnectedAt: session.connection !== undefined ? 0 : session.disconnectedAt,
    username: session.username,
    listenerPort: session.listener?.port,
    will: session.will,
  };
}
