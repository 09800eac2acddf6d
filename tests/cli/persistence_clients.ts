/**
 * MQTT 3.1.1 clients for the persistence crash tests that keep their side of the session
 * across broker crashes, as MQTT asks of a client with clean session 0:
 *
 * - `Publisher` sends numbered QoS 1 or 2 messages with a bounded number unacknowledged and,
 *   after reconnecting, first sends again what the broker did not acknowledge, in the original
 *   order and under the original packet ids: PUBLISH with DUP for a message without PUBACK /
 *   PUBREC, PUBREL for one with PUBREC but no PUBCOMP [MQTT-4.4.0-1]. With `persistent: false`
 *   it connects with clean session 1 instead and gives up what was in flight.
 * - `Receiver` takes numbered messages, acknowledges each, and counts application deliveries:
 *   every QoS 1 PUBLISH is one; a QoS 2 packet id counts once until its PUBREL (the spec's
 *   method B, 4.3.3), so a PUBLISH sent again before the PUBREL is not a new message.
 *
 * A message's number (its `seq`) is its payload, in decimal.
 *
 * @module
 */

import { encodePacket, type Packet, type PublishPacket, type QoS } from "../../src/codec/mod.ts";
import { RawClient } from "../integration/harness.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The broker went away (closed or reset the connection). */
export class ConnectionLost extends Error {}

/** The next packet; undefined after `ms` without one; `ConnectionLost` once it is closed. */
async function nextPacket(client: RawClient, ms: number): Promise<Packet | undefined> {
  try {
    return await client.next(ms);
  } catch (error) {
    if (client.closed) throw new ConnectionLost("connection closed");
    if ((error as Error).message.startsWith("no packet within")) return undefined;
    throw error;
  }
}

/** Send packets in one write; `ConnectionLost` if the socket is gone. */
async function sendAll(client: RawClient, packets: Packet[]): Promise<void> {
  if (packets.length === 0) return;
  const parts = packets.map((p) => encodePacket(p, 4));
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const part of parts) {
    bytes.set(part, off);
    off += part.length;
  }
  try {
    await client.sendBytes(bytes);
  } catch (error) {
    throw new ConnectionLost((error as Error).message);
  }
}

/** Open a connection and CONNECT (3.1.1); the CONNACK must accept. `ConnectionLost` if not. */
async function open(
  port: number,
  clientId: string,
  clean: boolean,
): Promise<{ client: RawClient; sessionPresent: boolean }> {
  let client: RawClient;
  try {
    client = await RawClient.open(port);
  } catch (error) {
    throw new ConnectionLost((error as Error).message);
  }
  try {
    await sendAll(client, [{
      type: "connect",
      protocolVersion: 4,
      clientId,
      clean,
      keepAlive: 60,
    }]);
    const connack = await nextPacket(client, 10_000);
    if (connack === undefined) throw new Error(`${clientId}: no CONNACK within 10 s`);
    if (connack.type !== "connack" || connack.reasonCode !== 0) {
      throw new Error(`${clientId}: refused: ${JSON.stringify(connack)}`);
    }
    return { client, sessionPresent: connack.sessionPresent };
  } catch (error) {
    await client.close();
    throw error;
  }
}

/** The payload of message `seq`. */
export function seqPayload(seq: number): Uint8Array {
  return encoder.encode(String(seq));
}

/** The number a payload carries; fails for anything else. */
export function payloadSeq(payload: Uint8Array): number {
  const text = decoder.decode(payload);
  const seq = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(seq)) {
    throw new Error(`not a numbered message: ${JSON.stringify(text)}`);
  }
  return seq;
}

