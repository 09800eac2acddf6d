/**
 * One snapshot of the broker's state and counters: what `$SYS/broker/...` publishes, what
 * `/metrics` exposes and what `/api/v1/stats` returns are all read from it.
 *
 * @module
 */

import { MIDGE_VERSION } from "../version.ts";
import type { Logger } from "../log/logger.ts";
import type { FanOut } from "./fan_out.ts";
import type { ListenerLabel } from "./listener_label.ts";
import {
  LOAD_NAMES,
  LOAD_WINDOWS,
  type LoadAverages,
  type LoadName,
  type LoadValues,
  type LoadWindow,
} from "./load_average.ts";
import type { MemoryWatch } from "./memory_watch.ts";
import {
  type AclAction,
  BEFORE_CONNECT,
  COUNTER_NAMES,
  type CounterName,
  type CounterValues,
  type LoginRefusal,
  type LostKind,
  type Metrics,
  zeroCounters,
} from "./metrics.ts";
import type { BrokerOptions } from "./options.ts";
import type { Persistence } from "./persistence.ts";
import type { SessionRegistry } from "./sessions.ts";

/** The counter each load average follows. */
export const LOAD_COUNTERS: Readonly<Record<LoadName, CounterName>> = {
  "messages/received": "messagesReceived",
  "messages/sent": "messagesSent",
  "publish/dropped": "publishDropped",
  "publish/received": "publishReceived",
  "publish/sent": "publishSent",
  "bytes/received": "bytesReceived",
  "bytes/sent": "bytesSent",
  "sockets": "sockets",
  "connections": "connections",
};

/**
 * One bridge's figures, as its runtime (`bridge/`, which stands above this room) reports them
 * through `StatsSource.bridgeStats`.
 */
export interface BridgeFigures {
  /** `connection NAME`. */
  readonly name: string;
  /** Whether the link is up. */
  readonly up: boolean;
  /** The remote broker connected to (or last tried), `host:port`; "" before the first try. */
  readonly address: string;
  /** When the link came up (ms since the epoch); 0 while down. */
  readonly connectedSince: number;
  /** Messages sent to the remote broker. */
  readonly messagesOut: number;
  /** Payload bytes sent to the remote broker. */
  readonly bytesOut: number;
  /** Messages received from the remote broker. */
  readonly messagesIn: number;
  /** Payload bytes received from the remote broker. */
  readonly bytesIn: number;
  /** QoS 1/2 messages waiting here for the remote broker. */
  readonly queued: number;
  /** Messages dropped on the way out. */
  readonly dropped: number;
  /** Times the link has come up again after the first. */
  readonly reconnects: number;
}

/** What a snapshot reads of the broker (and `$SYS` publishes through: `options`, `fanOut`). */
export interface StatsSource {
  /** The options in force. */
  readonly options: BrokerOptions;
  /** The logger in force (its dropped lines). */
  readonly log: Logger;
  /** Counters. */
  readonly metrics: Metrics;
  /** Load averages, moved forward by each snapshot. */
  readonly loads: LoadAverages;
  /** Sessions, connected or not. */
  readonly sessions: SessionRegistry;
  /** Subscriptions, retained messages and routing. */
  readonly fanOut: FanOut;
  /** `memory_limit`. */
  readonly memory: MemoryWatch;
  /** The store writer when persistence is on. */
  readonly persistence: Persistence | undefined;
  /** The MQTT listeners. */
  readonly listeners: { labels(): readonly ListenerLabel[] };
  /** When the broker was started (ms). */
  readonly startedAt: number;
  /** The figures of the running bridges, in start order. */
  readonly bridgeStats: () => readonly BridgeFigures[];
  /** The current time in ms. */
  now(): number;
  /** Count the bytes open connections have written. */
  settleCounters(): void;
}

/** The counters of one listener and protocol version. */
export interface ListenerCounters {
  /** The listener; undefined for what no listener can be credited with. */
  listener: ListenerLabel | undefined;
  /** The protocol version (3, 4, 5), or 0 before CONNECT. */
  version: 0 | 3 | 4 | 5;
  /** Their values. */
  values: Readonly<CounterValues>;
}

/** The persistence part of a snapshot. */
export interface PersistenceStats {
  /** Whether persistence is on. */
  enabled: boolean;
  /** Where the store is (persistence on). */
  location?: string;
  /** Live records in the store. */
  records?: number;
  /** Bytes the store holds on disk, live or not yet reclaimed. */
  storedBytes?: number;
  /** Whether its last write failed (the changes wait and are tried again). */
  failing: boolean;
  /** Records lost to damage in the store at start-up, by kind (persistence on). */
  lost?: Readonly<Record<LostKind, number>>;
}

