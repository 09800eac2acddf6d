/**
 * What the `$SYS` tests share: a broker on a clock the test moves, clients whose every byte sent
 * and received is counted on the client side (to check the broker's own counts against),
 * collecting the `$SYS` messages a subscriber gets, and a bridge's figures to report.
 *
 * @module
 */

import {
  type ConnackPacket,
  type ConnectPacket,
  encodePacket,
  type Packet,
  type ProtocolVersion,
  type PublishPacket,
} from "../../src/codec/mod.ts";
import { Broker } from "../../src/broker/broker.ts";
import { type BrokerOptions, defaultBrokerOptions } from "../../src/broker/options.ts";
import type { BridgeFigures } from "../../src/broker/stats.ts";
import { ALL_LOG_TYPES, Logger } from "../../src/log/logger.ts";
import { RawClient, type TestBroker } from "../integration/harness.ts";

/** A test broker whose clock the test sets. */
export interface ClockedBroker extends TestBroker {
  /** The broker's clock, ms since the epoch. */
  clock: { now: number };
}

/** A moment well after the epoch, where every clocked broker starts. */
export const T0 = 1_800_000_000_000;

/** A bridge's figures as a bridge runtime would report them: up since `T0`, with traffic. */
export function fakeBridge(overrides: Partial<BridgeFigures> = {}): BridgeFigures {
  return {
    name: "to-cloud",
    up: true,
    address: "broker.example:1883",
    connectedSince: T0,
    messagesOut: 12,
    bytesOut: 340,
    messagesIn: 5,
    bytesIn: 67,
    queued: 3,
    dropped: 1,
    reconnects: 2,
    ...overrides,
  };
}

/** Start a broker on 127.0.0.1 port 0 whose `now` is `clock.now` (starting at `T0`). */
export function startClockedBroker(overrides: Partial<BrokerOptions> = {}): ClockedBroker {
  const logs: string[] = [];
  const clock = { now: T0 };
  const options: BrokerOptions = {
    ...defaultBrokerOptions(),
    listeners: [{ host: "127.0.0.1", port: 0 }],
    logger: new Logger({ types: ALL_LOG_TYPES, timestamp: false, sinks: [(l) => logs.push(l)] }),
    ...overrides,
  };
  const broker = new Broker(options, () => clock.now);
  void broker.start(); // its plain listeners are open when it returns
  return { broker, port: broker.ports[0], logs, clock, stop: () => broker.stop() };
}

/**
 * Clients opened through it, with what they sent counted as it is encoded and what they
 * received counted from their frames: the broker's counters must say the same.
 */
export class CountingClients {
  readonly #port: number;
  readonly #clients: RawClient[] = [];
  /** Bytes the clients sent. */
  bytesSent = 0;
  /** Packets the clients sent. */
  packetsSent = 0;

  /** Clients of the broker on `port`. */
  constructor(port: number) {
    this.#port = port;
  }

  /** Send `packet` from `client`, counted. */
  async send(client: RawClient, packet: Packet): Promise<void> {
    const bytes = encodePacket(packet, client.version);
    this.bytesSent += bytes.length;
    this.packetsSent++;
    await client.sendBytes(bytes);
  }

  /** Connect a client (keep alive 60, clean, version 4 unless `fields` say otherwise). */
  async connect(
    clientId: string,
    fields: Partial<Omit<ConnectPacket, "type" | "clientId">> = {},
  ): Promise<{ client: RawClient; connack: ConnackPacket }> {
    const version: ProtocolVersion = fields.protocolVersion ?? 4;
    const client = await RawClient.open(this.#port, version);
    this.#clients.push(client);
    await this.send(client, {
      type: "connect",
      protocolVersion: version,
      clientId,
      clean: true,
      keepAlive: 60,
      ...fields,
    });
    return { client, connack: await client.expect("connack") };
  }

  /** What the clients received: packets, bytes, PUBLISH packets and their payload bytes. */
  received(): { packets: number; bytes: number; publishes: number; publishBytes: number } {
    let packets = 0;
    let bytes = 0;
    let publishes = 0;
    let publishBytes = 0;
    for (const client of this.#clients) {
      for (const frame of client.frames) {
        packets++;
        bytes += frame.length;
        if (frame[0] >> 4 !== 3) continue;
        publishes++;
        publishBytes += publishPayloadLength(frame, client.version);
      }
    }
    return { packets, bytes, publishes, publishBytes };
  }

  /** Close every client. */
  async closeAll(): Promise<void> {
    for (const client of this.#clients) await client.close();
  }
}

/** The payload length of an encoded PUBLISH frame. */
function publishPayloadLength(frame: Uint8Array, version: ProtocolVersion): number {
  let i = 1;
  let remaining = 0;
  let shift = 0;
  for (;;) {
    const b = frame[i++];
    remaining += (b & 0x7f) << shift;
    shift += 7;
    if ((b & 0x80) === 0) break;
  }
  const start = i;
  const topicLength = (frame[i] << 8) | frame[i + 1];
  i += 2 + topicLength;
  if (((frame[0] >> 1) & 3) > 0) i += 2; // packet id
  if (version === 5) {
    let props = 0;
    shift = 0;
    for (;;) {
      const b = frame[i++];
      props += (b & 0x7f) << shift;
      shift += 7;
      if ((b & 0x80) === 0) break;
    }
    i += props;
  }
  return remaining - (i - start);
}

/** `$SYS` messages received: payload text and retain flag by topic (the last of each). */
export type SysMessages = Map<string, { payload: string; retain: boolean }>;

/**
 * Every PUBLISH `client` receives until none comes for `quietMs` (or, with `forMs`, until that
 * much time has passed), by topic. Anything else than a PUBLISH fails.
 */
export async function drainPublishes(
  client: RawClient,
  quietMs = 300,
  forMs = Infinity,
): Promise<SysMessages> {
  const seen: SysMessages = new Map();
  const decoder = new TextDecoder();
  const deadline = Date.now() + forMs;
  for (;;) {
    const wait = Math.min(quietMs, deadline - Date.now());
    if (wait <= 0) return seen;
    let packet: Packet;
    try {
      packet = await client.next(wait);
    } catch (error) {
      if ((error as Error).message.startsWith("no packet within")) {
        if (wait === quietMs) return seen;
        continue;
      }
      throw error;
    }
    if (packet.type !== "publish") throw new Error(`expected PUBLISH, got ${packet.type}`);
    const p = packet as PublishPacket;
    seen.set(p.topic, { payload: decoder.decode(p.payload), retain: p.retain });
  }
}