/** What a `Publisher` is to do. */
export interface PublisherOptions {
  /** Client id, the same on every connection. */
  clientId: string;
  /** QoS of every message. */
  qos: 1 | 2;
  /** Messages to send, numbered 0 .. total - 1 (at most 65535: message n has packet id n + 1). */
  total: number;
  /** Unacknowledged messages at most. */
  window: number;
  /** Topic and retain flag of message `seq`. */
  route(seq: number): { topic: string; retain: boolean };
  /** Clean session 0, resending after a reconnect (true); or clean session 1, giving up. */
  persistent: boolean;
  /** How many messages may have been sent by now (pacing); all when not given. */
  allowed?: () => number;
  /** Fail when nothing is acknowledged for this long while messages wait (ms); 10 s if unset. */
  stallMs?: number;
}

interface Outgoing {
  seq: number;
  packetId: number;
  /** "publish": no PUBACK / PUBREC yet; "pubrel": PUBREC came, PUBCOMP not yet. */
  state: "publish" | "pubrel";
}

/** A publisher of numbered messages that survives broker crashes. */
export class Publisher {
  /** What it does. */
  readonly options: PublisherOptions;
  /** 1 at `seq` once the broker took message `seq` over: PUBACK (QoS 1) or PUBREC (QoS 2). */
  readonly acked: Uint8Array;
  /** Messages acknowledged (PUBACK / PUBREC). */
  ackedCount = 0;
  /** QoS 2 messages completed (PUBCOMP). */
  completedCount = 0;
  /** Messages sent at least once. */
  sent = 0;
  /** PUBLISH packets sent again with DUP, and PUBREL packets sent again, after reconnects. */
  resent = { publish: 0, pubrel: 0 };
  /** Messages sent, never acknowledged, and given up at a clean reconnect. */
  readonly abandoned = new Set<number>();
  /** Connections made. */
  connections = 0;
  /** Unacknowledged messages by packet id, in the order first sent. */
  #inflight = new Map<number, Outgoing>();

  /** A publisher that has sent nothing yet. */
  constructor(options: PublisherOptions) {
    if (options.total > 65535) throw new Error("at most 65535 messages");
    this.options = options;
    this.acked = new Uint8Array(options.total);
  }

  /** Whether every message was sent and its flow completed. */
  get done(): boolean {
    return this.sent === this.options.total && this.#inflight.size === 0;
  }

  /**
   * Connect to the broker on `port` and publish until every message is done ("done", after a
   * DISCONNECT) or the connection is lost ("lost"). Fails on a protocol surprise, a stall, or
   * when `deadline` (a Date.now() time) passes.
   */
  async run(port: number, deadline: number): Promise<"done" | "lost"> {
    const o = this.options;
    let opened: { client: RawClient; sessionPresent: boolean };
    try {
      opened = await open(port, o.clientId, !o.persistent);
    } catch (error) {
      if (error instanceof ConnectionLost) return "lost";
      throw error;
    }
    const { client, sessionPresent } = opened;
    try {
      if (o.persistent && this.connections > 0 && !sessionPresent) {
        throw new Error(`${o.clientId}: session present = 0 on reconnect ${this.connections}`);
      }
      this.connections++;
      await this.#session(client, deadline);
      return "done";
    } catch (error) {
      if (error instanceof ConnectionLost) return "lost";
      throw error;
    } finally {
      await client.close();
    }
  }

