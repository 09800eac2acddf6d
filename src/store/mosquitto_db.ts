/**
 * Reading Mosquitto 2.0's persistence file (`mosquitto.db`, db version 6): bytes in, plain
 * records out, nothing of Midge's store. The layout, as Mosquitto 2.0 writes it:
 *
 * - a header: 15 magic bytes (`00 B5 00` "mosquitto db"), a CRC (4 bytes, never filled in)
 *   and the db version (4 bytes, big-endian);
 * - then chunks to the end of the file, each a type and a length (4 bytes each, big-endian)
 *   and that many bytes: a fixed part (the C struct as laid out in memory, padding included)
 *   and the strings and bytes whose lengths it gives.
 *
 * In the fixed parts, 16- and 32-bit numbers are big-endian; 64-bit ones (message store ids,
 * expiry times) are written as the machine holds them: little-endian on the x86-64 and arm64
 * machines Midge runs on. Expiry times are seconds since the epoch, 0 for none.
 *
 * @module
 */

import type { Properties, QoS } from "../codec/mod.ts";
import { ByteReader } from "../codec/reader.ts";
import { readProperties } from "../codec/properties.ts";
import type { MessageRecord } from "./records.ts";

/** The db version Mosquitto 2.0 writes, the one read here. */
export const MOSQUITTO_DB_VERSION = 6;

const MAGIC = [0x00, 0xb5, 0x00, ..."mosquitto db"].map((c) =>
  typeof c === "number" ? c : c.charCodeAt(0)
);
const HEADER_SIZE = MAGIC.length + 8;

const CHUNK_CFG = 1;
const CHUNK_MSG_STORE = 2;
const CHUNK_CLIENT_MSG = 3;
const CHUNK_RETAIN = 4;
const CHUNK_SUB = 5;
const CHUNK_CLIENT = 6;

/** Sizes of the fixed parts that end in padding (C structs, padded to their alignment). */
const FIXED = { cfg: 16, sub: 12, client: 24 };

/**
 * A message in Mosquitto's message store: the fields of our own message record, with where it
 * came from as Mosquitto notes it.
 */
export interface MosquittoMessage extends Omit<MessageRecord, "publisherId" | "source"> {
  /** Its number in the file, by which retained and client messages refer to it. */
  storeId: number;
  /** Client id of the publisher; empty for Mosquitto's own. */
  sourceId: string;
  /** Username of the publisher, if it had one. */
  sourceUsername: string | undefined;
  /** Port of the listener it came in on; undefined when not known. */
  sourcePort: number | undefined;
}

/** A persistent session. */
export interface MosquittoClient {
  /** Client identifier. */
  clientId: string;
  /** Session expiry interval in seconds; 0xFFFFFFFF: never (3.1.1 clean session 0). */
  expiryInterval: number;
  /** When the session expires (ms since the epoch); undefined when not set. */
  expiresAt: number | undefined;
  /** Username of its last connection. */
  username: string | undefined;
  /** Port of the listener of its last connection; undefined when not known. */
  listenerPort: number | undefined;
}

/** A subscription of a persistent session. */
export interface MosquittoSubscription {
  /** Its client. */
  clientId: string;
  /** The topic filter. */
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
  identifier: number;
}

/** A message queued, in flight or held for a session, in the order of the file. */
export interface MosquittoClientMessage {
  /** Its client. */
  clientId: string;
  /** The message (`MosquittoMessage.storeId`). */
  storeId: number;
  /** Packet identifier; 0 when it has none. */
  packetId: number;
  /** QoS of this delivery. */
  qos: QoS;
  /** Retain flag of this delivery. */
  retain: boolean;
  /** "out": to the client; "in": from it (a QoS 2 message awaiting PUBREL). */
  direction: "in" | "out";
  /**
   * Where it stands: "queued" (not sent yet), "publish" (sent, awaiting PUBACK or PUBREC),
   * "pubrel" (PUBREL sent or due, awaiting PUBCOMP), "received" (in: awaiting PUBREL).
   */
  state: "queued" | "publish" | "pubrel" | "received";
  /** Its 5.0 properties for this client (subscription identifiers). */
  properties: Properties | undefined;
}

