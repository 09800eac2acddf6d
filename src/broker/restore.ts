/**
 * Starting from a store: rebuild sessions, subscriptions, queues, in-flight state, inbound
 * QoS 2 messages awaiting PUBREL and retained messages from the records `Persistence` wrote,
 * then keep the store in step from there on. A record that cannot be read or used is skipped
 * with a warning naming its key, and left in the store for a person to look at: nothing is
 * dropped silently. What a damaged store lost is told by kind and owner (restore_losses.ts), as
 * error lines and counters.
 *
 * @module
 */

import { topicDepthProblem } from "../codec/mod.ts";
import {
  checkMarker,
  decodeDelivery,
  decodeIncoming,
  decodeMessage,
  decodeSession,
  decodeSubscription,
  type DeliveryRecord,
  messageKey,
  type MessageRecord,
  parseKey,
  retainedKey,
  sessionKey,
} from "../store/records.ts";
import type { Logger } from "../log/logger.ts";
import type { Store } from "../store/store.ts";
import type { FanOut } from "./fan_out.ts";
import type { Metrics } from "./metrics.ts";
import type { BrokerOptions, ListenerOptions } from "./options.ts";
import { type Message, newMessage } from "./message.ts";
import { Persistence } from "./persistence.ts";
import { Losses } from "./restore_losses.ts";
import { type Delivery, newDelivery, Session, type SubscriptionOptions } from "./session.ts";
import type { SessionRegistry } from "./sessions.ts";

/** What a restore fills in of a broker that has not started. */
export interface RestoreTarget {
  /** The options in force (the listeners that sessions and messages point at). */
  readonly options: BrokerOptions;
  /** The logger in force. */
  readonly log: Logger;
  /** Sessions by client id: the restored ones are added. */
  readonly sessions: SessionRegistry;
  /** The retained messages restored go to its retained index. */
  readonly fanOut: FanOut;
  /** Counters: what the store lost is counted there. */
  readonly metrics: Metrics;
  /** The store writer, set once all is loaded. */
  persistence: Persistence | undefined;
  /** The current time in ms. */
  now(): number;
}

/** What a restore found, for the start-up log line and tests. */
export interface RestoreSummary {
  /** Sessions restored. */
  sessions: number;
  /** Subscriptions restored. */
  subscriptions: number;
  /** Messages queued or in flight to sessions. */
  deliveries: number;
  /** Retained messages. */
  retained: number;
  /** Records skipped (each logged as a warning). */
  skipped: number;
  /** What the store lost to damage (logged as errors). */
  losses: Losses;
}

/** A message from its record. */
function messageFrom(rec: MessageRecord, listeners: readonly ListenerOptions[]): Message {
  const message = newMessage(
    rec.topic,
    rec.payload,
    rec.qos,
    rec.retain,
    rec.publisherId,
    rec.properties,
    rec.expiresAt,
  );
  message.owned = true;
  if (rec.source !== undefined) {
    const port = rec.source.listenerPort;
    message.retainSource = {
      username: rec.source.username,
      listener: port === undefined ? undefined : listeners.find((l) => l.port === port),
    };
  }
  return message;
}

/** The topic of a stored message, when its record reads. */
function topicOf(bytes: Uint8Array | undefined): string | undefined {
  if (bytes === undefined) return undefined;
  try {
    return decodeMessage(bytes).topic;
  } catch {
    return undefined;
  }
}

/** Whose a lost record of session `sid` was, for the log. */
function ownerOf(session: Session | undefined, sid: number): string {
  return session === undefined ? `lost session ${sessionKey(sid)}` : `client ${session.clientId}`;
}

/** A record body that failed to decode, or one that points at something missing. */
class Unusable extends Error {}

function decodeOrThrow<T>(decode: (b: Uint8Array) => T, bytes: Uint8Array): T {
  try {
    return decode(bytes);
  } catch (error) {
    throw new Unusable((error as Error).message);
  }
}

/**
 * A topic or filter deeper than clients may send (written by an older Midge) is not loaded:
 * the broker would refuse it from a client.
 */
function refuseTooDeep(topic: string, what: "topic name" | "topic filter"): void {
  const problem = topicDepthProblem(topic, what);
  if (problem !== undefined) throw new Unusable(problem);
}

/**
 * Load `store` into `broker` (which must not have started) and make it the broker's store.
 * Throws only when the store itself cannot be read.
 */