  async #session(client: RawClient, deadline: number): Promise<void> {
    const o = this.options;
    const out: Packet[] = [];
    if (!o.persistent) {
      for (const m of this.#inflight.values()) this.abandoned.add(m.seq);
      this.#inflight.clear();
    }
    for (const m of this.#inflight.values()) {
      if (m.state === "publish") {
        out.push(this.#publish(m, true));
        this.resent.publish++;
      } else {
        out.push({ type: "pubrel", packetId: m.packetId, reasonCode: 0 });
        this.resent.pubrel++;
      }
    }
    let lastProgress = Date.now();
    for (;;) {
      if (this.done) {
        await sendAll(client, [...out, { type: "disconnect", reasonCode: 0 }]);
        return;
      }
      if (Date.now() > deadline) {
        throw new Error(`${o.clientId}: deadline passed with ${this.sent}/${o.total} sent`);
      }
      const limit = Math.min(o.total, o.allowed?.() ?? o.total);
      while (this.#inflight.size < o.window && this.sent < limit) {
        const m: Outgoing = { seq: this.sent, packetId: this.sent + 1, state: "publish" };
        this.sent++;
        this.#inflight.set(m.packetId, m);
        out.push(this.#publish(m, false));
      }
      await sendAll(client, out.splice(0));
      const first = await nextPacket(client, 50);
      if (first === undefined) {
        if (this.#inflight.size > 0 && Date.now() - lastProgress > (o.stallMs ?? 10_000)) {
          throw new Error(
            `${o.clientId}: nothing acknowledged for ${o.stallMs ?? 10_000} ms ` +
              `(${this.#inflight.size} in flight, ${this.sent}/${o.total} sent)`,
          );
        }
        continue;
      }
      lastProgress = Date.now();
      for (const p of [first, ...client.takeAll()]) this.#handle(p, out);
    }
  }

  #publish(m: Outgoing, dup: boolean): PublishPacket {
    const { topic, retain } = this.options.route(m.seq);
    return {
      type: "publish",
      topic,
      payload: seqPayload(m.seq),
      qos: this.options.qos as QoS,
      retain,
      dup,
      packetId: m.packetId,
    };
  }

  #handle(p: Packet, out: Packet[]): void {
    const id = this.options.clientId;
    if (p.type !== "puback" && p.type !== "pubrec" && p.type !== "pubcomp") {
      throw new Error(`${id}: unexpected ${JSON.stringify(p)}`);
    }
    const m = this.#inflight.get(p.packetId);
    const expected = p.type === "pubcomp" ? "pubrel" : "publish";
    const qosOk = p.type === "puback" ? this.options.qos === 1 : this.options.qos === 2;
    if (m === undefined || m.state !== expected || !qosOk) {
      throw new Error(`${id}: ${p.type} for packet id ${p.packetId}, which does not wait for one`);
    }
    if (p.type === "pubcomp") {
      this.#inflight.delete(p.packetId);
      this.completedCount++;
      return;
    }
    this.acked[m.seq] = 1;
    this.ackedCount++;
    if (p.type === "puback") {
      this.#inflight.delete(p.packetId);
    } else {
      m.state = "pubrel";
      out.push({ type: "pubrel", packetId: p.packetId, reasonCode: 0 });
    }
  }
}

/** One PUBLISH a `Receiver` got. */
export interface Received {
  /** The message's number. */
  seq: number;
  /** Its topic. */
  topic: string;
  /** Its packet id (0 for QoS 0). */
  packetId: number;
  /** Its QoS. */
  qos: QoS;
  /** DUP flag. */
  dup: boolean;
  /** Retain flag. */
  retain: boolean;
  /** Whether it counted as an application delivery (always, except a QoS 2 resend). */
  delivered: boolean;
  /** Which connection of the receiver it came on (0 = first). */
  connection: number;
}

/** How a `Receiver.receive` ended. */
export type ReceiveEnd = "quiet" | "stopped" | "lost" | "deadline";

/** A subscriber that acknowledges everything and records what it got. */
export class Receiver {
  /** Client id. */
  readonly clientId: string;
  /** Every PUBLISH received, in order. */
  readonly received: Received[] = [];
  /** QoS 2 packet ids PUBREC'd and not yet released (kept across connections). */
  readonly awaitingRelease = new Set<number>();
  /** PUBREL packets received. */
  releases = 0;
  /** Connections made. */
  connections = 0;

  /** A receiver with client id `clientId`. */
  constructor(clientId: string) {
    this.clientId = clientId;
  }

  /** Sequence numbers of application deliveries, in order. */
  deliveries(): number[] {
    return this.received.filter((r) => r.delivered).map((r) => r.seq);
  }

