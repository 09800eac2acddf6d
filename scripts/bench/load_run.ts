/**
 * The state of one message run and everything it does per packet: publishers filling their
 * windows (QoS 1 acknowledgements, the QoS 0 end-to-end window, the fixed-rate schedule),
 * subscribers counting what they receive, and the result's arithmetic. `loadgen.ts` drives
 * the phases around it.
 *
 * @module
 */

import type { Packet } from "../../src/codec/mod.ts";
import type { BenchClient } from "./client.ts";
import { Histogram, latencySummary } from "./histogram.ts";
import type { LoadResult, LoadSpec } from "./load_types.ts";
import { nowNs, type PayloadHeader, readPayloadHeader } from "./payload.ts";
import type { CpuUse } from "./proc.ts";
import { PublishTemplate } from "./template.ts";
import { DeliveryTracker } from "./tracker.ts";

/** After this long blocked on a full e2e window with no delivery, reopen it (ms). */
const E2E_RESET_MS = 1_000;

/** One publishing client and its flow-control state. */
export interface Publisher {
  /** Index in the run (the publisher id in payloads). */
  index: number;
  /** Its connection. */
  client: BenchClient;
  /** Its PUBLISH, encoded once. */
  template: PublishTemplate;
  /** Messages sent (the next sequence number). */
  sequence: number;
  /** QoS 1 messages awaiting PUBACK. */
  inflight: number;
  /** Per packet id: 1 while awaiting PUBACK. */
  awaiting: Uint8Array;
  /** Last packet id used. */
  nextPacketId: number;
  /** PUBACKs received. */
  acked: number;
  /** Messages sent (scheduled) after the warmup. */
  sentMeasured: number;
  /** When it last sent (ns). */
  lastSendNs: number;
  /** QoS 0 messages written off by e2e window resets. */
  e2eForgiven: number;
  /** Since when its e2e window has been full with no delivery (ms), or 0. */
  e2eBlockedSinceMs: number;
  /** Deliveries seen when the block began. */
  e2eSeen: number;
  /** e2e window resets. */
  e2eResets: number;
  /** Unexpected acknowledgements or packets. */
  errors: number;
}

/** One subscribing client and what it received. */
export interface Subscriber {
  /** Index in the run. */
  index: number;
  /** Its connection. */
  client: BenchClient;
  /** Exact accounting of what it received. */
  tracker: DeliveryTracker;
  /** PUBLISH packets received after the warmup. */
  measured: number;
}

/** The topic publisher `i` publishes to. */
export function publisherTopic(scenario: LoadSpec["scenario"], i: number): string {
  return scenario === "fanout" ? "bench/fanout" : `bench/${i}`;
}

/** The filter subscriber `i` subscribes to. */
export function subscriberFilter(scenario: LoadSpec["scenario"], i: number): string {
  return scenario === "fanin" ? "bench/#" : scenario === "fanout" ? "bench/fanout" : `bench/${i}`;
}

