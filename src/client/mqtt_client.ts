/**
 * A small MQTT client on the project's codec, over any transport `Conn`: for the tools
 * (`midge pub`, `sub`, `rr`), tests, and bridges next. CONNECT/CONNACK, PUBLISH at QoS 0, 1
 * and 2 both ways with their acknowledgements, SUBSCRIBE, UNSUBSCRIBE, keep alive, DISCONNECT;
 * and a relay mode for bridges, where the flow of messages is handed over packet by packet.
 * Writes are batched per turn of the event loop (transport's OutQueue, as the broker's are),
 * so a tool streaming many messages makes few system calls.
 *
 * @module
 */

import {
  type ConnackPacket,
  type ConnectPacket,
  decodePacket,
  type DisconnectPacket,
  encodePacket,
  FrameReader,
  MqttError,
  type Packet,
  type Properties,
  type ProtocolVersion,
  type PublishPacket,
  type QoS,
  type SubackPacket,
  type Subscription,
  type UnsubackPacket,
} from "../codec/mod.ts";
import type { Conn } from "../transport/conn.ts";
import { OutQueue } from "../transport/out_queue.ts";

/** What CONNECT carries, besides the protocol version. */
export type ConnectFields = Omit<ConnectPacket, "type">;

/** The broker refused the connection: CONNACK with a non-zero reason code. */
export class ConnackRefused extends Error {
  /** The CONNACK. */
  readonly connack: ConnackPacket;

  /** A refusal carried by `connack`. */
  constructor(connack: ConnackPacket) {
    super(`connection refused (reason ${connack.reasonCode})`);
    this.connack = connack;
  }
}

/** A message received from the broker (QoS 2: once its PUBREL arrived). */
export type ReceivedPublish = PublishPacket;

/**
 * A packet of the flow of messages, handed to a relay as it came: a PUBLISH or PUBREL from the
 * broker, or an acknowledgement of a PUBLISH the relay sent (`MqttClient.send`).
 */
export type FlowPacket = Extract<
  Packet,
  { type: "publish" | "puback" | "pubrec" | "pubrel" | "pubcomp" }
>;

/** Called for each packet sent and received (`-d`). */
export type PacketTrace = (direction: "sent" | "received", packet: Packet) => void;

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

const READ_SIZE = 64 * 1024;

/** One connection to a broker. */
export class MqttClient {
  /** The broker's CONNACK. */
  readonly connack: ConnackPacket;
  /** The protocol version spoken. */
  readonly version: ProtocolVersion;
  #messageHandler: ((message: ReceivedPublish) => void) | undefined;
  /** Relay mode: the flow goes here, unacknowledged (`relayFlow`). */
  #relay: ((packet: FlowPacket) => void) | undefined;
  /** Relay mode: flow packets that came before the relay was given. */
  #earlyFlow: FlowPacket[] | undefined;
  /** Messages that arrived before `onMessage` was set (a resumed session's, after CONNACK). */
  #early: ReceivedPublish[] = [];
  /** Called when the broker sends DISCONNECT (5.0). */
  onDisconnect: (packet: DisconnectPacket) => void = () => {};
  /**
   * Called as each SUBACK is handled, before any packet that came after it (a retained
   * message, say) is: what it does, `disconnect()` included, comes first, as in
   * libmosquitto's callbacks. `subscribe()` resolves too, but only once those packets are
   * handled.
   */
  onSuback: (packet: SubackPacket) => void = () => {};
  /** Resolves when the connection has ended, with the error that ended it, if any. */
  readonly closed: Promise<Error | undefined>;
  #trace: PacketTrace | undefined;
  #socket: Conn;
  #out: OutQueue;
  #reader: FrameReader;
  #pending = new Map<number, Waiter<Packet>>();
  #incomingQos2 = new Map<number, PublishPacket>();
  #nextId = 1;
  #keepAliveMs: number;
  #lastSent = Date.now();
  #pingSentAt = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #ended = false;
  /** DISCONNECT is sent: nothing more is handled or sent, though the socket may be open. */
  #disconnecting = false;
  #endClosed!: (error: Error | undefined) => void;