  /** Connect with clean session `clean` (0 unless told). */
  async connect(
    port: number,
    clean = false,
  ): Promise<{ client: RawClient; sessionPresent: boolean }> {
    const opened = await open(port, this.clientId, clean);
    this.connections++;
    return opened;
  }

  /**
   * Connect with clean session 0, subscribe to `filter` at `qos` (the SUBACK must grant it)
   * and disconnect, leaving a session that the broker keeps.
   */
  async subscribe(port: number, filter: string, qos: QoS): Promise<void> {
    const { client } = await this.connect(port);
    try {
      await this.subscribeOn(client, filter, qos);
      await sendAll(client, [{ type: "disconnect", reasonCode: 0 }]);
    } finally {
      await client.close();
    }
  }

  /** Subscribe to `filter` at `qos` over `client`; the SUBACK must grant it. */
  async subscribeOn(client: RawClient, filter: string, qos: QoS): Promise<void> {
    await sendAll(client, [{
      type: "subscribe",
      packetId: 1,
      subscriptions: [{
        topicFilter: filter,
        qos,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0,
      }],
    }]);
    const suback = await nextPacket(client, 10_000);
    if (suback?.type !== "suback" || suback.reasonCodes[0] !== qos) {
      throw new Error(`${this.clientId}: subscription refused: ${JSON.stringify(suback)}`);
    }
  }

  /**
   * Take and acknowledge packets until `stop()` holds, or nothing came for `quietMs` (once
   * `complete()` holds, when given: a slow broker is waited for up to `deadline`), or the
   * connection is lost. Fails on a packet a subscriber must not get; after `deadline`, ends
   * with "deadline" when `complete` was given (for the caller to say what is missing), fails
   * otherwise. `onPublish` may hold back the acknowledgement of a PUBLISH (return false).
   */
  async receive(
    client: RawClient,
    options: {
      quietMs: number;
      deadline: number;
      stop?: () => boolean;
      complete?: () => boolean;
      onPublish?: (r: Received) => boolean;
    },
  ): Promise<ReceiveEnd> {
    const out: Packet[] = [];
    let last = Date.now();
    try {
      for (;;) {
        if (options.stop?.()) return "stopped";
        if (Date.now() > options.deadline) {
          if (options.complete !== undefined) return "deadline";
          throw new Error(`${this.clientId}: deadline passed after ${this.received.length}`);
        }
        const first = await nextPacket(client, 50);
        if (first === undefined) {
          const complete = options.complete?.() ?? true;
          if (complete && Date.now() - last > options.quietMs) return "quiet";
          continue;
        }
        last = Date.now();
        for (const p of [first, ...client.takeAll()]) this.#handle(p, out, options.onPublish);
        await sendAll(client, out.splice(0));
      }
    } catch (error) {
      if (error instanceof ConnectionLost) return "lost";
      throw error;
    }
  }

  #handle(p: Packet, out: Packet[], onPublish?: (r: Received) => boolean): void {
    if (p.type === "pubrel") {
      this.releases++;
      this.awaitingRelease.delete(p.packetId);
      out.push({ type: "pubcomp", packetId: p.packetId, reasonCode: 0 });
      return;
    }
    if (p.type !== "publish") throw new Error(`${this.clientId}: unexpected ${JSON.stringify(p)}`);
    const packetId = p.packetId ?? 0;
    const r: Received = {
      seq: payloadSeq(p.payload),
      topic: p.topic,
      packetId,
      qos: p.qos,
      dup: p.dup,
      retain: p.retain,
      delivered: !(p.qos === 2 && this.awaitingRelease.has(packetId)),
      connection: this.connections - 1,
    };
    this.received.push(r);
    if (onPublish !== undefined && !onPublish(r)) return;
    if (p.qos === 1) out.push({ type: "puback", packetId, reasonCode: 0 });
    if (p.qos === 2) {
      this.awaitingRelease.add(packetId);
      out.push({ type: "pubrec", packetId, reasonCode: 0 });
    }
  }
}
