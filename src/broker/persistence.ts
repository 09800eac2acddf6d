/**
 * The broker's side of persistence: the `StateObserver` (state_observer.ts) that turns changes
 * to sessions, queues, in-flight state and retained messages into store records
 * (src/store/records.ts), committed in groups, and holds back what a client must not see before
 * those changes are durable. It owns the store keys: which sessions and subscriptions are
 * stored, and under which numbers, is kept here, not on the broker's objects; a stored
 * delivery or message carries this module's mark (`StoredDelivery`, `StoredMessage`) in its
 * opaque `store` field (store_mark.ts), which nothing else reads.
 *
 * The durability contract (README, "Persistence"): a connection whose packet made changes its
 * answer promises has its output held until the commit that stores them (the dispatcher
 * decides it once per packet, from `promised`). So the PUBACK of a message reaches its
 * publisher only once the message is stored for every persistent subscriber (and as
 * retained), the PUBREC of a QoS 2 message once it is stored with a persistent publisher's
 * session (it is held there until PUBREL releases it to its subscribers), CONNACK and SUBACK
 * only once the session and subscription are, PUBCOMP only once the released message is
 * stored for its subscribers and its packet id forgotten; a QoS 2 PUBLISH (and its PUBREL)
 * reaches a persistent subscriber only once its packet id is stored, so a crash can never make
 * the broker send it again under another id. QoS 1 messages go to connected subscribers at
 * once: after a crash they may come again (at least once), never not at all.
 *
 * Only sessions that outlive their connection are stored (3.x clean session 0, 5.0 session
 * expiry > 0); the messages of clean sessions live in memory only, as in Mosquitto.
 *
 * @module
 */

import type { Logger } from "../log/logger.ts";
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
  type MessageRecord,
  retainedKey,
  sessionKey,
  subscriptionKey,
} from "../store/records.ts";
import type { Store } from "../store/store.ts";
import type { Message } from "./message.ts";
import type { Delivery, Session, SubscriptionOptions } from "./session.ts";
import type { HoldableConnection, StateObserver } from "./state_observer.ts";
import type { StoreMark } from "./store_mark.ts";

/** Ids handed out after those found in the store. */
export interface StoreCounters {
  /** Next session id. */
  nextSessionId: number;
  /** Next message id. */
  nextMessageId: number;
}

/** What the store holds of a session. */
interface StoredSession {
  /** Its number: its record is `s/SID`. */
  readonly id: number;
  /** Next number for a stored delivery (keeps the stored queue in order). */
  nextSeq: number;
  /** Next number for a stored subscription. */
  nextSubscriptionKey: number;
  /** The numbers of its stored subscriptions (`u/SID/KEY`), by filter. */
  readonly subscriptions: Map<string, number>;
}

/** What the store holds of a delivery: the mark in its `store` field. */
interface StoredDelivery extends StoreMark {
  /** The number of its session: its record is `d/SID/SEQ`. */
  readonly sid: number;
  /** Its place in its session's stored queue. */
  readonly seq: number;
  /** Whether its record is to be written by the batch now open. */
  pending: boolean;
  /** Whether that record does not exist in the store yet. */
  isNew: boolean;
}

/** What the store holds of a message: the mark in its `store` field. */
interface StoredMessage extends StoreMark {
  /** Its own record's number (`m/MID`); 0 while it lives inside its one delivery's record. */
  id: number;
  /** Stored records that refer to it (deliveries, retained); it is marked while > 0. */
  refs: number;
}

/** The mark of a stored delivery; undefined when it is not stored. */
function storedDelivery(delivery: Delivery): StoredDelivery | undefined {
  return delivery.store as StoredDelivery | undefined;
}

/** `delivery` is stored as `d/SID/SEQ`. */
function markDelivery(delivery: Delivery, sid: number, seq: number): StoredDelivery {
  const mark = { sid, seq, pending: false, isNew: false } as StoredDelivery;
  delivery.store = mark;
  return mark;
}

/** The mark of a stored message, made on its first reference. */
function referMessage(message: Message): StoredMessage {
  let mark = message.store as StoredMessage | undefined;
  if (mark === undefined) message.store = mark = { id: 0, refs: 0 } as StoredMessage;
  mark.refs++;
  return mark;
}

/** A session just stored as `s/SID`, with nothing under it yet. */
function storedSession(sid: number): StoredSession {
  return { id: sid, nextSeq: 1, nextSubscriptionKey: 1, subscriptions: new Map() };
}