  private constructor(
    socket: Conn,
    version: ProtocolVersion,
    state: {
      connack: ConnackPacket;
      reader: FrameReader;
      keepAlive: number;
      trace?: PacketTrace;
      nextPacketId?: number;
      relay?: boolean;
    },
  ) {
    this.#socket = socket;
    this.version = version;
    this.connack = state.connack;
    this.#reader = state.reader;
    this.#trace = state.trace;
    this.#nextId = state.nextPacketId ?? 1;
    if (state.relay) this.#earlyFlow = [];
    this.#out = new OutQueue(socket, { outputFailed: (error) => this.#end(asError(error)) });
    const serverKeepAlive = state.connack.properties?.serverKeepAlive;
    this.#keepAliveMs = (serverKeepAlive ?? state.keepAlive) * 1000;
    this.closed = new Promise((resolve) => this.#endClosed = resolve);
    if (this.#keepAliveMs > 0) {
      this.#timer = setInterval(() => this.#keepAlive(), Math.min(1000, this.#keepAliveMs / 2));
    }
    this.#readLoop();
  }

  /**
   * Send CONNECT on `socket` and wait for CONNACK (at most `timeoutMs`). Throws
   * `ConnackRefused` for a refusal, and an Error if the broker closes or says nothing.
   * `nextPacketId` carries the numbering on from an earlier connection, as libmosquitto does;
   * `disconnectWhenRefused` answers a refusal with DISCONNECT before closing, as
   * mosquitto_sub and mosquitto_rr do.
   */
  static async connect(
    socket: Conn,
    fields: ConnectFields,
    options: {
      timeoutMs?: number;
      trace?: PacketTrace;
      nextPacketId?: number;
      disconnectWhenRefused?: boolean;
      /** Hand the flow of messages to `relayFlow`, held until it is called (bridges). */
      relay?: boolean;
    } = {},
  ): Promise<MqttClient> {
    const version = fields.protocolVersion;
    const connect: ConnectPacket = { type: "connect", ...fields };
    options.trace?.("sent", connect);
    await writeAll(socket, encodePacket(connect, version));
    const reader = new FrameReader();
    const connack = await readConnack(socket, reader, version, options.timeoutMs ?? 10_000);
    options.trace?.("received", connack);
    if (connack.reasonCode !== 0) {
      if (options.disconnectWhenRefused) {
        const disconnect: DisconnectPacket = { type: "disconnect", reasonCode: 0 };
        options.trace?.("sent", disconnect);
        // The broker has most likely closed already: a failed write changes nothing.
        await writeAll(socket, encodePacket(disconnect, version)).catch(() => {});
      }
      socket.close();
      throw new ConnackRefused(connack);
    }
    return new MqttClient(socket, version, {
      connack,
      reader,
      keepAlive: fields.keepAlive,
      trace: options.trace,
      nextPacketId: options.nextPacketId,
      relay: options.relay,
    });
  }

  /**
   * Called for each message received. Messages that arrived before it was set (those a
   * resumed session sends right after CONNACK) are handed to it at once.
   */
  set onMessage(handler: (message: ReceivedPublish) => void) {
    this.#messageHandler = handler;
    const early = this.#early;
    this.#early = [];
    for (const message of early) handler(message);
  }

  /**
   * Relay mode (connected with `relay`): from now on every PUBLISH and PUBREL from the broker,
   * and every acknowledgement of a PUBLISH sent with `send`, goes to `handler` as it came,
   * unanswered: the relay answers with `send`. Those that came before are handed over first.
   * Acknowledgements of this client's own requests (`publish`, `subscribe`) stay its own.
   */
  relayFlow(handler: (packet: FlowPacket) => void): void {
    this.#relay = handler;
    const early = this.#earlyFlow ?? [];
    this.#earlyFlow = undefined;
    for (const packet of early) handler(packet);
  }

  /** Send `packet` as it is (relay mode: its packet id is the relay's to choose). */
  send(packet: Packet): void {
    this.#send(packet);
  }

  /** Bytes written but not yet taken by the socket. */
  get pendingBytes(): number {
    return this.#out.pendingBytes;
  }

  #deliver(message: ReceivedPublish): void {
    if (this.#messageHandler !== undefined) this.#messageHandler(message);
    else this.#early.push(message);
  }

  /** Whether the connection has ended. */
  get isClosed(): boolean {
    return this.#ended;
  }

  /** The packet identifier the next request will try first. */
  get nextPacketId(): number {
    return this.#nextId;
  }

  /** Messages and other requests awaiting their acknowledgement. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * Publish. QoS 0 resolves once written; QoS 1 on PUBACK; QoS 2 on PUBCOMP. A 5.0 reason code
   * of 0x80 or more in the acknowledgement rejects with an MqttError carrying it.
   */
  async publish(
    topic: string,
    payload: Uint8Array,
    options: { qos?: QoS; retain?: boolean; properties?: Properties } = {},
  ): Promise<void> {
    const qos = options.qos ?? 0;
    // QoS 0 takes a message id too, as libmosquitto's do: it is not sent, but `-d` shows it.
    const packetId = this.#allocateId();
    const packet: PublishPacket = {
      type: "publish",
      topic,
      payload,
      qos,
      retain: options.retain ?? false,
      dup: false,
      packetId,
      properties: options.properties,
    };
    if (qos === 0) {
      this.#send(packet);
      await this.#out.drained();
      if (this.#ended) throw new Error("connection closed");
      return;
    }
    const ack = await this.#request(packet, packetId);
    if ("reasonCode" in ack && ack.reasonCode >= 0x80) {
      throw new MqttError(ack.reasonCode, `${ack.type.toUpperCase()} reason ${ack.reasonCode}`);
    }
  }

  /** Subscribe; resolves with the SUBACK. */
  subscribe(subscriptions: Subscription[], properties?: Properties): Promise<SubackPacket> {
    const packetId = this.#allocateId();
    return this.#request(
      { type: "subscribe", packetId, subscriptions, properties },
      packetId,
    ) as Promise<SubackPacket>;
  }

  /** Unsubscribe; resolves with the UNSUBACK. */
  unsubscribe(topicFilters: string[], properties?: Properties): Promise<UnsubackPacket> {
    const packetId = this.#allocateId();
    return this.#request(
      { type: "unsubscribe", packetId, topicFilters, properties },
      packetId,
    ) as Promise<UnsubackPacket>;
  }

