/**
 * The client flows of the bridge benchmark that run in its own process, between a local broker
 * (publishers) and a remote one (subscribers):
 *
 * - `waitForBridge`: publish probes on the local broker until one arrives at the remote, so a
 *   throughput run starts only once the bridge carries messages.
 * - `runDrain`: how long a bridge takes to deliver a backlog of QoS 1 messages queued while its
 *   remote was unreachable, once the remote is back.
 *
 * Every wait is bounded in time and in number of polls.
 *
 * @module
 */

import type { Packet } from "../../src/codec/mod.ts";
import { BenchClient } from "./client.ts";
import { nowNs, type PayloadHeader, readPayloadHeader } from "./payload.ts";
import { PublishTemplate } from "./template.ts";
import { DeliveryTracker } from "./tracker.ts";

/** Where the two brokers listen. */
export interface BridgePorts {
  /** Broker address (both brokers). */
  hostname: string;
  /** The bridging broker, where messages are published. */
  localPort: number;
  /** The bridge's remote, where messages are received. */
  remotePort: number;
}

const KEEPALIVE_S = 60;
const CLOSE_WAIT_MS = 2_000;
const POLL_MS = 50;
const PROBE_EVERY_MS = 100;
const PROBE_TOPIC = "bench/probe";
const DRAIN_TOPIC = "bench/drain";
const DRAIN_SUBSCRIBER_ID = "mdgb-drain-sub";
/** The largest MQTT packet id: QoS 1 packet ids cycle through 1..65535. */
const MAX_PACKET_ID = 0xffff;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function open(
  hostname: string,
  options: {
    port: number;
    clientId: string;
    clean: boolean;
    timeoutMs: number;
    onPacket?: (client: BenchClient, packet: Packet) => void;
  },
): Promise<BenchClient> {
  return BenchClient.open({
    hostname,
    keepAlive: KEEPALIVE_S,
    readBufferBytes: 64 * 1024,
    ...options,
  });
}

/**
 * Resolve once a QoS 0 message published on the local broker to `bench/probe` reaches a
 * subscriber on the remote (one probe every 100 ms); reject after `timeoutMs`.
 */
export async function waitForBridge(ports: BridgePorts, timeoutMs: number): Promise<void> {
  const arrived = Promise.withResolvers<void>();
  const subscriber = await open(ports.hostname, {
    port: ports.remotePort,
    clientId: `mdgb${Deno.pid}-probe-sub`,
    clean: true,
    timeoutMs,
    onPacket: (_, packet) => {
      if (packet.type === "publish") arrived.resolve();
    },
  });
  let publisher: BenchClient | undefined;
  try {
    await subscriber.subscribe(PROBE_TOPIC, { qos: 0, timeoutMs });
    publisher = await open(ports.hostname, {
      port: ports.localPort,
      clientId: `mdgb${Deno.pid}-probe-pub`,
      clean: true,
      timeoutMs,
    });
    const template = new PublishTemplate({ topic: PROBE_TOPIC, qos: 0, payloadBytes: 24 });
    const done = arrived.promise.then(() => true);
    for (let probe = 0; probe < timeoutMs / PROBE_EVERY_MS; probe++) {
      template.appendTo(publisher, { packetId: 0, publisher: 0, sequence: probe, sentAtNs: 0 });
      if (await Promise.race([done, sleep(PROBE_EVERY_MS)]) === true) return;
      if (subscriber.closed || publisher.closed) break;
    }
    throw new Error(`no probe crossed the bridge in ${timeoutMs} ms`);
  } finally {
    await publisher?.disconnect(CLOSE_WAIT_MS);
    await subscriber.disconnect(CLOSE_WAIT_MS);
  }
}

/** What the drain test is asked to do. */
export interface DrainSpec extends BridgePorts {
  /** QoS 1 messages published while the remote is down. */
  messages: number;
  /** Payload bytes, at least the 24-byte header. */
  payloadBytes: number;
  /** Unacknowledged messages at most while publishing. */
  window: number;
  /** Bound of each phase: connect, publish, collect (ms). */
  timeoutMs: number;
  /** Collecting ends this long after the last message, once one has arrived (ms). */
  quietMs: number;
}

/** What the drain test does to the brokers. */
export interface DrainControl {
  /**
   * Take the remote down (a persistent session on it must survive) and have the local broker,
   * with its bridge to the remote, accept connections.
   */
  linkDown(): Promise<void>;
  /** Start the remote again; resolves when it accepts connections. */
  linkUp(): Promise<void>;
}

/** What the drain test measured. */
export interface DrainResult {
  /** Messages the local broker acknowledged while the remote was down. */
  acked: number;
  /** Distinct messages received at the remote. */
  unique: number;
  /** Extra copies received. */
  duplicates: number;
  /** Messages received after a later one. */
  outOfOrder: number;
  /** Seconds from the remote accepting connections to the first message at the subscriber. */
  firstS: number;
  /** Seconds from the remote accepting connections to the last message (the drain time). */
  allS: number;
  /** Seconds publishing took (first PUBLISH to last PUBACK). */
  publishS: number;
  /** Whether a phase ended on its timeout. */
  timedOut: boolean;
  /** The first few errors. */
  errors: string[];
}

/**
 * Publish `messages` QoS 1 messages to `topic` on `client` (sequence numbers 0..N-1 in the
 * payload header, at most `window` unacknowledged, refilled a quarter window at a time);
 * resolves to the count acknowledged when all were or after `timeoutMs`.
 */
