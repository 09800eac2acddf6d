/**
 * What a message run of the load generator is asked to do (`LoadSpec`) and what it reports
 * (`LoadResult`).
 *
 * @module
 */

import type { LatencySummary } from "./histogram.ts";
import type { CpuUse } from "./proc.ts";
import type { TransportSpec } from "./transport.ts";

/** A message scenario: who publishes to whom, how much, how fast. */
export interface LoadSpec {
  /** fanin: P publishers on `bench/<i>`, S subscribers on `bench/#`; fanout: P publishers and
   * S subscribers on `bench/fanout`; pairs: publisher i to subscriber i on `bench/<i>`. */
  scenario: "fanin" | "fanout" | "pairs";
  /** Broker address. */
  hostname: string;
  /** Broker port. */
  port: number;
  /** Port of the broker the subscribers connect to (a bridge's remote); default `port`. */
  subscriberPort?: number;
  /** How the clients connect (default: plain TCP). */
  transport?: TransportSpec;
  /** Publishers (pairs: the number of pairs). */
  publishers: number;
  /** Subscribers (pairs: ignored, equal to publishers). */
  subscribers: number;
  /** QoS of publications and subscriptions. */
  qos: 0 | 1;
  /** Payload bytes, at least the 24-byte header. */
  payloadBytes: number;
  /** Seconds of publishing. */
  durationS: number;
  /** Seconds at the start left out of rates and latency. */
  warmupS: number;
  /** QoS 1: unacknowledged messages per publisher. */
  window: number;
  /** QoS 0: messages per publisher sent but not yet received by all its subscribers; 0 = off. */
  e2eWindow: number;
  /** Aggregate publish rate in messages/s; 0 = as fast as the windows allow. */
  ratePerS: number;
  /** After publishing, stop waiting when nothing arrives for this many seconds. */
  drainS: number;
  /** Most bytes a publisher queues per write. */
  batchBytes: number;
  /** The broker's process id, to sample its CPU and memory. */
  brokerPid?: number;
  /**
   * Subscribers connect with clean session = false and fixed client ids
   * (`mdgb-persistent-s<i>`), so the broker keeps (and may store) their sessions; publishers
   * stay clean. Default false.
   */
  persistentSubscribers?: boolean;
}

/** What a message run measured. */
export interface LoadResult {
  /** Messages published. */
  sent: number;
  /** QoS 1 messages acknowledged. */
  acked: number;
  /** Deliveries the subscriptions call for (sent x subscribers of each message). */
  expected: number;
  /** Distinct expected messages received. */
  delivered: number;
  /** Expected messages never received. */
  missing: number;
  /** Messages received more than once (extra copies). */
  duplicates: number;
  /** Messages received after a later one of the same publisher. */
  outOfOrder: number;
  /** Messages received by a subscriber that should not have had them, or not ours. */
  foreign: number;
  /** Deliveries per second after the warmup (all subscribers). */
  deliveredPerS: number;
  /** Publications per second after the warmup. */
  publishedPerS: number;
  /** Latency from (scheduled) send to receipt, after the warmup. */
  latency: LatencySummary;
  /** At a fixed rate: how late the generator sent after the scheduled time. */
  sendLag?: LatencySummary;
  /** Connections the broker closed during the run. */
  lostConnections: number;
  /** Times a QoS 0 end-to-end window was reopened after 1 s without deliveries. */
  e2eResets: number;
  /** Unexpected acknowledgements. */
  protocolErrors: number;
  /** Publishers still waiting for acknowledgements when the drain gave up. */
  stalled: boolean;
  /** The hard deadline ended the run. */
  timedOut: boolean;
  /** Whether nothing was missing, extra or lost. */
  exact: boolean;
  /** CPU use during the run, % of a core. */
  cpu: CpuUse;
  /** Broker VmRSS before connecting, kB. */
  brokerRssKbBefore?: number;
  /** Broker VmRSS at the end of the run, kB. */
  brokerRssKbAfter?: number;
  /** Broker VmHWM (peak RSS) at the end of the run, kB. */
  brokerPeakRssKb?: number;
  /** Seconds to connect and subscribe every client. */
  connectS: number;
  /** Seconds from the start of publishing to the end of the drain. */
  wallS: number;
  /** The first few errors. */
  errors: string[];
}