  /**
   * Send DISCONNECT, wait until it is written, and close. No packet is handled after the
   * call, even one already read.
   */
  async disconnect(reasonCode = 0, properties?: Properties): Promise<void> {
    if (this.#leaving) return;
    this.#send({ type: "disconnect", reasonCode, properties });
    this.#disconnecting = true;
    await this.#out.drained();
    this.#end(undefined);
  }

  /** Close the socket without DISCONNECT (the broker publishes the will). */
  close(): void {
    this.#end(undefined);
  }

  #allocateId(): number {
    for (let tries = 0; tries < 65535; tries++) {
      const id = this.#nextId;
      this.#nextId = id === 65535 ? 1 : id + 1;
      if (!this.#pending.has(id)) return id;
    }
    throw new Error("no free packet identifier: 65535 requests in flight");
  }

  #request(packet: Packet, packetId: number): Promise<Packet> {
    if (this.#ended) return Promise.reject(new Error("connection closed"));
    return new Promise((resolve, reject) => {
      this.#pending.set(packetId, { resolve, reject });
      this.#send(packet);
    });
  }

  #send(packet: Packet): void {
    if (this.#leaving) return;
    this.#trace?.("sent", packet);
    this.#out.push(encodePacket(packet, this.version));
    this.#lastSent = Date.now();
  }

  async #readLoop(): Promise<void> {
    const buf = new Uint8Array(READ_SIZE);
    try {
      this.#handleFrames();
      while (!this.#ended) {
        const n = await this.#socket.read(buf);
        if (n === null) break;
        this.#reader.push(buf.subarray(0, n));
        this.#handleFrames();
      }
      this.#end(this.#leaving ? undefined : new Error("the broker closed the connection"));
    } catch (error) {
      this.#end(this.#leaving ? undefined : asError(error));
    }
  }