/** Keeps the store in step with the broker's state. */
export class Persistence implements StateObserver {
  /** The store. */
  readonly store: Store;
  readonly #log: () => Logger;
  readonly #writer: GroupCommit;
  /** The stored sessions. */
  readonly #sessions = new Map<Session, StoredSession>();
  /**
   * Deliveries whose record the open batch must write, encoded as it leaves: a message
   * acknowledged before that (most, to connected subscribers) costs no write, no encoding and
   * no map entry at all.
   */
  #unsealed: Delivery[] = [];
  #nextSessionId = 1;
  #nextMessageId = 1;
  #promised = 0;
  /** Connections whose output waits for a batch, by batch number. */
  #held = new Map<number, HoldableConnection[]>();
  /** The batch each held connection waits for. */
  #heldFor = new Map<HoldableConnection, number>();
  #failures = 0;

  /** Persist to `store`, logging trouble to `log()` (a reload may replace the logger). */
  constructor(store: Store, log: () => Logger) {
    this.store = store;
    this.#log = log;
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

  /** Changes so far that an answer may promise (see `StateObserver`). */
  get promised(): number {
    return this.#promised;
  }

  /** Whether the last commit failed (its changes wait for the next one). Read by /health. */
  get failing(): boolean {
    return this.#failures > 0;
  }

  // ---- what restore found ----

  /** `session` is stored as `s/SID` (restore). */
  adoptSession(session: Session, sid: number): void {
    this.#sessions.set(session, storedSession(sid));
  }

  /** `sub` is stored as `u/SID/KEY` of its stored session (restore). */
  adoptSubscription(sub: SubscriptionOptions, key: number): void {
    const stored = this.#sessions.get(sub.session)!;
    stored.subscriptions.set(sub.filter, key);
    stored.nextSubscriptionKey = Math.max(stored.nextSubscriptionKey, key + 1);
  }

  /**
   * `delivery` is stored as `d/SID/SEQ` of its stored session, its message inside that record
   * (`messageId` 0) or as `m/MID` (restore).
   */
  adoptDelivery(
    session: Session,
    delivery: Delivery,
    at: { seq: number; messageId: number },
  ): void {
    const stored = this.#sessions.get(session)!;
    stored.nextSeq = Math.max(stored.nextSeq, at.seq + 1);
    markDelivery(delivery, stored.id, at.seq);
    this.#adoptMessage(delivery.message, at.messageId);
  }

  /** `message`, stored as `m/MID`, is retained (`r/MID`) (restore). */
  adoptRetained(message: Message, mid: number): void {
    this.#adoptMessage(message, mid);
  }

  #adoptMessage(message: Message, mid: number): void {
    referMessage(message).id = mid;
  }

  // ---- sessions ----

  /**
   * Bring a session's records in line with it: stored while it outlives its connection
   * (everything it holds, the first time), removed when it no longer does, its record updated
   * otherwise (will, expiry, disconnect time).
   */
  sessionChanged(session: Session): void {
    const persistent = session.expiryInterval > 0;
    if (!persistent) {
      this.sessionEnded(session);
      return;
    }
    let stored = this.#sessions.get(session);
    const created = stored === undefined;
    if (stored === undefined) {
      this.#sessions.set(session, stored = storedSession(this.#nextSessionId++));
    }
    this.#promised++;
    this.#writer.put(sessionKey(stored.id), encodeSession(sessionRecord(session)), created);
    if (!created) return;
    for (const sub of session.subscriptions.values()) this.subscribed(sub);
    for (const delivery of session.inflight.values()) this.#stored(stored, delivery);
    for (const delivery of session.queued()) this.#stored(stored, delivery);
    for (const [packetId, message] of session.incomingQos2) {
      this.#putIncoming(stored, packetId, message);
    }
  }

  /** Remove every record of a session (it ended, or no longer outlives its connection). */
  sessionEnded(session: Session): void {
    const stored = this.#sessions.get(session);
    if (stored === undefined) return;
    for (const sub of session.subscriptions.values()) this.unsubscribed(sub);
    for (const delivery of session.inflight.values()) this.done(session, delivery);
    for (const delivery of session.queued()) this.done(session, delivery);
    for (const packetId of session.incomingQos2.keys()) this.incomingReleased(session, packetId);
    this.#promised++;
    this.#writer.delete(sessionKey(stored.id));
    this.#sessions.delete(session);
  }

