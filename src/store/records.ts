/**
 * What the broker stores, record by record: its keys and its bytes. Records refer to each
 * other by number, never by client id or topic, so keys stay short whatever clients send:
 *
 * | key               | record                                                        |
 * |-------------------|---------------------------------------------------------------|
 * | `s/SID`           | a persistent session: client id, version, expiry, will ...    |
 * | `u/SID/KEY`       | one of its subscriptions                                      |
 * | `d/SID/SEQ`       | a message queued or in flight to it, in order of SEQ; the     |
 * |                   | message itself inside when it goes to no other session        |
 * | `i/SID/PACKETID`  | an inbound QoS 2 message awaiting PUBREL, held under its id   |
 * |                   | (no message: its message went out when it came; older Midge)  |
 * | `m/MID`           | a message, stored once however many records refer to it      |
 * | `r/MID`           | message MID is the retained message of its topic (empty)      |
 *
 * Every value starts with a format byte (1), so a later release can read old records.
 *
 * @module
 */

import type { Properties, PropertyContext, ProtocolVersion, QoS, Will } from "../codec/mod.ts";
import { ByteReader } from "../codec/reader.ts";
import { ByteWriter } from "../codec/writer.ts";
import { propertiesSize, readProperties, writeProperties } from "../codec/properties.ts";
import { RecordError, RecordReader, RecordWriter } from "./record_codec.ts";

const FORMAT = 1;
const EMPTY = new Uint8Array(0);

/** A persistent session. */
export interface SessionRecord {
  /** Client identifier. */
  clientId: string;
  /** Protocol version of its last connection. */
  version: ProtocolVersion;
  /** Seconds it outlives its connection. */
  expiryInterval: number;
  /** When its last connection ended (ms since epoch); 0 while connected. */
  disconnectedAt: number;
  /** Username of its last connection. */
  username: string | undefined;
  /** Port of the listener of its last connection (its ACL applies while it is away). */
  listenerPort: number | undefined;
  /** Its will, while one may still be published. */
  will: Will | undefined;
}

/** One subscription of a session. */
export interface SubscriptionRecord {
  /** The filter as subscribed. */
  filter: string;
  /** Maximum QoS granted. */
  qos: QoS;
  /** 5.0 no local. */
  noLocal: boolean;
  /** 5.0 retain as published. */
  retainAsPublished: boolean;
  /** 5.0 retain handling. */
  retainHandling: 0 | 1 | 2;
  /** 5.0 subscription identifier; 0 for none. */
  subscriptionId: number;
}

/** Where a stored delivery stands. */
export type DeliveryState = "queued" | "publish" | "pubrel";

/** A message queued or in flight to a session. */
export interface DeliveryRecord {
  /** The message (`m/MID`); 0 when the message is inside the record (`message`). */
  messageId: number;
  /** The message, when no other record refers to it (most messages: one stored copy). */
  message: MessageRecord | undefined;
  /** QoS of this delivery. */
  qos: QoS;
  /** Retain flag of this delivery. */
  retain: boolean;
  /** Subscription identifiers (5.0). */
  subscriptionIds: number[] | undefined;
  /** "queued"; or in flight: "publish" (awaits PUBACK/PUBREC), "pubrel" (awaits PUBCOMP). */
  state: DeliveryState;
  /** Packet identifier; 0 for QoS 0 (and for a queued delivery stored by an older Midge). */
  packetId: number;
}

/** An application message. */
export interface MessageRecord {
  /** Topic name. */
  topic: string;
  /** Payload. */
  payload: Uint8Array;
  /** QoS it was published at. */
  qos: QoS;
  /** Retain flag as published. */
  retain: boolean;
  /** Forwarded properties (5.0). */
  properties: Properties | undefined;
  /** When it expires (ms since epoch), or undefined. */
  expiresAt: number | undefined;
  /** Client id of the publisher; empty for the broker's own. */
  publisherId: string;
  /** For a retained message: the publisher's username and listener port (check_retain_source). */
  source?: { username: string | undefined; listenerPort: number | undefined };
}

