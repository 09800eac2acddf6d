/**
 * In-process MQTT peers for the tool tests, built on the raw test client and Midge's codec:
 * an `MqttPeer` that publishes (completing the QoS 1/2 flows) and receives (acknowledging
 * them), to feed a `sub` or watch what a `pub` sent; and a `ScriptedBroker` that answers one
 * tool connection on its own schedule, to check that `pub` waits for its acknowledgements.
 *
 * @module
 */

import { RawClient } from "../integration/harness.ts";
import {
  decodePacket,
  encodePacket,
  FrameReader,
  type Packet,
  type Properties,
  type ProtocolVersion,
  type PublishPacket,
  type QoS,
  type Subscription,
} from "../../src/codec/mod.ts";

/** Options of `MqttPeer.connect`. */
export interface PeerOptions {
  /** Protocol version (default 5, so properties are seen). */
  version?: ProtocolVersion;
  /** Client id (default "peer"). */
  clientId?: string;
  /** Clean start (default true). */
  clean?: boolean;
}

/** Options of `MqttPeer.publish`. */
export interface PeerPublishOptions {
  /** QoS (default 0). */
  qos?: QoS;
  /** Retain flag. */
  retain?: boolean;
  /** 5.0 properties. */
  properties?: Properties;
}

/** A message as a peer received it. */
export interface Received {
  /** Topic. */
  topic: string;
  /** Payload bytes. */
  payload: Uint8Array;
  /** Payload as text. */
  text: string;
  /** Delivery QoS. */
  qos: QoS;
  /** Retain flag. */
  retain: boolean;
  /** Properties (5.0). */
  properties: Properties | undefined;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A client that publishes and receives, acknowledging what it receives at QoS 1 and 2 as it
 * reads it. Every wait is bounded; `close()` must be called (the matrix fixture does).
 */
export class MqttPeer {
  #client: RawClient;
  #nextId = 1;
  #messages: Received[] = [];
  #control: Packet[] = [];

  private constructor(client: RawClient) {
    this.#client = client;
  }

  /** Connect to 127.0.0.1:`port`; fails unless the broker accepts. */
  static async connect(port: number, options: PeerOptions = {}): Promise<MqttPeer> {
    const version = options.version ?? 5;
    const client = await RawClient.open(port, version);
    const peer = new MqttPeer(client);
    try {
      await client.send({
        type: "connect",
        protocolVersion: version,
        clientId: options.clientId ?? "peer",
        clean: options.clean ?? true,
        keepAlive: 60,
      });
      const connack = await client.expect("connack", 3000);
      if (connack.reasonCode !== 0) throw new Error(`CONNACK ${connack.reasonCode}`);
    } catch (error) {
      await client.close();
      throw error;
    }
    return peer;
  }

  /** Read one packet (acknowledging publishes) into the message or control queue. */
  async #pump(deadline: number): Promise<void> {
    const packet = await this.#client.next(Math.max(1, deadline - Date.now()));
    if (packet.type === "publish") {
      if (packet.qos === 1) {
        await this.#client.send({ type: "puback", packetId: packet.packetId!, reasonCode: 0 });
      } else if (packet.qos === 2) {
        await this.#client.send({ type: "pubrec", packetId: packet.packetId!, reasonCode: 0 });
      }
      this.#messages.push(received(packet));
    } else if (packet.type === "pubrel") {
      await this.#client.send({ type: "pubcomp", packetId: packet.packetId, reasonCode: 0 });
    } else {
      this.#control.push(packet);
    }
  }

  async #expect<T extends Packet["type"]>(
    type: T,
    packetId: number,
    timeoutMs = 3000,
  ): Promise<Extract<Packet, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.#control.findIndex((p) =>
        p.type === type && "packetId" in p && p.packetId === packetId
      );
      if (i >= 0) return this.#control.splice(i, 1)[0] as Extract<Packet, { type: T }>;
      if (Date.now() > deadline) throw new Error(`no ${type} for ${packetId}`);
      await this.#pump(deadline);
    }
  }

  #id(): number {
    const id = this.#nextId;
    this.#nextId = id === 65535 ? 1 : id + 1;
    return id;
  }

  /** Subscribe and return the SUBACK reason codes. */
  async subscribe(
    filters: string | (Partial<Subscription> & { topicFilter: string })[],
    qos: QoS = 2,
  ): Promise<number[]> {
    const list = typeof filters === "string" ? [{ topicFilter: filters }] : filters;
    const packetId = this.#id();
    await this.#client.send({
      type: "subscribe",
      packetId,
      subscriptions: list.map((s) => ({
        qos,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0,
        ...s,
      })),
    });
    return (await this.#expect("suback", packetId)).reasonCodes;
  }

  /** Publish and, at QoS 1 or 2, complete the flow. */
  async publish(
    topic: string,
    payload: string | Uint8Array,
    options: PeerPublishOptions = {},
  ): Promise<void> {
    const qos = options.qos ?? 0;
    const packetId = qos > 0 ? this.#id() : undefined;
    await this.#client.send({
      type: "publish",
      topic,
      payload: typeof payload === "string" ? encoder.encode(payload) : payload,
      qos,
      retain: options.retain ?? false,
      dup: false,
      packetId,
      properties: options.properties,
    });
    if (qos === 1) await this.#expect("puback", packetId!);
    if (qos === 2) {
      await this.#expect("pubrec", packetId!);
      await this.#client.send({ type: "pubrel", packetId: packetId!, reasonCode: 0 });
      await this.#expect("pubcomp", packetId!);
    }
  }

  /** Wait for `count` messages (beyond those already taken) and take them. */
  async receive(count: number, timeoutMs = 5000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    try {
      while (this.#messages.length < count) await this.#pump(deadline);
    } catch (error) {
      throw new Error(
        `${this.#messages.length} of ${count} messages within ${timeoutMs} ms: ${
          error instanceof Error ? error.message : error
        }; got ${JSON.stringify(this.#messages.slice(0, 5).map((m) => [m.topic, m.text]))}`,
      );
    }
    return this.#messages.splice(0, count);
  }

  /** Assert that no message arrives within `ms`. */
  async expectNoMessage(ms = 300): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.#messages.length === 0 && Date.now() < deadline) {
      try {
        await this.#pump(deadline);
      } catch {
        break; // nothing more within the time
      }
    }
    if (this.#messages.length > 0) {
      const m = this.#messages[0];
      throw new Error(`unexpected message on ${m.topic}: ${JSON.stringify(m.text)}`);
    }
  }

  /** Send DISCONNECT (unless the connection is gone) and close. */
  async close(): Promise<void> {
    if (!this.#client.closed) {
      try {
        await this.#client.send({ type: "disconnect", reasonCode: 0 });
      } catch {
        // the broker has gone
      }
    }
    await this.#client.close();
  }
}