  // ---- subscriptions ----

  /** A stored session added or replaced a subscription. */
  subscribed(sub: SubscriptionOptions): void {
    const stored = this.#sessions.get(sub.session);
    if (stored === undefined) return;
    let key = stored.subscriptions.get(sub.filter);
    const created = key === undefined;
    if (key === undefined) stored.subscriptions.set(sub.filter, key = stored.nextSubscriptionKey++);
    this.#promised++;
    this.#writer.put(
      subscriptionKey(stored.id, key),
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
  unsubscribed(sub: SubscriptionOptions): void {
    const stored = this.#sessions.get(sub.session);
    const key = stored?.subscriptions.get(sub.filter);
    if (stored === undefined || key === undefined) return;
    this.#promised++;
    this.#writer.delete(subscriptionKey(stored.id, key));
    stored.subscriptions.delete(sub.filter);
  }

  // ---- deliveries ----

  /** A new delivery joined a session's queue: stored if the session is. */
  queued(session: Session, delivery: Delivery): void {
    const stored = this.#sessions.get(session);
    if (stored !== undefined) this.#stored(stored, delivery);
  }

  /**
   * A delivery went out under its packet id: a new one is stored; a queued one has its record
   * written again, so that after a restart it is resent first, as it stands, under the same id
   * [MQTT-4.4.0-1]. A QoS 2 PUBLISH leaves only once its packet id is stored: the
   * subscriber's output is held for it.
   */
  sent(session: Session, delivery: Delivery): void {
    const stored = this.#sessions.get(session);
    if (stored === undefined) return;
    const mark = storedDelivery(delivery);
    if (mark === undefined) this.#stored(stored, delivery);
    else this.#unseal(delivery, mark, false);
    const conn = session.connection;
    if (delivery.qos === 2 && conn !== undefined) this.holdUntilDurable(conn);
  }

  /** A QoS 2 delivery got its PUBREC: PUBREL may go only once "pubrel" is stored. */
  released(_session: Session, delivery: Delivery): void {
    const mark = storedDelivery(delivery);
    if (mark === undefined) return;
    this.#promised++;
    this.#unseal(delivery, mark, false);
  }

  /** A delivery is over (acknowledged, expired or dropped). */
  done(_session: Session, delivery: Delivery): void {
    const mark = storedDelivery(delivery);
    if (mark === undefined) return;
    if (mark.pending && mark.isNew) this.#writer.cancelled();
    else this.#writer.delete(deliveryKey(mark.sid, mark.seq));
    mark.pending = false; // an unsealed copy of it is skipped
    delivery.store = undefined;
    this.#unref(delivery.message);
  }

  /** A new delivery to a stored session, queued or already in flight. */
  #stored(session: StoredSession, delivery: Delivery): void {
    referMessage(delivery.message);
    const mark = markDelivery(delivery, session.id, session.nextSeq++);
    this.#promised++;
    this.#unseal(delivery, mark, true);
  }