/** The kinds of key, by their first letter. */
export type RecordKind = "s" | "u" | "d" | "i" | "m" | "r";

/** A key taken apart. */
export interface ParsedKey {
  /** What the record is. */
  kind: RecordKind;
  /** The numbers after the kind: [SID], [SID, KEY], [MID] ... */
  ids: number[];
}

const ID_COUNT: Record<RecordKind, number> = { s: 1, u: 2, d: 2, i: 2, m: 1, r: 1 };

/** Take a key apart; undefined when it is not one of ours. */
export function parseKey(key: string): ParsedKey | undefined {
  const parts = key.split("/");
  const kind = parts[0] as RecordKind;
  if (!(kind in ID_COUNT) || parts.length !== ID_COUNT[kind] + 1) return undefined;
  const ids: number[] = [];
  for (let i = 1; i < parts.length; i++) {
    const n = Number(parts[i]);
    if (!/^[0-9]+$/.test(parts[i]) || !Number.isSafeInteger(n) || n < 1) return undefined;
    ids.push(n);
  }
  return { kind, ids };
}

/** Key of session SID. */
export function sessionKey(sid: number): string {
  return `s/${sid}`;
}

/** Key of subscription KEY of session SID. */
export function subscriptionKey(sid: number, key: number): string {
  return `u/${sid}/${key}`;
}

/** Key of delivery SEQ of session SID. */
export function deliveryKey(sid: number, seq: number): string {
  return `d/${sid}/${seq}`;
}

/** Key of the inbound QoS 2 packet id of session SID. */
export function incomingKey(sid: number, packetId: number): string {
  return `i/${sid}/${packetId}`;
}

/** Key of message MID. */
export function messageKey(mid: number): string {
  return `m/${mid}`;
}

/** Key marking message MID as retained. */
export function retainedKey(mid: number): string {
  return `r/${mid}`;
}

/** The value of records that are only a key (`r/`; `i/` as an older Midge wrote it). */
export const MARKER: Uint8Array = new Uint8Array([FORMAT]);

function writeProps(w: RecordWriter, props: Properties | undefined, context: PropertyContext) {
  const size = propertiesSize(props, context);
  const buf = new Uint8Array(size + 4);
  const bw = new ByteWriter(buf);
  writeProperties(bw, props, size);
  w.raw(buf.subarray(0, bw.pos));
}

function readProps(r: RecordReader, context: PropertyContext): Properties | undefined {
  const rest = r.rest();
  try {
    const br = new ByteReader(rest, 0, rest.length);
    const props = readProperties(br, context);
    if (br.pos !== rest.length) throw new RecordError("extra bytes after the properties");
    // Byte properties must not keep the whole record alive.
    if (props?.correlationData !== undefined) {
      props.correlationData = props.correlationData.slice();
    }
    return props;
  } catch (error) {
    if (error instanceof RecordError) throw error;
    throw new RecordError(`bad properties: ${(error as Error).message}`);
  }
}

function start(r: RecordReader): void {
  const format = r.u8("the format byte");
  if (format !== FORMAT) throw new RecordError(`unknown record format ${format}`);
}

function qosOf(n: number): QoS {
  if (n > 2) throw new RecordError(`QoS ${n}`);
  return n as QoS;
}

/** Bytes of a session record. */
export function encodeSession(s: SessionRecord): Uint8Array {
  const w = new RecordWriter(64 + s.clientId.length * 3 + (s.will?.payload.length ?? 0));
  const flags = (s.username !== undefined ? 1 : 0) | (s.listenerPort !== undefined ? 2 : 0) |
    (s.will !== undefined ? 4 : 0);
  w.u8(FORMAT).u8(flags).string(s.clientId).u8(s.version).uint(s.expiryInterval)
    .uint(s.disconnectedAt);
  if (s.username !== undefined) w.string(s.username);
  if (s.listenerPort !== undefined) w.uint(s.listenerPort);
  const will = s.will;
  if (will !== undefined) {
    w.string(will.topic).bytes(will.payload).u8(will.qos).u8(will.retain ? 1 : 0);
    writeProps(w, will.properties, "will");
  }
  return w.finish();
}