async function publishAll(
  client: BenchClient,
  spec: {
    topic: string;
    messages: number;
    payloadBytes: number;
    window: number;
    timeoutMs: number;
  },
): Promise<number> {
  const template = new PublishTemplate({
    topic: spec.topic,
    qos: 1,
    payloadBytes: spec.payloadBytes,
  });
  const window = Math.min(spec.window, MAX_PACKET_ID);
  const refill = Math.max(1, Math.floor(window / 4));
  let sent = 0;
  let acked = 0;
  const allAcked = Promise.withResolvers<boolean>();
  const pump = () => {
    const inflight = sent - acked;
    if (window - inflight < refill && inflight > 0) return;
    for (; sent - acked < window && sent < spec.messages; sent++) {
      const fields = { publisher: 0, sequence: sent, sentAtNs: nowNs() };
      template.appendTo(client, { packetId: (sent % MAX_PACKET_ID) + 1, ...fields });
    }
  };
  // PUBACKs come back in order (MQTT-4.6.0-2), so counting them is enough.
  client.onPacket = (packet) => {
    if (packet.type !== "puback") return;
    if (++acked === spec.messages) allAcked.resolve(true);
    pump();
  };
  pump();
  const done = allAcked.promise;
  for (let poll = 0; poll < spec.timeoutMs / POLL_MS; poll++) {
    if (await Promise.race([done, sleep(POLL_MS)]) === true || client.closed) break;
  }
  return acked;
}

/**
 * The drain test:
 *
 * 1. A subscriber connects to the remote with clean session = false and a fixed client id,
 *    subscribes at QoS 1 to `bench/drain` and disconnects: the remote keeps its session.
 * 2. `control.linkDown()`: the remote goes down, the local broker comes up with its bridge.
 * 3. `messages` QoS 1 messages are published on the local broker and acknowledged by it.
 * 4. `control.linkUp()`: the remote comes back; the subscriber resumes its session at once and
 *    acknowledges what it receives, until every message arrived, nothing more arrived for
 *    `quietMs`, or the timeout.
 *
 * The drain time runs from the remote accepting connections to the last message received.
 */
export async function runDrain(spec: DrainSpec, control: DrainControl): Promise<DrainResult> {
  const errors: string[] = [];
  const error = (message: string) => {
    if (errors.length < 5) errors.push(message);
  };
  const first = await open(spec.hostname, {
    port: spec.remotePort,
    clientId: DRAIN_SUBSCRIBER_ID,
    clean: false,
    timeoutMs: spec.timeoutMs,
  });
  try {
    await first.subscribe(DRAIN_TOPIC, { qos: 1, timeoutMs: spec.timeoutMs });
  } finally {
    await first.disconnect(CLOSE_WAIT_MS);
  }

  await control.linkDown();
  const publisher = await open(spec.hostname, {
    port: spec.localPort,
    clientId: `mdgb${Deno.pid}-drain-pub`,
    clean: true,
    timeoutMs: spec.timeoutMs,
  });
  const publishStart = performance.now();
  const acked = await publishAll(publisher, { ...spec, topic: DRAIN_TOPIC });
  const publishS = (performance.now() - publishStart) / 1000;
  if (publisher.failure !== undefined) error(`publisher: ${publisher.failure}`);
  await publisher.disconnect(CLOSE_WAIT_MS);
  if (acked < spec.messages) error(`publisher: ${acked}/${spec.messages} acknowledged`);

  await control.linkUp();
  const upAt = performance.now();
  const tracker = new DeliveryTracker(1);
  const header: PayloadHeader = { publisher: 0, sequence: 0, sentAtNs: 0 };
  let firstAt = 0;
  let lastAt = upAt;
  const subscriber = await open(spec.hostname, {
    port: spec.remotePort,
    clientId: DRAIN_SUBSCRIBER_ID,
    clean: false,
    timeoutMs: spec.timeoutMs,
    onPacket: (client, packet) => {
      if (packet.type !== "publish") return;
      if (packet.qos > 0) {
        client.send({ type: "puback", packetId: packet.packetId!, reasonCode: 0 });
      }
      if (!readPayloadHeader(packet.payload, header)) {
        tracker.recordForeign();
        return;
      }
      if (tracker.record(header.publisher, header.sequence) !== "unique") return;
      lastAt = performance.now();
      if (firstAt === 0) firstAt = lastAt;
    },
  });
  let timedOut = true;
  for (let poll = 0; poll < spec.timeoutMs / POLL_MS; poll++) {
    await sleep(POLL_MS);
    const quiet = firstAt > 0 && performance.now() - lastAt >= spec.quietMs;
    if (tracker.unique >= acked || subscriber.closed || quiet) {
      timedOut = false;
      break;
    }
  }
  if (subscriber.failure !== undefined) error(`subscriber: ${subscriber.failure}`);
  await subscriber.disconnect(CLOSE_WAIT_MS);
  if (tracker.unique < acked) error(`subscriber: ${tracker.unique}/${acked} received`);
  return {
    acked,
    unique: tracker.unique,
    duplicates: tracker.duplicates,
    outOfOrder: tracker.outOfOrder,
    firstS: firstAt > 0 ? (firstAt - upAt) / 1000 : NaN,
    allS: (lastAt - upAt) / 1000,
    publishS,
    timedOut,
    errors,
  };
}