  /** The open batch must write `delivery`'s record (`isNew`: it has none yet). */
  #unseal(delivery: Delivery, mark: StoredDelivery, isNew: boolean): void {
    if (mark.pending) return; // already: encoded as it stands when the batch leaves
    mark.pending = true;
    mark.isNew = isNew;
    this.#unsealed.push(delivery);
    this.#writer.touch();
  }

  /** The open batch is leaving: write the records of its deliveries still pending. */
  #seal(): void {
    const deliveries = this.#unsealed;
    this.#unsealed = [];
    for (const delivery of deliveries) {
      const mark = storedDelivery(delivery);
      if (mark === undefined || !mark.pending) continue; // done meanwhile
      mark.pending = false;
      this.#writer.put(deliveryKey(mark.sid, mark.seq), this.#encodeDelivery(delivery), false);
    }
  }

  /**
   * The record of a delivery as it stands when its batch leaves. A message no other stored
   * record refers to goes inside it (one write, one delete); one that several deliveries (or
   * the retained index) share gets a record of its own, written once.
   */
  #encodeDelivery(delivery: Delivery): Uint8Array {
    const message = delivery.message;
    const mark = message.store as StoredMessage;
    const inside = mark.id === 0 && mark.refs <= 1;
    if (!inside) this.#share(message, mark);
    return encodeDelivery({
      messageId: inside ? 0 : mark.id,
      message: inside ? message : undefined,
      qos: delivery.qos,
      retain: delivery.retain,
      subscriptionIds: delivery.subscriptionIds,
      state: delivery.state,
      packetId: delivery.packetId,
    });
  }

  // ---- inbound QoS 2 ----

  /**
   * A stored session's client sent a QoS 2 message under `packetId`, held until its PUBREL:
   * its PUBREC promises it is stored.
   */
  incomingAdded(session: Session, packetId: number, message: Message): void {
    const stored = this.#sessions.get(session);
    if (stored !== undefined) this.#putIncoming(stored, packetId, message);
  }

  /** Store `message` as held under `packetId` (none: only the id, restored from an older Midge). */
  #putIncoming(stored: StoredSession, packetId: number, message: Message | undefined): void {
    this.#promised++;
    // Not `created`: it may replace a message stored under that id (a reused id).
    this.#writer.put(
      incomingKey(stored.id, packetId),
      message !== undefined ? encodeMessage(messageRecord(message)) : MARKER,
      false,
    );
  }

  /** The client released `packetId` (PUBREL): PUBCOMP lets it reuse the id once forgotten. */
  incomingReleased(session: Session, packetId: number): void {
    const stored = this.#sessions.get(session);
    if (stored === undefined) return;
    this.#promised++;
    this.#writer.delete(incomingKey(stored.id, packetId));
  }

  // ---- retained messages ----

  /** The retained message of a topic changed from `before` to `after` (either may be none). */
  retainedChanged(before: Message | undefined, after: Message | undefined): void {
    const stored = before?.store as StoredMessage | undefined;
    if (before !== undefined && stored !== undefined && stored.id > 0) {
      this.#promised++;
      this.#writer.delete(retainedKey(stored.id));
      this.#unref(before);
    }
    if (after !== undefined) {
      const mark = referMessage(after);
      this.#share(after, mark);
      this.#promised++;
      this.#writer.put(retainedKey(mark.id), MARKER, true);
    }
  }

  // ---- messages ----

  /** Give `message` (marked `mark`) a record of its own (`m/MID`), unless it has one. */
  #share(message: Message, mark: StoredMessage): void {
    if (mark.id > 0) return;
    mark.id = this.#nextMessageId++;
    this.#writer.put(messageKey(mark.id), encodeMessage(messageRecord(message)), true);
  }

  /** One stored record less refers to `message`: after the last, its mark (and record) go. */
  #unref(message: Message): void {
    const mark = message.store as StoredMessage;
    if (--mark.refs > 0) return;
    message.store = undefined;
    if (mark.id > 0) this.#writer.delete(messageKey(mark.id));
  }

  // ---- holding output until changes are durable ----

  /**
   * Hold `conn`'s output until the changes made so far are durable (call it before the packet
   * that must wait leaves this turn). Output queued meanwhile waits too, so its order is kept.
   */
  holdUntilDurable(conn: HoldableConnection): void {
    const batch = this.#writer.openBatch;
    const current = this.#heldFor.get(conn);
    if (current === batch) return;
    if (current === undefined) conn.out.hold();
    this.#heldFor.set(conn, batch);
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
      this.#log().error(
        `Error: persistence: cannot write to ${this.store.location}: ${error.message}. ` +
          `${this.#writer.pendingCount} changes are kept and tried again; ` +
          `${held?.length ?? 0} clients wait for them.`,
      );
      // Their changes go with the next batch: so does their output.
      for (const conn of held ?? []) {
        if (this.#heldFor.get(conn) === batch) {
          this.#heldFor.delete(conn);
          this.holdUntilDurable(conn);
        }
      }
      return;
    }
    if (this.#failures > 0) {
      this.#log().notice(`Persistence: writing to ${this.store.location} again.`);
      this.#failures = 0;
    }
    if (held === undefined) return;
    for (const conn of held) {
      if (this.#heldFor.get(conn) !== batch) continue; // held again for a later batch
      this.#heldFor.delete(conn);
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
    // Connections still held are closed without a word, as the broker's stop closes them.
    for (const conn of this.#heldFor.keys()) conn.close("server");
    this.#heldFor.clear();
    this.#held.clear();
    await this.store.close();
  }
}

/** The record of `message`, with who published it when it is (or will be) retained. */
function messageRecord(message: Message): MessageRecord {
  const source = message.retainSource;
  if (source === undefined) return message;
  return { ...message, source: { username: source.username, listenerPort: source.listener?.port } };
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