/** A session record from its bytes; throws `RecordError`. */
export function decodeSession(bytes: Uint8Array): SessionRecord {
  const r = new RecordReader(bytes);
  start(r);
  const flags = r.u8("flags");
  const clientId = r.string("client id");
  const version = r.u8("protocol version");
  if (version < 3 || version > 5) throw new RecordError(`protocol version ${version}`);
  const expiryInterval = r.uint("session expiry");
  const disconnectedAt = r.uint("disconnect time");
  const username = flags & 1 ? r.string("username") : undefined;
  const listenerPort = flags & 2 ? r.uint("listener port") : undefined;
  let will: Will | undefined;
  if (flags & 4) {
    const topic = r.string("will topic");
    const payload = r.bytes("will payload").slice();
    const qos = qosOf(r.u8("will QoS"));
    const retain = r.u8("will retain") === 1;
    will = { topic, payload, qos, retain, properties: readProps(r, "will") };
  }
  r.end("session record");
  return {
    clientId,
    version: version as ProtocolVersion,
    expiryInterval,
    disconnectedAt,
    username,
    listenerPort,
    will,
  };
}

/** Bytes of a subscription record. */
export function encodeSubscription(s: SubscriptionRecord): Uint8Array {
  const flags = (s.noLocal ? 1 : 0) | (s.retainAsPublished ? 2 : 0) | (s.retainHandling << 2);
  return new RecordWriter(16 + s.filter.length * 3)
    .u8(FORMAT).string(s.filter).u8(s.qos).u8(flags).uint(s.subscriptionId).finish();
}

/** A subscription record from its bytes; throws `RecordError`. */
export function decodeSubscription(bytes: Uint8Array): SubscriptionRecord {
  const r = new RecordReader(bytes);
  start(r);
  const filter = r.string("filter");
  const qos = qosOf(r.u8("QoS"));
  const flags = r.u8("options");
  const retainHandling = (flags >> 2) & 3;
  if (retainHandling > 2) throw new RecordError(`retain handling ${retainHandling}`);
  const subscriptionId = r.uint("subscription identifier");
  r.end("subscription record");
  return {
    filter,
    qos,
    noLocal: (flags & 1) !== 0,
    retainAsPublished: (flags & 2) !== 0,
    retainHandling: retainHandling as 0 | 1 | 2,
    subscriptionId,
  };
}

const STATE_CODE: Record<DeliveryState, number> = { queued: 0, publish: 1, pubrel: 2 };
const STATES: DeliveryState[] = ["queued", "publish", "pubrel"];

const HAS_SUBSCRIPTION_IDS = 0x20;
const HAS_MESSAGE = 0x40;

/** Bytes of a delivery record. */
export function encodeDelivery(d: DeliveryRecord): Uint8Array {
  const ids = d.subscriptionIds;
  const m = d.message;
  const w = new RecordWriter(
    24 + (ids?.length ?? 0) * 4 + (m !== undefined ? messageSizeHint(m) : 0),
  );
  const flags = d.qos | (d.retain ? 4 : 0) | (STATE_CODE[d.state] << 3) |
    (ids !== undefined ? HAS_SUBSCRIPTION_IDS : 0) | (m !== undefined ? HAS_MESSAGE : 0);
  w.u8(FORMAT).uint(d.messageId).u8(flags).uint(d.packetId);
  if (ids !== undefined) {
    w.uint(ids.length);
    for (const id of ids) w.uint(id);
  }
  if (m !== undefined) writeMessage(w, m);
  return w.finish();
}

