/**
 * The crash test of the persistence benchmark: how many messages a broker acknowledged and then
 * lost when it was killed.
 *
 * 1. A subscriber connects with clean session = false and a fixed client id, subscribes at
 *    QoS 1 to `bench/crash` and disconnects: the broker must queue for its session.
 * 2. A publisher sends `messages` QoS 1 messages (sequence numbers 0..N-1 in the payload
 *    header, at most `window` unacknowledged) and counts the PUBACKs.
 * 3. As soon as the last PUBACK arrives (or the publish phase times out), the broker is killed
 *    with SIGKILL, then restarted on the same configuration and persistence directory.
 * 4. The subscriber reconnects (clean session = false, no new SUBSCRIBE) and acknowledges
 *    what it receives until nothing arrives for `quietMs` (or the collect phase times out).
 *
 * Lost = acknowledged and never received after the restart. Every wait is bounded by
 * `timeoutMs`.
 *
 * @module
 */

import type { Packet } from "../../src/codec/mod.ts";
import { BenchClient } from "./client.ts";
import { nowNs, type PayloadHeader, readPayloadHeader } from "./payload.ts";
import { PublishTemplate } from "./template.ts";
import { DeliveryTracker } from "./tracker.ts";

/** What the crash test is asked to do. */
export interface CrashSpec {
  /** Broker address. */
  hostname: string;
  /** Broker port (the same before and after the restart). */
  port: number;
  /** Messages to publish, 1-65535 (message i goes with packet id i + 1). */
  messages: number;
  /** Payload bytes, at least the 24-byte header. */
  payloadBytes: number;
  /** Unacknowledged messages at most. */
  window: number;
  /** Collecting ends after this long without a message (ms). */
  quietMs: number;
  /** Bound of each phase: connect, publish, collect (ms). */
  timeoutMs: number;
}

/** What the crash test found. */
export interface CrashResult {
  /** Messages published. */
  sent: number;
  /** Messages the broker acknowledged before it was killed. */
  acked: number;
  /** Whether the restarted broker had the subscriber's session (CONNACK session present). */
  sessionPresent: boolean;
  /** PUBLISH packets the subscriber received after the restart. */
  received: number;
  /** Distinct messages among them. */
  unique: number;
  /** Acknowledged messages never received. */
  lost: number;
  /** Extra copies received. */
  duplicates: number;
  /** Messages received after a later one. */
  outOfOrder: number;
  /** Payloads that were not ours. */
  foreign: number;
  /** Seconds from the first PUBLISH to the last PUBACK (or the timeout). */
  publishS: number;
  /** Seconds from SIGKILL to the restarted broker accepting connections. */
  restartS: number;
  /** Seconds from reconnecting to the end of collecting. */
  collectS: number;
  /** Whether a phase ended on its timeout. */
  timedOut: boolean;
  /** The first few errors. */
  errors: string[];
}

/** What the crash test does to the broker. */
export interface CrashControl {
  /** Kill the broker with SIGKILL; resolves when it has exited. */
  kill(): Promise<void>;
  /** Start it again on the same configuration; resolves when it accepts connections. */
  restart(): Promise<void>;
}