export async function restore(broker: RestoreTarget, store: Store): Promise<RestoreSummary> {
  const { records, problems } = await store.load();
  const log = broker.log;
  const summary: RestoreSummary = {
    sessions: 0,
    subscriptions: 0,
    deliveries: 0,
    retained: 0,
    skipped: problems.length,
    losses: new Losses(problems),
  };
  const { losses } = summary;
  // Told what is stored as it is found; the broker's observer at the end, once all is loaded.
  const persistence = new Persistence(store, () => broker.log);
  for (const p of problems) {
    log.warning(`persistence: skipped ${p.key} in ${store.location}: ${p.why}.`);
  }
  const skip = (key: string, why: string) => {
    summary.skipped++;
    log.warning(`persistence: skipped record ${key}: ${why}; it stays in the store.`);
  };
  /** Skip record `r` of a session; when the session itself was lost, it is lost with it. */
  const skipOfSession = (r: { key: string; ids: number[] }, why: string) => {
    const owner = sessionKey(r.ids[0]);
    if (losses.keys.has(owner)) losses.lose(r.key, `lost session ${owner}`);
    skip(r.key, why);
  };

  // Sort the keys by kind: sessions first, then what refers to them.
  const byKind = { s: [], u: [], d: [], i: [], m: [], r: [] } as Record<
    "s" | "u" | "d" | "i" | "m" | "r",
    { key: string; ids: number[]; bytes: Uint8Array }[]
  >;
  for (const [key, bytes] of records) {
    const parsed = parseKey(key);
    if (parsed === undefined) {
      skip(key, "not a key Midge writes");
      continue;
    }
    byKind[parsed.kind].push({ key, ids: parsed.ids, bytes });
  }
  const byNumber = (a: { ids: number[] }, b: { ids: number[] }) =>
    a.ids[0] - b.ids[0] || (a.ids[1] ?? 0) - (b.ids[1] ?? 0);

  const now = broker.now();
  let maxSessionId = 0;
  let maxMessageId = 0;
  const sessions = new Map<number, Session>();
  const sessionIds = new Map<string, number>();
  for (const r of byKind.s.sort(byNumber)) {
    const sid = r.ids[0];
    maxSessionId = Math.max(maxSessionId, sid);
    try {
      const rec = decodeOrThrow(decodeSession, r.bytes);
      const other = sessionIds.get(rec.clientId);
      if (other !== undefined) {
        throw new Unusable(`client ${rec.clientId} also has ${other}`);
      }
      const session = new Session(rec.clientId, rec.version, rec.expiryInterval);
      session.username = rec.username;
      session.listener = broker.options.listeners.find((l) => l.port === rec.listenerPort);
      const deepWill = rec.will && topicDepthProblem(rec.will.topic, "topic name");
      if (deepWill !== undefined) {
        log.warning(`persistence: the will of ${rec.clientId} is dropped: ${deepWill}.`);
      } else session.will = rec.will;
      // A client connected when the broker stopped is disconnected from now on.
      session.disconnectedAt = rec.disconnectedAt > 0 ? rec.disconnectedAt : now;
      sessions.set(sid, session);
      sessionIds.set(rec.clientId, sid);
      persistence.adoptSession(session, sid);
      broker.sessions.add(session);
      summary.sessions++;
    } catch (error) {
      if (!(error instanceof Unusable)) throw error;
      skip(r.key, error.message);
    }
  }
  const sessionOf = (r: { ids: number[] }): Session => {
    const session = sessions.get(r.ids[0]);
    if (session === undefined) throw new Unusable(`its session s/${r.ids[0]} is missing`);
    return session;
  };

  for (const r of byKind.u.sort(byNumber)) {
    try {
      const session = sessionOf(r);
      const rec = decodeOrThrow(decodeSubscription, r.bytes);
      refuseTooDeep(rec.filter, "topic filter");
      const options: SubscriptionOptions = {
        session,
        filter: rec.filter,
        qos: rec.qos,
        noLocal: rec.noLocal,
        retainAsPublished: rec.retainAsPublished,
        retainHandling: rec.retainHandling,
        subscriptionId: rec.subscriptionId > 0 ? rec.subscriptionId : undefined,
      };
      broker.sessions.subscribe(options); // not stored again: persistence is not on yet
      persistence.adoptSubscription(options, r.ids[1]);
      summary.subscriptions++;
    } catch (error) {
      if (!(error instanceof Unusable)) throw error;
      skipOfSession(r, error.message);
    }
  }

  // Messages are decoded when something refers to them, once.
  const messageBytes = new Map<number, Uint8Array>();
  for (const r of byKind.m) {
    messageBytes.set(r.ids[0], r.bytes);
    maxMessageId = Math.max(maxMessageId, r.ids[0]);
  }
  for (const key of losses.keys) {
    const parsed = parseKey(key);
    if (parsed === undefined || parsed.kind === "m") continue;
    const sid = parsed.ids[0];
    if (parsed.kind === "s") losses.lose(key, key);
    else if (parsed.kind === "r") losses.lose(key, topicOf(messageBytes.get(sid)) ?? key);
    else losses.lose(key, ownerOf(sessions.get(sid), sid));
  }
  const messages = new Map<number, Message>();
  const messageOf = (mid: number): Message => {
    let message = messages.get(mid);
    if (message !== undefined) return message;
    const bytes = messageBytes.get(mid);
    if (bytes === undefined) throw new Unusable(`its message m/${mid} is missing`);
    message = messageFrom(decodeOrThrow(decodeMessage, bytes), broker.options.listeners);
    messages.set(mid, message);
    return message;
  };

  const expired: { session: Session; delivery: Delivery }[] = [];
  for (const r of byKind.d.sort(byNumber)) {
    try {
      const session = sessionOf(r);
      const rec: DeliveryRecord = decodeOrThrow(decodeDelivery, r.bytes);
      if (rec.message === undefined && losses.keys.has(messageKey(rec.messageId))) {
        losses.lose(r.key, ownerOf(session, r.ids[0]));
      }
      const message = rec.message !== undefined
        ? messageFrom(rec.message, broker.options.listeners)
        : messageOf(rec.messageId);
      const delivery = newDelivery(message, rec.qos, rec.retain, rec.subscriptionIds);
      persistence.adoptDelivery(session, delivery, {
        seq: r.ids[1],
        messageId: rec.message !== undefined ? 0 : rec.messageId,
      });
      if (message.expiresAt !== undefined && message.expiresAt <= now) {
        expired.push({ session, delivery });
        continue;
      }
      if (rec.state !== "queued" && !session.inflight.has(rec.packetId)) {
        delivery.packetId = rec.packetId;
        delivery.state = rec.state;
        session.setInflight(delivery);
      } else {
        // Queued under the id it was given (none: it gets one now, or when it is sent).
        if (rec.state === "queued") delivery.packetId = rec.packetId;
        session.enqueue(delivery);
      }
      summary.deliveries++;
    } catch (error) {
      if (!(error instanceof Unusable)) throw error;
      skipOfSession(r, error.message);
    }
  }

  for (const r of byKind.i) {
    try {
      const session = sessionOf(r);
      const rec = decodeOrThrow(decodeIncoming, r.bytes);
      if (r.ids[1] > 65535) throw new Unusable(`packet id ${r.ids[1]}`);
      if (rec !== undefined) refuseTooDeep(rec.topic, "topic name");
      session.holdIncoming(r.ids[1], rec && messageFrom(rec, broker.options.listeners));
    } catch (error) {
      if (!(error instanceof Unusable)) throw error;
      skipOfSession(r, error.message);
    }
  }

  const retainedIds = new Map<string, number>();
  for (const r of byKind.r.sort(byNumber)) {
    try {
      decodeOrThrow(checkMarker, r.bytes);
      if (losses.keys.has(messageKey(r.ids[0]))) losses.lose(r.key, r.key);
      const message = messageOf(r.ids[0]);
      refuseTooDeep(message.topic, "topic name");
      persistence.adoptRetained(message, r.ids[0]);
      // Two retained records for one topic (never written so): the newer one wins.
      const before = retainedIds.get(message.topic);
      if (before !== undefined) skip(retainedKey(before), `${message.topic} has a newer one`);
      retainedIds.set(message.topic, r.ids[0]);
      broker.fanOut.retained.set(message.topic, message);
      if (before === undefined) summary.retained++;
    } catch (error) {
      if (!(error instanceof Unusable)) throw error;
      skip(r.key, error.message);
    }
  }

  losses.report(log, store.location);
  persistence.setCounters({
    nextSessionId: maxSessionId + 1,
    nextMessageId: maxMessageId + 1,
  });
  broker.persistence = persistence;
  broker.metrics.storeLost = { ...losses.counts };
  // What expired while the broker was down goes now; so do the wills of clients that were
  // connected (their connections ended with the broker) or whose will was delayed.
  for (const { session, delivery } of expired) persistence.done(session, delivery);
  for (const session of sessions.values()) {
    if (session.will !== undefined) broker.sessions.startWill(session);
  }
  return summary;
}