/** A delivery record from its bytes; throws `RecordError`. */
export function decodeDelivery(bytes: Uint8Array): DeliveryRecord {
  const r = new RecordReader(bytes);
  start(r);
  const messageId = r.uint("message id");
  const flags = r.u8("flags");
  const state = STATES[(flags >> 3) & 3];
  if (state === undefined || flags & 0x80) throw new RecordError(`delivery flags ${flags}`);
  const packetId = r.uint("packet id");
  if (packetId > 65535 || (state !== "queued" && packetId === 0)) {
    throw new RecordError(`packet id ${packetId} in state ${state}`);
  }
  let subscriptionIds: number[] | undefined;
  if (flags & HAS_SUBSCRIPTION_IDS) {
    const count = r.uint("subscription identifier count");
    if (count > 1000) throw new RecordError(`${count} subscription identifiers`);
    subscriptionIds = [];
    for (let i = 0; i < count; i++) subscriptionIds.push(r.uint("subscription identifier"));
  }
  const message = flags & HAS_MESSAGE ? readMessage(r) : undefined;
  if ((message === undefined) === (messageId === 0)) {
    throw new RecordError(`message id ${messageId} with${message ? "" : "out"} a message inside`);
  }
  r.end("delivery record");
  return {
    messageId,
    message,
    qos: qosOf(flags & 3),
    retain: (flags & 4) !== 0,
    subscriptionIds,
    state,
    packetId,
  };
}

function messageSizeHint(m: MessageRecord): number {
  return 48 + m.topic.length * 3 + m.publisherId.length * 3 + m.payload.length;
}

function writeMessage(w: RecordWriter, m: MessageRecord): void {
  const source = m.source;
  const flags = m.qos | (m.retain ? 4 : 0) | (m.expiresAt !== undefined ? 8 : 0) |
    (m.properties !== undefined ? 16 : 0) | (source?.username !== undefined ? 32 : 0) |
    (source?.listenerPort !== undefined ? 64 : 0) | (source !== undefined ? 128 : 0);
  w.u8(flags).string(m.topic).string(m.publisherId).bytes(m.payload);
  if (m.expiresAt !== undefined) w.uint(m.expiresAt);
  if (source?.username !== undefined) w.string(source.username);
  if (source?.listenerPort !== undefined) w.uint(source.listenerPort);
  if (m.properties !== undefined) writeProps(w, m.properties, "publish");
}

/** The message fields (the payload copied); properties, when present, end the record. */
function readMessage(r: RecordReader): MessageRecord {
  const flags = r.u8("message flags");
  const topic = r.string("topic");
  const publisherId = r.string("publisher");
  const payload = r.bytes("payload").slice();
  const expiresAt = flags & 8 ? r.uint("expiry") : undefined;
  const username = flags & 32 ? r.string("publisher's username") : undefined;
  const listenerPort = flags & 64 ? r.uint("publisher's listener") : undefined;
  const properties = flags & 16 ? readProps(r, "publish") : undefined;
  const message: MessageRecord = {
    topic,
    payload,
    qos: qosOf(flags & 3),
    retain: (flags & 4) !== 0,
    properties,
    expiresAt,
    publisherId,
  };
  if (flags & 128) message.source = { username, listenerPort };
  return message;
}

/** Bytes of a message record. */
export function encodeMessage(m: MessageRecord): Uint8Array {
  const w = new RecordWriter(messageSizeHint(m));
  w.u8(FORMAT);
  writeMessage(w, m);
  return w.finish();
}

/** A message record from its bytes (the payload is copied); throws `RecordError`. */
export function decodeMessage(bytes: Uint8Array): MessageRecord {
  const r = new RecordReader(bytes);
  start(r);
  const message = readMessage(r);
  r.end("message record");
  return message;
}

/**
 * The message of an inbound QoS 2 record, which is a message record (`encodeMessage`; the
 * payload is copied); undefined for a bare marker, as Midge wrote before it held messages
 * until PUBREL (only the id: its message went out when it came). Throws `RecordError`.
 */
export function decodeIncoming(bytes: Uint8Array): MessageRecord | undefined {
  if (bytes.length > 1) return decodeMessage(bytes);
  checkMarker(bytes);
  return undefined;
}

/** Check a marker record (`i/` of an older Midge, `r/`); throws `RecordError`. */
export function checkMarker(bytes: Uint8Array): void {
  const r = new RecordReader(bytes.length === 0 ? EMPTY : bytes);
  start(r);
  r.end("marker record");
}
