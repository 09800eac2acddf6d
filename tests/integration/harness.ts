/**
 * Test harness for broker tests over real sockets: a broker on 127.0.0.1 port 0 with its log
 * captured, and a raw MQTT client (over a socket or any other `Conn`) that sends packets or bytes
 * and reads packets back with timeouts. Everything it opens it closes, so tests pass the
 * resource and op sanitizers.
 *
 * @module
 */

import {
  type AckPacket,
  type AckType,
  type ConnackPacket,
  type ConnectPacket,
  decodePacket,
  encodePacket,
  FrameReader,
  type Packet,
  type ProtocolVersion,
} from "../../src/codec/mod.ts";
import { Broker } from "../../src/broker/broker.ts";
import { type BrokerOptions, defaultBrokerOptions } from "../../src/broker/options.ts";
import { ALL_LOG_TYPES, Logger } from "../../src/log/logger.ts";
import type { Conn } from "../../src/transport/conn.ts";

/** The packet interface of a type tag (the four acks share `AckPacket`). */
export type PacketOfType<T extends Packet["type"]> = T extends AckType ? AckPacket
  : Extract<Packet, { type: T }>;

/** A running broker for one test. */
export interface TestBroker {
  /** The broker. */
  broker: Broker;
  /** Its port. */
  port: number;
  /** Every log line so far (without timestamps). */
  logs: string[];
  /** Stop the broker. */
  stop(): Promise<void>;
}

/** Start a broker on 127.0.0.1, port 0, logging everything into `logs`. */
export function startBroker(overrides: Partial<BrokerOptions> = {}): TestBroker {
  const logs: string[] = [];
  const options: BrokerOptions = {
    ...defaultBrokerOptions(),
    listeners: [{ host: "127.0.0.1", port: 0 }],
    logger: new Logger({ types: ALL_LOG_TYPES, timestamp: false, sinks: [(l) => logs.push(l)] }),
    ...overrides,
  };
  const broker = new Broker(options);
  void broker.start(); // its plain listeners are open when it returns
  return { broker, port: broker.ports[0], logs, stop: () => broker.stop() };
}

/** Resolve after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Wait until `condition()` holds, checking every 10 ms, failing after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 3000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

/** Hex of bytes, for messages. */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

/** A raw MQTT client over any `Conn`: packets or bytes out, decoded packets in. */
export class RawClient {
  /** Protocol version used to encode and decode. */
  version: ProtocolVersion;
  #conn: Conn;
  #reader = new FrameReader();
  #packets: Packet[] = [];
  #frames: Uint8Array[] = [];
  #waiter: (() => void) | undefined;
  #closed = false;
  #loop: Promise<void>;

  /** A client over `conn` (already connected: an in-memory pair's end, say). */
  constructor(conn: Conn, version: ProtocolVersion = 4) {
    this.#conn = conn;
    this.version = version;
    this.#loop = this.#readLoop();
  }

  /** Open a TCP connection to the broker. */
  static async open(port: number, version: ProtocolVersion = 4): Promise<RawClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new RawClient(conn, version);
  }

  async #readLoop(): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        this.#reader.push(buf.subarray(0, n));
        for (let f = this.#reader.next(); f !== null; f = this.#reader.next()) {
          const frame = f.slice();
          this.#frames.push(frame);
          this.#packets.push(decodePacket(frame, this.version));
        }
        this.#wake();
      }
    } catch {
      // reset by the broker: treated as closed
    }
    this.#closed = true;
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }

  /** Whether the broker closed the connection. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Raw frames received so far (each decoded packet's bytes), oldest first. */
  get frames(): readonly Uint8Array[] {
    return this.#frames;
  }

  /** Send a packet encoded for this client's version. */
  async send(packet: Packet): Promise<void> {
    await this.sendBytes(encodePacket(packet, this.version));
  }

  /** Send raw bytes. */
  async sendBytes(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
  }

  async #wait(timeoutMs: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const woken = new Promise<boolean>((resolve) => {
      this.#waiter = () => resolve(true);
    });
    const result = await Promise.race([woken, timedOut]);
    clearTimeout(timer);
    this.#waiter = undefined;
    return result;
  }

  /** The next packet; fails after `timeoutMs` or if the connection closes first. */
  async next(timeoutMs = 2000): Promise<Packet> {
    const deadline = Date.now() + timeoutMs;
    while (this.#packets.length === 0) {
      if (this.#closed) throw new Error("connection closed while waiting for a packet");
      const left = deadline - Date.now();
      if (left <= 0 || !(await this.#wait(left))) {
        throw new Error(`no packet within ${timeoutMs} ms`);
      }
    }
    return this.#packets.shift()!;
  }

  /** The next packet, which must be of `type`. */
  async expect<T extends Packet["type"]>(
    type: T,
    timeoutMs = 2000,
  ): Promise<PacketOfType<T>> {
    const p = await this.next(timeoutMs);
    if (p.type !== type) throw new Error(`expected ${type}, got ${JSON.stringify(p)}`);
    return p as PacketOfType<T>;
  }

  /** Assert that no packet arrives within `ms`. */
  async expectNothing(ms = 200): Promise<void> {
    if (this.#packets.length === 0) await this.#wait(ms);
    if (this.#packets.length > 0) {
      throw new Error(`unexpected packet: ${JSON.stringify(this.#packets[0])}`);
    }
  }

  /** Wait for the broker to close the connection (packets before that are kept). */
  async expectClosed(timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#closed) {
      const left = deadline - Date.now();
      if (left <= 0 || !(await this.#wait(left))) {
        throw new Error(`connection still open after ${timeoutMs} ms`);
      }
    }
  }

  /** Packets received and not yet taken. */
  takeAll(): Packet[] {
    const all = this.#packets;
    this.#packets = [];
    return all;
  }

  /**
   * Close the socket and wait for the read loop to end. The socket is closed even when the
   * broker closed the connection first: reading end-of-stream does not free it.
   */
  async close(): Promise<void> {
    try {
      this.#conn.close();
    } catch {
      // already closed by an earlier close()
    }
    await this.#loop;
  }
}

/** CONNECT fields with defaults: clean start, keep alive 60, client id "test". */
export type ConnectFields = Partial<Omit<ConnectPacket, "type">>;

/** Send CONNECT with `fields` over defaults and return the broker's CONNACK. */
export async function sendConnect(
  client: RawClient,
  fields: ConnectFields = {},
): Promise<ConnackPacket> {
  await client.send({
    type: "connect",
    protocolVersion: client.version,
    clientId: "test",
    clean: true,
    keepAlive: 60,
    ...fields,
  });
  return await client.expect("connack");
}

/** Open a connection, send CONNECT and return the client with the broker's CONNACK. */
export async function connect(
  port: number,
  fields: ConnectFields = {},
): Promise<{ client: RawClient; connack: ConnackPacket }> {
  const client = await RawClient.open(port, fields.protocolVersion ?? 4);
  return { client, connack: await sendConnect(client, fields) };
}