function received(p: PublishPacket): Received {
  return {
    topic: p.topic,
    payload: p.payload,
    text: decoder.decode(p.payload),
    qos: p.qos,
    retain: p.retain,
    properties: p.properties,
  };
}

/** What a `ScriptedBroker` saw and did, in order, with the time of each step. */
export interface ScriptEvent {
  /** "CONNECT", "PUBLISH", "PUBACK sent", "PUBREL", "DISCONNECT", "closed", ... */
  what: string;
  /** `Date.now()` when it happened. */
  at: number;
}

/**
 * A one-connection fake broker on 127.0.0.1, port 0: it accepts CONNECT, and answers PUBLISH
 * with PUBACK (QoS 1) or PUBREC (QoS 2) and PUBREL with PUBCOMP, each after `ackDelayMs`, so a
 * test can see whether a tool waits for them. It records each step.
 */
export class ScriptedBroker {
  /** Its port. */
  readonly port: number;
  /** What happened so far. */
  readonly events: ScriptEvent[] = [];
  #listener: Deno.TcpListener;
  #conn: Deno.TcpConn | undefined;
  #done: Promise<void>;
  #ackDelayMs: number;
  #timers = new Set<ReturnType<typeof setTimeout>>();

  /** Listen; answers acknowledgements after `ackDelayMs`. */
  constructor(ackDelayMs: number) {
    this.#ackDelayMs = ackDelayMs;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#done = this.#serve();
  }

  #log(what: string): void {
    this.events.push({ what, at: Date.now() });
  }

  /** The steps so far, without times. */
  steps(): string[] {
    return this.events.map((e) => e.what);
  }

  async #serve(): Promise<void> {
    let conn: Deno.TcpConn;
    try {
      conn = await this.#listener.accept();
    } catch {
      return; // closed before a connection came
    }
    this.#conn = conn;
    const reader = new FrameReader();
    const buf = new Uint8Array(64 * 1024);
    let version: ProtocolVersion = 4;
    const send = async (packet: Packet, what: string) => {
      const bytes = encodePacket(packet, version);
      try {
        let off = 0;
        while (off < bytes.length) off += await conn.write(bytes.subarray(off));
        this.#log(what);
      } catch {
        this.#log(`${what} failed`);
      }
    };
    const later = (packet: Packet, what: string) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        send(packet, what);
      }, this.#ackDelayMs);
      this.#timers.add(timer);
    };
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        reader.push(buf.subarray(0, n));
        for (let f = reader.next(); f !== null; f = reader.next()) {
          const p = decodePacket(f.slice(), version);
          switch (p.type) {
            case "connect":
              version = p.protocolVersion;
              this.#log("CONNECT");
              await send({ type: "connack", sessionPresent: false, reasonCode: 0 }, "CONNACK sent");
              break;
            case "publish":
              this.#log(`PUBLISH q${p.qos}`);
              if (p.qos === 1) {
                later({ type: "puback", packetId: p.packetId!, reasonCode: 0 }, "PUBACK sent");
              } else if (p.qos === 2) {
                later({ type: "pubrec", packetId: p.packetId!, reasonCode: 0 }, "PUBREC sent");
              }
              break;
            case "pubrel":
              this.#log("PUBREL");
              later({ type: "pubcomp", packetId: p.packetId, reasonCode: 0 }, "PUBCOMP sent");
              break;
            case "disconnect":
              this.#log("DISCONNECT");
              break;
            case "pingreq":
              await send({ type: "pingresp" }, "PINGRESP sent");
              break;
            default:
              this.#log(p.type.toUpperCase());
          }
        }
      }
    } catch {
      // reset by the tool: the same as closed
    }
    this.#log("closed");
  }

  /** Stop listening, close the connection and wait for the server loop to end. */
  async close(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    try {
      this.#conn?.close();
    } catch {
      // closed by the tool first: reading end-of-stream does not free it, close() does
    }
    await this.#done;
  }
}