/** One run of a message scenario. */
export class LoadRun {
  /** What the run does. */
  readonly spec: LoadSpec;
  /** Publishers, by index once connected. */
  readonly pubs: Publisher[] = [];
  /** Subscribers, by index once connected. */
  readonly subs: Subscriber[] = [];
  /** Deliveries per message. */
  readonly fan: number;
  /** QoS 1: free window slots at which a publisher refills (a quarter of the window). */
  readonly refill: number;
  /** Latency from (scheduled) send to receipt, µs, after the warmup. */
  readonly latency: Histogram = new Histogram();
  /** At a fixed rate: actual minus scheduled send time, µs. */
  readonly sendLag: Histogram = new Histogram();
  /** Publishing has started. */
  running = false;
  /** Publishing has ended; the run drains. */
  stopping = false;
  /** Start of publishing (ns). */
  startNs = 0;
  /** End of the warmup (ns). */
  measureFromNs = 0;
  /** At a fixed rate: ns between two messages of the global schedule; else 0. */
  nsPerMessage = 0;
  /** When the last PUBLISH arrived (ns). */
  lastReceiveNs = 0;
  /** Unique deliveries so far, all subscribers. */
  uniqueTotal = 0;
  /** The first few errors. */
  errors: string[] = [];
  #receivedByPublisher: Float64Array;
  /** QoS 0: free window slots at which a publisher refills (a quarter of the window). */
  #e2eRefill: number;
  /** Per publisher: 1 while a refill is queued for the end of the turn. */
  #refillQueued: Uint8Array;
  #header: PayloadHeader = { publisher: 0, sequence: 0, sentAtNs: 0 };
  #packetBytes = 0;
  #lastDue = -1;
  #paceScheduled = false;
  #paceTask = (): void => {
    this.#paceScheduled = false;
    this.pace();
  };

  /** A run of `spec`, before any client is added. */
  constructor(spec: LoadSpec) {
    this.spec = spec;
    const nPubs = spec.publishers;
    this.fan = spec.scenario === "pairs" ? 1 : spec.subscribers;
    this.refill = Math.max(1, Math.floor(spec.window / 4));
    this.#receivedByPublisher = new Float64Array(nPubs);
    this.#e2eRefill = Math.max(1, Math.floor(spec.e2eWindow / 4));
    this.#refillQueued = new Uint8Array(nPubs);
    if (spec.ratePerS > 0) this.nsPerMessage = 1e9 / spec.ratePerS;
  }

  /** Subscribers the scenario has. */
  get subscriberCount(): number {
    return this.spec.scenario === "pairs" ? this.spec.publishers : this.spec.subscribers;
  }

  /** Whether subscriber `sub` should receive publisher `pub`'s messages. */
  expects(sub: number, pub: number): boolean {
    return this.spec.scenario !== "pairs" || sub === pub;
  }

  /** Add publisher `index` on `client` (connected). */
  addPublisher(index: number, client: BenchClient): void {
    const template = new PublishTemplate({
      topic: publisherTopic(this.spec.scenario, index),
      qos: this.spec.qos,
      payloadBytes: this.spec.payloadBytes,
    });
    const p: Publisher = {
      index,
      client,
      template,
      sequence: 0,
      inflight: 0,
      awaiting: new Uint8Array(this.spec.qos > 0 ? 65536 : 0),
      nextPacketId: 0,
      acked: 0,
      sentMeasured: 0,
      lastSendNs: 0,
      e2eForgiven: 0,
      e2eBlockedSinceMs: 0,
      e2eSeen: 0,
      e2eResets: 0,
      errors: 0,
    };
    this.#packetBytes = template.bytes.length;
    client.onPacket = (packet) => this.#onPublisherPacket(p, packet);
    client.onFlushed = () => this.pump(p);
    this.pubs.push(p);
  }

  /** Add subscriber `index` on `client` (connected; it subscribes afterwards). */
  addSubscriber(index: number, client: BenchClient): void {
    const s: Subscriber = {
      index,
      client,
      tracker: new DeliveryTracker(this.spec.publishers),
      measured: 0,
    };
    client.onPacket = (packet) => this.#onSubscriberPacket(s, packet);
    this.subs.push(s);
  }

  #error(message: string): void {
    if (this.errors.length < 5) this.errors.push(message);
  }

  #onPublisherPacket(p: Publisher, packet: Packet): void {
    this.#schedulePace();
    if (packet.type === "puback") {
      if (p.awaiting.length > 0 && p.awaiting[packet.packetId] === 1) {
        p.awaiting[packet.packetId] = 0;
        p.inflight--;
        p.acked++;
        this.pump(p);
      } else {
        p.errors++;
        this.#error(`${p.client.clientId}: PUBACK for unknown packet id ${packet.packetId}`);
      }
    } else if (packet.type !== "pingresp") {
      p.errors++;
      this.#error(`${p.client.clientId}: unexpected ${packet.type}`);
    }
  }

  #onSubscriberPacket(s: Subscriber, packet: Packet): void {
    this.#schedulePace();
    if (packet.type !== "publish") {
      if (packet.type !== "pingresp") {
        this.#error(`${s.client.clientId}: unexpected ${packet.type}`);
      }
      return;
    }
    if (packet.qos === 1) {
      s.client.send({ type: "puback", packetId: packet.packetId!, reasonCode: 0 });
    }
    const now = s.client.readAtNs;
    this.lastReceiveNs = now;
    if (now >= this.measureFromNs) s.measured++;
    const h = this.#header;
    if (!readPayloadHeader(packet.payload, h)) {
      s.tracker.recordForeign();
      return;
    }
    if (s.tracker.record(h.publisher, h.sequence) !== "unique") return;
    this.uniqueTotal++;
    if (h.sentAtNs >= this.measureFromNs) this.latency.record((now - h.sentAtNs) / 1000);
    if (this.spec.e2eWindow > 0) this.#delivered(h.publisher);
  }

  /**
   * A publisher's message reached a subscriber. When that reopens the publisher's e2e window by
   * a refill's worth, the publisher is pumped once the reads that completed in this turn have
   * all been handled (a microtask queued now runs after them), as mqttbench refills once per
   * pass of its event loop: the broker then gets the room of the whole turn in one write.
   */
  #delivered(pub: number): void {
    const seen = ++this.#receivedByPublisher[pub];
    if (seen % this.fan !== 0) return; // resolved = floor(seen / fan) only moves here
    const p = this.pubs[pub];
    const outstanding = p.sequence - (seen / this.fan + p.e2eForgiven);
    if (this.spec.e2eWindow - outstanding < this.#e2eRefill || this.#refillQueued[pub] === 1) {
      return;
    }
    this.#refillQueued[pub] = 1;
    queueMicrotask(() => {
      this.#refillQueued[pub] = 0;
      this.pump(p);
    });
  }

  /** How many messages `p` may send now (count of the windows; the rate is applied apart). */
  #allowance(p: Publisher, nowMs: number): number {
    const spec = this.spec;
    let n = Number.MAX_SAFE_INTEGER;
    if (spec.qos > 0) {
      const free = spec.window - p.inflight;
      if (free < this.refill && p.inflight > 0) return 0;
      n = free;
    }
    if (spec.e2eWindow > 0) {
      const seen = this.#receivedByPublisher[p.index];
      const resolved = Math.floor(seen / this.fan) + p.e2eForgiven;
      const outstanding = Math.max(0, p.sequence - resolved);
      let room = Math.max(0, spec.e2eWindow - outstanding);
      if (room < this.#e2eRefill && outstanding > 0) room = 0;
      if (room === 0) {
        if (p.e2eBlockedSinceMs === 0 || seen !== p.e2eSeen) {
          p.e2eBlockedSinceMs = nowMs;
          p.e2eSeen = seen;
        } else if (nowMs - p.e2eBlockedSinceMs > E2E_RESET_MS) {
          // Nothing delivered for a second: write the outstanding messages off (they count
          // as missing) so that the run goes on.
          p.e2eForgiven += outstanding;
          p.e2eResets++;
          p.e2eBlockedSinceMs = 0;
          return Math.min(n, spec.e2eWindow);
        }
      } else {
        p.e2eBlockedSinceMs = 0;
      }
      n = Math.min(n, room);
    }
    return n;
  }

  /** Messages publisher `p` is due to have sent by `now` on the fixed-rate schedule. */
  #due(p: Publisher, now: number): number {
    const k = Math.floor((now - this.startNs) / this.nsPerMessage);
    return k >= p.index ? Math.floor((k - p.index) / this.pubs.length) + 1 : 0;
  }

  /**
   * Append as many PUBLISH packets as `p` may send now (at most a batch of `batchBytes`); they
   * go out with the connection's next write, after the chunk being handled or at the end of
   * the turn.
   */
  pump(p: Publisher): void {
    if (!this.running || this.stopping || p.client.closed) return;
    const pending = p.client.pendingBytes;
    const batch = this.spec.batchBytes;
    if (pending >= batch) return; // the end of the write calls pump again
    const nowMs = performance.now();
    let n = this.#allowance(p, nowMs);
    if (n <= 0) return;
    const now = Math.round(nowMs * 1e6);
    const rated = this.nsPerMessage > 0;
    if (rated) {
      n = Math.min(n, this.#due(p, now) - p.sequence);
      if (n <= 0) return;
    }
    n = Math.min(n, Math.max(1, Math.floor((batch - pending) / this.#packetBytes)));
    const qos = this.spec.qos;
    const stride = this.pubs.length * this.nsPerMessage;
    for (let i = 0; i < n; i++) {
      let packetId = 0;
      if (qos > 0) {
        do {
          p.nextPacketId = p.nextPacketId >= 0xffff ? 1 : p.nextPacketId + 1;
        } while (p.awaiting[p.nextPacketId] !== 0);
        packetId = p.nextPacketId;
        p.awaiting[packetId] = 1;
        p.inflight++;
      }
      let sentAtNs = now;
      if (rated) {
        sentAtNs = Math.min(
          now,
          Math.round(this.startNs + p.index * this.nsPerMessage + p.sequence * stride),
        );
        if (sentAtNs >= this.measureFromNs) this.sendLag.record((now - sentAtNs) / 1000);
      }
      p.template.appendTo(p.client, {
        packetId,
        publisher: p.index,
        sequence: p.sequence,
        sentAtNs,
      });
      if (sentAtNs >= this.measureFromNs) p.sentMeasured++;
      p.sequence++;
    }
    p.lastSendNs = now;
  }

  /**
   * The fixed-rate schedule: pump the publishers whose next message fell due since the last
   * call. Called from the timer (every 1-2 ms in Deno) and after every chunk any client reads
   * (about every 50 µs at 10,000 msg/s), so a message goes out soon after its time without a
   * busy loop; how late it went is recorded in `sendLag`.
   */
  pace(): void {
    if (!this.running || this.stopping) return;
    const pubs = this.pubs;
    const now = nowNs();
    const due = Math.floor((now - this.startNs) / this.nsPerMessage);
    if (due <= this.#lastDue) return;
    for (let k = Math.max(this.#lastDue + 1, due - pubs.length + 1); k <= due; k++) {
      this.pump(pubs[k % pubs.length]);
    }
    this.#lastDue = due;
  }

  #schedulePace(): void {
    if (this.#paceScheduled || this.nsPerMessage === 0) return;
    this.#paceScheduled = true;
    queueMicrotask(this.#paceTask);
  }

  /** Pump every publisher (the timer: e2e resets and the fixed-rate schedule). */
  pumpAll(): void {
    for (const p of this.pubs) this.pump(p);
  }

  /** Whether publisher `p` has nothing in flight and nothing unwritten (or is gone). */
  finished(p: Publisher): boolean {
    return p.client.closed || (p.inflight === 0 && p.client.pendingBytes === 0);
  }

  /** The result, from the counters and what the driver measured around the run. */
  result(extra: {
    cpu: CpuUse;
    connectS: number;
    wallS: number;
    stalled: boolean;
    timedOut: boolean;
    rss: { before?: number; after?: number; peak?: number };
    lost: number;
  }): LoadResult {
    const sentBy = this.pubs.map((p) => p.sequence);
    let expected = 0;
    let delivered = 0;
    let foreign = 0;
    let duplicates = 0;
    let outOfOrder = 0;
    let measured = 0;
    for (const s of this.subs) {
      const t = s.tracker;
      duplicates += t.duplicates;
      outOfOrder += t.outOfOrder;
      foreign += t.foreign;
      measured += s.measured;
      for (let p = 0; p < sentBy.length; p++) {
        const got = t.uniqueByPublisher[p];
        if (this.expects(s.index, p)) {
          expected += sentBy[p];
          delivered += Math.min(got, sentBy[p]);
        } else {
          foreign += got;
        }
      }
    }
    const sent = sentBy.reduce((a, b) => a + b, 0);
    const sentMeasured = this.pubs.reduce((a, p) => a + p.sentMeasured, 0);
    const lastSendNs = this.pubs.reduce((a, p) => Math.max(a, p.lastSendNs), 0);
    const perS = (count: number, untilNs: number) =>
      untilNs > this.measureFromNs ? count / ((untilNs - this.measureFromNs) / 1e9) : 0;
    const missing = expected - delivered;
    return {
      sent,
      acked: this.pubs.reduce((a, p) => a + p.acked, 0),
      expected,
      delivered,
      missing,
      duplicates,
      outOfOrder,
      foreign,
      deliveredPerS: perS(measured, this.lastReceiveNs),
      publishedPerS: perS(sentMeasured, lastSendNs),
      latency: latencySummary(this.latency),
      sendLag: this.nsPerMessage > 0 ? latencySummary(this.sendLag) : undefined,
      lostConnections: extra.lost,
      e2eResets: this.pubs.reduce((a, p) => a + p.e2eResets, 0),
      protocolErrors: this.pubs.reduce((a, p) => a + p.errors, 0),
      stalled: extra.stalled,
      timedOut: extra.timedOut,
      exact: missing === 0 && foreign === 0 && extra.lost === 0 && !extra.stalled &&
        !extra.timedOut,
      cpu: extra.cpu,
      brokerRssKbBefore: extra.rss.before,
      brokerRssKbAfter: extra.rss.after,
      brokerPeakRssKb: extra.rss.peak,
      connectS: extra.connectS,
      wallS: extra.wallS,
      errors: this.errors,
    };
  }
}