  /** Whether the end of the connection is ours: closed, or DISCONNECT sent. */
  get #leaving(): boolean {
    return this.#ended || this.#disconnecting;
  }

  #handleFrames(): void {
    while (!this.#leaving) {
      const frame = this.#reader.next();
      if (frame === null) return;
      const packet = decodePacket(frame.slice(), this.version);
      this.#trace?.("received", packet);
      this.#handle(packet);
    }
  }

  #handle(packet: Packet): void {
    if (this.#relay !== undefined || this.#earlyFlow !== undefined) {
      if (this.#isRelayed(packet)) return this.#toRelay(packet as FlowPacket);
    }
    switch (packet.type) {
      case "publish":
        return this.#receivePublish(packet);
      case "pubrel": {
        const held = this.#incomingQos2.get(packet.packetId);
        this.#incomingQos2.delete(packet.packetId);
        this.#send({ type: "pubcomp", packetId: packet.packetId, reasonCode: 0 });
        if (held !== undefined) this.#deliver(held);
        return;
      }
      case "pubrec":
        if (packet.reasonCode >= 0x80) return this.#settle(packet.packetId, packet);
        this.#send({ type: "pubrel", packetId: packet.packetId, reasonCode: 0 });
        return;
      case "suback":
        this.onSuback(packet);
        return this.#settle(packet.packetId, packet);
      case "puback":
      case "pubcomp":
      case "unsuback":
        return this.#settle(packet.packetId, packet);
      case "pingresp":
        this.#pingSentAt = 0;
        return;
      case "disconnect":
        this.onDisconnect(packet);
        this.#end(new Error(`the broker sent DISCONNECT (reason ${packet.reasonCode})`));
        return;
      default:
        return;
    }
  }

  /** Relay mode: whether `packet` is the relay's (not an answer to this client's request). */
  #isRelayed(packet: Packet): boolean {
    switch (packet.type) {
      case "publish":
      case "pubrel":
        return true;
      case "puback":
      case "pubrec":
      case "pubcomp":
        return !this.#pending.has(packet.packetId);
      default:
        return false;
    }
  }

  #toRelay(packet: FlowPacket): void {
    if (this.#relay !== undefined) this.#relay(packet);
    else this.#earlyFlow!.push(packet);
  }

  #receivePublish(packet: PublishPacket): void {
    if (packet.qos === 0) return this.#deliver(packet);
    const packetId = packet.packetId!;
    if (packet.qos === 1) {
      this.#send({ type: "puback", packetId, reasonCode: 0 });
      this.#deliver(packet);
      return;
    }
    // QoS 2: delivered once, when the PUBREL arrives (a resent PUBLISH replaces the held one).
    this.#incomingQos2.set(packetId, packet);
    this.#send({ type: "pubrec", packetId, reasonCode: 0 });
  }

  #settle(packetId: number, packet: Packet): void {
    const waiter = this.#pending.get(packetId);
    if (waiter === undefined) return;
    this.#pending.delete(packetId);
    waiter.resolve(packet);
  }

  #keepAlive(): void {
    const now = Date.now();
    if (this.#pingSentAt > 0 && now - this.#pingSentAt > this.#keepAliveMs) {
      this.#end(new Error("no PINGRESP from the broker within the keep alive"));
      return;
    }
    if (this.#pingSentAt === 0 && now - this.#lastSent >= this.#keepAliveMs) {
      this.#send({ type: "pingreq" });
      this.#pingSentAt = now;
    }
  }

  #end(error: Error | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    try {
      this.#socket.close();
    } catch {
      // already closed
    }
    const reason = error ?? new Error("connection closed");
    for (const waiter of this.#pending.values()) waiter.reject(reason);
    this.#pending.clear();
    this.#endClosed(error);
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

async function writeAll(socket: Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await socket.write(data.subarray(off));
}

/** Read until the first packet, which must be CONNACK. */
async function readConnack(
  socket: Conn,
  reader: FrameReader,
  version: ProtocolVersion,
  timeoutMs: number,
): Promise<ConnackPacket> {
  const buf = new Uint8Array(4096);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no CONNACK within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    for (let reads = 0; reads < 1000; reads++) {
      const n = await Promise.race([socket.read(buf), timeout]);
      if (n === null) throw new Error("the broker closed the connection before CONNACK");
      reader.push(buf.subarray(0, n));
      const frame = reader.next();
      if (frame === null) continue;
      const packet = decodePacket(frame.slice(), version);
      if (packet.type !== "connack") throw new Error(`expected CONNACK, got ${packet.type}`);
      return packet;
    }
    throw new Error("no CONNACK");
  } finally {
    clearTimeout(timer);
  }
}