const TOPIC = "bench/crash";
const SUBSCRIBER_ID = "mdgb-crash-sub";
const KEEPALIVE_S = 60;
const CLOSE_WAIT_MS = 2_000;
const POLL_MS = 50;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Run the crash test against the broker at `spec.hostname:spec.port`, which `control` drives. */
export async function runCrash(spec: CrashSpec, control: CrashControl): Promise<CrashResult> {
  if (!Number.isInteger(spec.messages) || spec.messages < 1 || spec.messages > 0xffff) {
    throw new RangeError("messages: 1-65535");
  }
  const errors: string[] = [];
  const error = (message: string) => {
    if (errors.length < 5) errors.push(message);
  };
  const open = (options: {
    clientId: string;
    clean: boolean;
    onPacket: (client: BenchClient, packet: Packet) => void;
  }) =>
    BenchClient.open({
      hostname: spec.hostname,
      port: spec.port,
      keepAlive: KEEPALIVE_S,
      readBufferBytes: 64 * 1024,
      timeoutMs: spec.timeoutMs,
      ...options,
    });

  // 1. A stored session with a QoS 1 subscription, offline.
  const unexpected = (_: BenchClient, packet: Packet) =>
    error(`subscriber: unexpected ${packet.type}`);
  const first = await open({ clientId: SUBSCRIBER_ID, clean: false, onPacket: unexpected });
  try {
    await first.subscribe(TOPIC, { qos: 1, timeoutMs: spec.timeoutMs });
  } finally {
    await first.disconnect(CLOSE_WAIT_MS);
  }

  // 2. Publish, counting PUBACKs.
  const acked = new Uint8Array(spec.messages);
  let ackedCount = 0;
  let sent = 0;
  let inflight = 0;
  const allAcked = Promise.withResolvers<void>();
  const template = new PublishTemplate({ topic: TOPIC, qos: 1, payloadBytes: spec.payloadBytes });
  const refill = Math.max(1, Math.floor(spec.window / 4));
  const pump = (client: BenchClient) => {
    if (spec.window - inflight < refill && inflight > 0) return;
    for (; inflight < spec.window && sent < spec.messages; sent++, inflight++) {
      const fields = { publisher: 0, sequence: sent, sentAtNs: nowNs() };
      template.appendTo(client, { packetId: sent + 1, ...fields });
    }
  };
  const publisher = await open({
    clientId: `mdgb${Deno.pid}-crash-pub`,
    clean: true,
    onPacket: (client, packet) => {
      const sequence = packet.type === "puback" ? packet.packetId - 1 : -1;
      if (sequence < 0 || sequence >= sent || acked[sequence] === 1) {
        error(`publisher: unexpected ${packet.type}`);
        return;
      }
      acked[sequence] = 1;
      inflight--;
      if (++ackedCount === spec.messages) allAcked.resolve();
      pump(client);
    },
  });
  const publishStart = performance.now();
  pump(publisher);
  let timedOut = true;
  for (let poll = 0; poll < spec.timeoutMs / POLL_MS; poll++) {
    const done = await Promise.race([allAcked.promise.then(() => true), sleep(POLL_MS)]);
    if (done === true || publisher.closed) {
      timedOut = false;
      break;
    }
  }
  const publishS = (performance.now() - publishStart) / 1000;
  if (ackedCount < spec.messages) {
    const why = publisher.failure !== undefined ? ` (${publisher.failure})` : "";
    error(`publisher: ${ackedCount}/${spec.messages} acknowledged${why}`);
  }

  // 3. Crash and restart.
  const killedAt = performance.now();
  try {
    await control.kill();
  } finally {
    publisher.close();
  }
  await control.restart();
  const restartS = (performance.now() - killedAt) / 1000;

  // 4. Resume the session and collect.
  const tracker = new DeliveryTracker(1);
  const header: PayloadHeader = { publisher: 0, sequence: 0, sentAtNs: 0 };
  let lastMessageAt = performance.now();
  const collectStart = lastMessageAt;
  const second = await open({
    clientId: SUBSCRIBER_ID,
    clean: false,
    onPacket: (client, packet) => {
      if (packet.type !== "publish") {
        if (packet.type !== "pingresp") error(`subscriber: unexpected ${packet.type}`);
        return;
      }
      if (packet.qos > 0) {
        client.send({ type: "puback", packetId: packet.packetId!, reasonCode: 0 });
      }
      lastMessageAt = performance.now();
      if (readPayloadHeader(packet.payload, header)) {
        tracker.record(header.publisher, header.sequence);
      } else {
        tracker.recordForeign();
      }
    },
  });
  let collectTimedOut = true;
  for (let poll = 0; poll < spec.timeoutMs / POLL_MS; poll++) {
    await sleep(POLL_MS);
    if (second.closed || performance.now() - lastMessageAt >= spec.quietMs) {
      collectTimedOut = false;
      break;
    }
  }
  const collectS = (performance.now() - collectStart) / 1000;
  if (second.failure !== undefined) error(`subscriber: ${second.failure}`);
  await second.disconnect(CLOSE_WAIT_MS);

  let lost = 0;
  for (let i = 0; i < spec.messages; i++) {
    if (acked[i] === 1 && !tracker.has(0, i)) lost++;
  }
  return {
    sent,
    acked: ackedCount,
    sessionPresent: second.sessionPresent,
    received: tracker.received,
    unique: tracker.unique,
    lost,
    duplicates: tracker.duplicates,
    outOfOrder: tracker.outOfOrder,
    foreign: tracker.foreign,
    publishS,
    restartS,
    collectS,
    timedOut: timedOut || collectTimedOut,
    errors,
  };
}