/** What a `mosquitto.db` holds, in the order of the file. */
export interface MosquittoDb {
  /** The db version from the header (always `MOSQUITTO_DB_VERSION`: others are refused). */
  version: number;
  /** The message store. */
  messages: MosquittoMessage[];
  /** Store ids of the retained messages. */
  retained: number[];
  /** Persistent sessions. */
  clients: MosquittoClient[];
  /** Their subscriptions. */
  subscriptions: MosquittoSubscription[];
  /** Their messages. */
  clientMessages: MosquittoClientMessage[];
}

/** A file that is not a Mosquitto 2.0 database, or is damaged: `offset` says where. */
export class MosquittoDbError extends Error {
  override name = "MosquittoDbError";
  /** Byte offset in the file where reading failed. */
  readonly offset: number;

  /** An error at byte `offset`: the message reads "byte OFFSET: WHY". */
  constructor(offset: number, why: string) {
    super(`byte ${offset}: ${why}`);
    this.offset = offset;
  }
}

/** Mosquitto's message states (`enum mosquitto_msg_state`) by what they mean here. */
const OUT_STATES: Readonly<Record<number, MosquittoClientMessage["state"]>> = {
  1: "queued", // publish_qos0
  2: "queued", // publish_qos1
  3: "publish", // wait_for_puback
  4: "queued", // publish_qos2
  5: "publish", // wait_for_pubrec
  6: "pubrel", // resend_pubrel
  9: "pubrel", // wait_for_pubcomp
  11: "queued", // queued
};

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Reads one chunk's fields, naming the file offset of whatever fails. */
class ChunkReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #pos: number;
  readonly #end: number;

  constructor(bytes: Uint8Array, start: number, end: number) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#pos = start;
    this.#end = end;
  }

  get pos(): number {
    return this.#pos;
  }

  #take(n: number, what: string): number {
    const at = this.#pos;
    if (at + n > this.#end) {
      throw new MosquittoDbError(at, `the chunk ends before its ${what}`);
    }
    this.#pos = at + n;
    return at;
  }

  u8(what: string): number {
    return this.#bytes[this.#take(1, what)];
  }

  u16(what: string): number {
    return this.#view.getUint16(this.#take(2, what));
  }

  u32(what: string): number {
    return this.#view.getUint32(this.#take(4, what));
  }

  /** A 64-bit number written little-endian; refused past 2^53. */
  u64le(what: string): number {
    const at = this.#take(8, what);
    const n = this.#view.getBigInt64(at, true);
    if (n < 0n || n > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new MosquittoDbError(at, `${what} ${n} is out of range`);
    }
    return Number(n);
  }

  skip(n: number, what: string): void {
    this.#take(n, what);
  }

  bytes(n: number, what: string): Uint8Array {
    const at = this.#take(n, what);
    return this.#bytes.slice(at, at + n);
  }

  string(n: number, what: string): string {
    const at = this.#take(n, what);
    try {
      return decoder.decode(this.#bytes.subarray(at, at + n));
    } catch {
      throw new MosquittoDbError(at, `${what} is not UTF-8`);
    }
  }

  /** Properties filling the rest of the chunk (a length and the properties, as in a packet). */
  properties(context: "publish"): Properties | undefined {
    const at = this.#pos;
    if (at === this.#end) return undefined;
    try {
      const r = new ByteReader(this.#bytes, at, this.#end);
      const props = readProperties(r, context);
      if (r.pos !== this.#end) throw new Error("bytes after the properties");
      this.#pos = this.#end;
      return props;
    } catch (error) {
      throw new MosquittoDbError(at, `unreadable properties (${(error as Error).message})`);
    }
  }

  /** The chunk must be read to its end. */
  end(what: string): void {
    if (this.#pos !== this.#end) {
      throw new MosquittoDbError(this.#pos, `${this.#end - this.#pos} bytes too many in ${what}`);
    }
  }
}

function qosAt(r: ChunkReader, what: string): QoS {
  const at = r.pos;
  const qos = r.u8(what);
  if (qos > 2) throw new MosquittoDbError(at, `${what} ${qos}`);
  return qos as QoS;
}

/** Seconds since the epoch as ms, 0 meaning none. */
function timeOf(seconds: number): number | undefined {
  return seconds === 0 ? undefined : seconds * 1000;
}

/** Read the header; throws `MosquittoDbError` for another file or db version. */
function readHeader(bytes: Uint8Array): number {
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) {
      throw new MosquittoDbError(
        i,
        i < bytes.length ? "not a Mosquitto persistence file" : "the file ends in its header",
      );
    }
  }
  if (bytes.length < HEADER_SIZE) {
    throw new MosquittoDbError(bytes.length, "the file ends in its header");
  }
  const version = new DataView(bytes.buffer, bytes.byteOffset).getUint32(MAGIC.length + 4);
  if (version !== MOSQUITTO_DB_VERSION) {
    const which = version < MOSQUITTO_DB_VERSION
      ? `an older Mosquitto's (1.x). Run Mosquitto 2.0 on it once (it reads it and saves ` +
        `version ${MOSQUITTO_DB_VERSION}), then import that`
      : `a newer Mosquitto's than 2.0, which Midge cannot read`;
    throw new MosquittoDbError(
      MAGIC.length + 4,
      `db version ${version}: this is ${which}`,
    );
  }
  return version;
}

/** Read a `mosquitto.db` written by Mosquitto 2.0; throws `MosquittoDbError`. */
export function readMosquittoDb(bytes: Uint8Array): MosquittoDb {
  const db: MosquittoDb = {
    version: readHeader(bytes),
    messages: [],
    retained: [],
    clients: [],
    subscriptions: [],
    clientMessages: [],
  };
  let pos = HEADER_SIZE;
  while (pos < bytes.length) {
    if (pos + 8 > bytes.length) {
      throw new MosquittoDbError(pos, "the file ends in a chunk's header (truncated?)");
    }
    const head = new ChunkReader(bytes, pos, pos + 8);
    const type = head.u32("type");
    const length = head.u32("length");
    const start = pos + 8;
    const end = start + length;
    if (end > bytes.length) {
      throw new MosquittoDbError(
        pos,
        `a chunk of ${length} bytes, but the file ends ${bytes.length - start} bytes on ` +
          `(truncated?)`,
      );
    }
    readChunk(db, type, new ChunkReader(bytes, start, end), pos);
    pos = end;
  }
  return db;
}

function readChunk(db: MosquittoDb, type: number, r: ChunkReader, at: number): void {
  switch (type) {
    case CHUNK_CFG: {
      r.skip(8, "last store id");
      r.skip(1, "shutdown flag");
      const idSize = r.u8("store id size");
      if (idSize !== 8) throw new MosquittoDbError(at + 17, `store ids of ${idSize} bytes`);
      r.skip(FIXED.cfg - 10, "padding");
      return r.end("the configuration chunk");
    }
    case CHUNK_MSG_STORE:
      db.messages.push(readMessage(r));
      return;
    case CHUNK_CLIENT_MSG:
      db.clientMessages.push(readClientMessage(r));
      return;
    case CHUNK_RETAIN:
      db.retained.push(r.u64le("store id"));
      return r.end("a retained chunk");
    case CHUNK_SUB:
      db.subscriptions.push(readSubscription(r));
      return;
    case CHUNK_CLIENT:
      db.clients.push(readClient(r));
      return;
    default:
      throw new MosquittoDbError(at, `unknown chunk type ${type}`);
  }
}

function readMessage(r: ChunkReader): MosquittoMessage {
  const storeId = r.u64le("store id");
  const expiry = r.u64le("expiry time");
  const payloadLength = r.u32("payload length");
  r.skip(2, "source packet id");
  const sourceIdLength = r.u16("source id length");
  const sourceUsernameLength = r.u16("source username length");
  const topicLength = r.u16("topic length");
  const sourcePort = r.u16("source port");
  const qos = qosAt(r, "QoS");
  const retain = r.u8("retain flag") !== 0;
  const sourceId = r.string(sourceIdLength, "source id");
  const sourceUsername = sourceUsernameLength > 0
    ? r.string(sourceUsernameLength, "source username")
    : undefined;
  const topic = r.string(topicLength, "topic");
  const payload = r.bytes(payloadLength, "payload");
  const properties = r.properties("publish");
  return {
    storeId,
    topic,
    payload,
    qos,
    retain,
    properties,
    expiresAt: timeOf(expiry),
    sourceId,
    sourceUsername,
    sourcePort: sourcePort === 0 ? undefined : sourcePort,
  };
}

function readClientMessage(r: ChunkReader): MosquittoClientMessage {
  const storeId = r.u64le("store id");
  const packetId = r.u16("packet id");
  const idLength = r.u16("client id length");
  const qos = qosAt(r, "QoS");
  const stateAt = r.pos;
  const code = r.u8("state");
  const retainDup = r.u8("retain and dup flags");
  const direction = r.u8("direction");
  const clientId = r.string(idLength, "client id");
  const properties = r.properties("publish");
  // In: a QoS 2 message received and awaiting PUBREL (wait_for_pubrel), the only kind kept.
  const state = direction === 0 ? (code === 7 ? "received" : undefined) : OUT_STATES[code];
  if (state === undefined || direction > 1) {
    throw new MosquittoDbError(stateAt, `message state ${code} in direction ${direction}`);
  }
  return {
    clientId,
    storeId,
    packetId,
    qos,
    retain: (retainDup >> 4) !== 0,
    direction: direction === 0 ? "in" : "out",
    state,
    properties,
  };
}

function readSubscription(r: ChunkReader): MosquittoSubscription {
  const identifier = r.u32("subscription identifier");
  const idLength = r.u16("client id length");
  const filterLength = r.u16("topic filter length");
  const qos = qosAt(r, "QoS");
  const optionsAt = r.pos;
  const options = r.u8("subscription options");
  const retainHandling = (options >> 4) & 3;
  if (retainHandling > 2) {
    throw new MosquittoDbError(optionsAt, `subscription options ${options}`);
  }
  r.skip(FIXED.sub - 10, "padding");
  const clientId = r.string(idLength, "client id");
  const filter = r.string(filterLength, "topic filter");
  r.end("a subscription chunk");
  return {
    clientId,
    filter,
    qos,
    noLocal: (options & 0x04) !== 0,
    retainAsPublished: (options & 0x08) !== 0,
    retainHandling: retainHandling as 0 | 1 | 2,
    identifier,
  };
}

function readClient(r: ChunkReader): MosquittoClient {
  const expiry = r.u64le("session expiry time");
  const expiryInterval = r.u32("session expiry interval");
  r.skip(2, "last packet id");
  const idLength = r.u16("client id length");
  const listenerPort = r.u16("listener port");
  const usernameLength = r.u16("username length");
  r.skip(FIXED.client - 20, "padding");
  const clientId = r.string(idLength, "client id");
  const username = usernameLength > 0 ? r.string(usernameLength, "username") : undefined;
  r.end("a client chunk");
  return {
    clientId,
    expiryInterval,
    expiresAt: timeOf(expiry),
    username,
    listenerPort: listenerPort === 0 ? undefined : listenerPort,
  };
}
