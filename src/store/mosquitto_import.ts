/**
 * Mosquitto 2.0's persistent state (`mosquitto_db.ts`) as Midge's store records
 * (`records.ts`), written as the broker itself would have written them: each session with its
 * subscriptions and its messages in the order Mosquitto kept them, messages stored once
 * (`m/MID`) whatever refers to them, retained ones marked (`r/MID`), inbound QoS 2 messages
 * awaiting PUBREL held under their packet identifiers.
 *
 * What Mosquitto does not store, Midge cannot import: wills (Mosquitto drops them at a
 * restart too) and each session's protocol version, taken as 5.0 when the session expires or
 * its subscriptions use 5.0 options, else 3.1.1; the next CONNECT sets it either way.
 *
 * @module
 */

import type { ProtocolVersion } from "../codec/mod.ts";
import type { MosquittoDb, MosquittoMessage, MosquittoSubscription } from "./mosquitto_db.ts";
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
} from "./records.ts";

/** Mosquitto's session expiry interval of a session that never expires. */
const NEVER_EXPIRES = 0xffffffff;

/** What an import holds, for the command's report. */
export interface ImportCounts {
  /** Retained messages. */
  retained: number;
  /** Persistent sessions. */
  sessions: number;
  /** Their subscriptions. */
  subscriptions: number;
  /** Messages queued or in flight to them. */
  queued: number;
  /** Inbound QoS 2 messages awaiting PUBREL. */
  held: number;
}

/** The records to commit, what they hold, and what was left out (each with its reason). */
export interface ImportedRecords {
  /** Store records by key. */
  records: Map<string, Uint8Array>;
  /** Counts of what they hold. */
  counts: ImportCounts;
  /** What could not be imported, in a few words each. */
  leftOut: string[];
}

function uses5(sub: MosquittoSubscription): boolean {
  return sub.identifier > 0 || sub.noLocal || sub.retainAsPublished || sub.retainHandling > 0;
}

function messageRecord(m: MosquittoMessage, retained: boolean): MessageRecord {
  const record: MessageRecord = {
    topic: m.topic,
    payload: m.payload,
    qos: m.qos,
    retain: m.retain,
    properties: m.properties,
    expiresAt: m.expiresAt,
    publisherId: m.sourceId,
  };
  if (retained) record.source = { username: m.sourceUsername, listenerPort: m.sourcePort };
  return record;
}

/** The store records that hold what `db` holds; `now` (ms) stands for unknown disconnect times. */
export function importRecords(db: MosquittoDb, now: number): ImportedRecords {
  const records = new Map<string, Uint8Array>();
  const counts: ImportCounts = { retained: 0, sessions: 0, subscriptions: 0, queued: 0, held: 0 };
  const leftOut: string[] = [];
  const messages = new Map(db.messages.map((m) => [m.storeId, m]));
  const retainedIds = new Set(db.retained);
  /** Midge's message number for each Mosquitto store id written so far. */
  const stored = new Map<number, number>();
  const store = (m: MosquittoMessage): number => {
    let mid = stored.get(m.storeId);
    if (mid === undefined) {
      mid = stored.size + 1;
      stored.set(m.storeId, mid);
      records.set(messageKey(mid), encodeMessage(messageRecord(m, retainedIds.has(m.storeId))));
    }
    return mid;
  };

  for (const storeId of db.retained) {
    const m = messages.get(storeId);
    if (m === undefined) {
      leftOut.push(`a retained message: its message ${storeId} is missing`);
      continue;
    }
    records.set(retainedKey(store(m)), MARKER);
    counts.retained++;
  }

  const sessionIds = new Map<string, number>();
  const subscriptionCounts = new Map<number, number>();
  const deliveryCounts = new Map<number, number>();
  for (const client of db.clients) {
    if (sessionIds.has(client.clientId)) {
      leftOut.push(`a second session of client ${client.clientId}`);
      continue;
    }
    const sid = sessionIds.size + 1;
    sessionIds.set(client.clientId, sid);
    const never = client.expiryInterval === NEVER_EXPIRES;
    const version: ProtocolVersion = !never ||
        db.subscriptions.some((s) => s.clientId === client.clientId && uses5(s))
      ? 5
      : 4;
    records.set(
      sessionKey(sid),
      encodeSession({
        clientId: client.clientId,
        version,
        expiryInterval: client.expiryInterval,
        disconnectedAt: !never && client.expiresAt !== undefined
          ? client.expiresAt - client.expiryInterval * 1000
          : now,
        username: client.username,
        listenerPort: client.listenerPort,
        will: undefined,
      }),
    );
    counts.sessions++;
  }
  const sessionOf = (clientId: string, what: string): number | undefined => {
    const sid = sessionIds.get(clientId);
    if (sid === undefined) leftOut.push(`${what} of client ${clientId}, which has no session`);
    return sid;
  };

  for (const sub of db.subscriptions) {
    const sid = sessionOf(sub.clientId, `subscription ${sub.filter}`);
    if (sid === undefined) continue;
    const key = (subscriptionCounts.get(sid) ?? 0) + 1;
    subscriptionCounts.set(sid, key);
    records.set(
      subscriptionKey(sid, key),
      encodeSubscription({
        filter: sub.filter,
        qos: sub.qos,
        noLocal: sub.noLocal,
        retainAsPublished: sub.retainAsPublished,
        retainHandling: sub.retainHandling,
        subscriptionId: sub.identifier,
      }),
    );
    counts.subscriptions++;
  }

  for (const cm of db.clientMessages) {
    const sid = sessionOf(cm.clientId, `a message (packet id ${cm.packetId})`);
    if (sid === undefined) continue;
    const m = messages.get(cm.storeId);
    if (m === undefined) {
      leftOut.push(`a message of client ${cm.clientId}: its message ${cm.storeId} is missing`);
      continue;
    }
    if (cm.state === "received") {
      records.set(incomingKey(sid, cm.packetId), encodeMessage(messageRecord(m, false)));
      counts.held++;
      continue;
    }
    const seq = (deliveryCounts.get(sid) ?? 0) + 1;
    deliveryCounts.set(sid, seq);
    records.set(
      deliveryKey(sid, seq),
      encodeDelivery({
        messageId: store(m),
        message: undefined,
        qos: cm.qos,
        retain: cm.retain,
        subscriptionIds: cm.properties?.subscriptionIdentifiers,
        state: cm.state,
        packetId: cm.qos === 0 ? 0 : cm.packetId,
      }),
    );
    counts.queued++;
  }
  return { records, counts, leftOut };
}