/** The broker at one moment. */
export interface Stats {
  /** Midge's version. */
  version: string;
  /** When it was taken (ms since the epoch, from the broker's clock). */
  time: number;
  /** Whole seconds since the broker started. */
  uptimeSeconds: number;
  /** Clients. */
  clients: {
    /** Connected now. */
    connected: number;
    /** Sessions kept while their client is away. */
    disconnected: number;
    /** Sessions, connected or not. */
    total: number;
    /** Most clients connected at once. */
    maximum: number;
    /** Sessions removed because they expired. */
    expired: number;
  };
  /** Every counter, summed over listeners and protocol versions. */
  totals: Readonly<CounterValues>;
  /** The counters of each listener and protocol version. */
  byListener: readonly ListenerCounters[];
  /** The MQTT listeners open now, in listener order. */
  listeners: readonly ListenerLabel[];
  /** Subscriptions, not counting shared ones. */
  subscriptions: number;
  /** Shared subscriptions (one per member of each group). */
  sharedSubscriptions: number;
  /** Retained messages (of clients; not the broker's own `$SYS` values). */
  retained: number;
  /**
   * Messages held: retained messages, and messages queued or in flight for clients (a message
   * held for two clients counts twice); `bytes` are their payloads.
   */
  store: { messages: number; bytes: number };
  /** Heap in use now and the most seen (bytes). */
  heap: { current: number; maximum: number };
  /**
   * `memory_limit` (bytes; 0 = none), the memory last compared with it (0 without a limit), and
   * the PUBLISH packets and the CONNECTs refused because it was reached.
   */
  memoryLimit: { limit: number; used: number; refused: number; connectsRefused: number };
  /** CONNECT packets refused as not authorised, by why. */
  loginsRefused: Readonly<Record<LoginRefusal, number>>;
  /** What the ACL denied, by action. */
  aclDenied: Readonly<Record<AclAction, number>>;
  /** Load averages, events per minute, by window. */
  load: Readonly<Record<LoadWindow, Readonly<LoadValues>>>;
  /** Persistence. */
  persistence: PersistenceStats;
  /** Log lines dropped because their reader did not keep up (`Logger.droppedLines`). */
  logLinesDropped: number;
  /** The running bridges, in start order. */
  bridges: readonly BridgeFigures[];
}

/**
 * Take a snapshot of `broker` now. It also moves the load averages forward and counts the bytes
 * written by open connections, so it costs a pass over the connections and the sessions.
 */
export function takeStats(broker: StatsSource): Stats {
  const now = broker.now();
  broker.settleCounters();
  const metrics = broker.metrics;
  const totals = metrics.totals();
  const loadCounts = {} as LoadValues;
  for (const name of LOAD_NAMES) loadCounts[name] = totals[LOAD_COUNTERS[name]];
  broker.loads.update(now, loadCounts);
  const load = {} as Record<LoadWindow, LoadValues>;
  for (const window of LOAD_WINDOWS) load[window.name] = { ...broker.loads.values(window.name) };

  const heapCurrent = Deno.memoryUsage().heapUsed;
  if (heapCurrent > metrics.heapMaximum) metrics.heapMaximum = heapCurrent;

  let held = broker.fanOut.retained.size;
  let heldBytes = broker.fanOut.retained.bytes;
  for (const session of broker.sessions.values()) {
    held += session.queuedCount + session.inflight.size;
    heldBytes += session.queuedBytes;
    for (const delivery of session.inflight.values()) heldBytes += delivery.message.payload.length;
  }

  const total = broker.sessions.size;
  const connected = broker.sessions.connectedCount;
  const persistence = broker.persistence;
  const storeStats = persistence?.store.stats();
  return {
    version: MIDGE_VERSION,
    time: now,
    uptimeSeconds: Math.max(0, Math.floor((now - broker.startedAt) / 1000)),
    clients: {
      connected,
      disconnected: Math.max(0, total - connected),
      total,
      maximum: metrics.clientsMaximum,
      expired: metrics.clientsExpired,
    },
    totals,
    byListener: metrics.all().map((c) => ({
      listener: c.listener,
      version: c.version === BEFORE_CONNECT ? 0 : c.version,
      values: countersOf(c),
    })),
    listeners: broker.listeners.labels(),
    subscriptions: broker.fanOut.subscriptionCount,
    sharedSubscriptions: broker.fanOut.sharedSubscriptionCount,
    retained: broker.fanOut.retained.size,
    store: { messages: held, bytes: heldBytes },
    heap: { current: heapCurrent, maximum: metrics.heapMaximum },
    memoryLimit: {
      limit: broker.options.memoryLimit,
      used: broker.memory.used,
      refused: broker.memory.refused,
      connectsRefused: broker.memory.connectsRefused,
    },
    loginsRefused: { ...metrics.loginsRefused },
    aclDenied: { ...metrics.aclDenied },
    load,
    persistence: persistence === undefined || storeStats === undefined
      ? { enabled: false, failing: false }
      : {
        enabled: true,
        location: persistence.store.location,
        records: storeStats.records,
        storedBytes: storeStats.storedBytes,
        failing: persistence.failing,
        lost: metrics.storeLost,
      },
    logLinesDropped: broker.log.droppedLines,
    bridges: broker.bridgeStats(),
  };
}

function countersOf(c: CounterValues): CounterValues {
  const values = zeroCounters();
  for (const name of COUNTER_NAMES) values[name] = c[name];
  return values;
}
