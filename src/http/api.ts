/**
 * The JSON of `/api/v1/...`: the stats snapshot, the clients, the subscriptions and the bridges.
 * Lists stop at `MAX_LIST_ENTRIES` entries and then say `truncated: true`.
 *
 * @module
 */

import type { Broker } from "../broker/broker.ts";
import type { AclAction, CounterValues, LoginRefusal } from "../broker/metrics.ts";
import type { Transport } from "../broker/listener_label.ts";
import type { LoadValues, LoadWindow } from "../broker/load_average.ts";
import { LOAD_WINDOWS } from "../broker/load_average.ts";
import type { BridgeFigures, Stats } from "../broker/stats.ts";

/** Most entries a list answer holds. */
export const MAX_LIST_ENTRIES = 10_000;

/** One window of `load` in `/api/v1/stats`, events per minute to two decimals. */
export interface LoadJson {
  messagesReceived: number;
  messagesSent: number;
  publishReceived: number;
  publishSent: number;
  publishDropped: number;
  bytesReceived: number;
  bytesSent: number;
  connections: number;
  sockets: number;
}

/** `/api/v1/stats`. */
export interface StatsJson {
  version: string;
  uptimeSeconds: number;
  /** When the snapshot was taken, ISO 8601. */
  time: string;
  clients: {
    connected: number;
    disconnected: number;
    total: number;
    maximum: number;
    expired: number;
  };
  messages: { received: number; sent: number };
  publish: {
    received: number;
    sent: number;
    dropped: number;
    bytesReceived: number;
    bytesSent: number;
  };
  bytes: { received: number; sent: number };
  subscriptions: number;
  sharedSubscriptions: number;
  retained: number;
  store: { messages: number; bytes: number };
  heap: { current: number; maximum: number };
  /** `memory_limit` (0 = none), the memory last compared with it, PUBLISH refused for it. */
  memoryLimit: { limit: number; used: number; refused: number; connectsRefused: number };
  /** CONNECT packets refused as not authorised, by reason (`/metrics`' `reason` labels). */
  loginsRefused: Record<LoginRefusal, number>;
  /** What the ACL denied, by action (`/metrics`' `action` labels). */
  aclDenied: Record<AclAction, number>;
  load: Record<LoadWindow, LoadJson>;
  /** The counters of each listener and protocol (`protocol` null: before CONNECT). */
  listeners: ListenerJson[];
  persistence: { enabled: boolean; location?: string; records?: number; storedBytes?: number };
  /** The running bridges, in start order. */
  bridges: BridgeJson[];
}

/** One bridge in `/api/v1/stats` and `/api/v1/bridges`. */
export interface BridgeJson {
  /** `connection NAME`. */
  name: string;
  /** Whether its link to the remote broker is up. */
  up: boolean;
  /** The remote broker connected to (or last tried), `host:port`; null before the first try. */
  address: string | null;
  /** When the link came up, ISO 8601; null while it is down. */
  connectedSince: string | null;
  /** Messages sent to and received from the remote broker. */
  messages: { sent: number; received: number };
  /** Payload bytes of those messages. */
  bytes: { sent: number; received: number };
  /** QoS 1/2 messages waiting here for the remote broker. */
  queued: number;
  /** Messages dropped on their way out. */
  dropped: number;
  /** Times the link came up again after its first. */
  reconnects: number;
}

/** One listener's counters in `/api/v1/stats`. */
export interface ListenerJson {
  /** The listener's port (0: a Unix socket, or what no listener is credited with). */
  listener: number;
  /** The port as text, or a Unix socket's path; null: what no listener is credited with. */
  name: string | null;
  /** `tcp`, `tls`, `ws`, `wss` or `unix`; null: what no listener is credited with. */
  transport: Transport | null;
  /** 3, 4 or 5; null before CONNECT. */
  protocolVersion: 3 | 4 | 5 | null;
  /** Its counters. */
  counters: CounterValues;
}

function twoDecimals(value: number): number {
  return Math.round(value * 100) / 100;
}

function loadJson(values: Readonly<LoadValues>): LoadJson {
  return {
    messagesReceived: twoDecimals(values["messages/received"]),
    messagesSent: twoDecimals(values["messages/sent"]),
    publishReceived: twoDecimals(values["publish/received"]),
    publishSent: twoDecimals(values["publish/sent"]),
    publishDropped: twoDecimals(values["publish/dropped"]),
    bytesReceived: twoDecimals(values["bytes/received"]),
    bytesSent: twoDecimals(values["bytes/sent"]),
    connections: twoDecimals(values.connections),
    sockets: twoDecimals(values.sockets),
  };
}

/** `/api/v1/stats` of a snapshot. */
export function statsJson(stats: Stats): StatsJson {
  const t = stats.totals;
  const load = {} as Record<LoadWindow, LoadJson>;
  for (const window of LOAD_WINDOWS) load[window.name] = loadJson(stats.load[window.name]);
  const p = stats.persistence;
  return {
    version: stats.version,
    uptimeSeconds: stats.uptimeSeconds,
    time: new Date(stats.time).toISOString(),
    clients: { ...stats.clients },
    messages: { received: t.messagesReceived, sent: t.messagesSent },
    publish: {
      received: t.publishReceived,
      sent: t.publishSent,
      dropped: t.publishDropped,
      bytesReceived: t.publishBytesReceived,
      bytesSent: t.publishBytesSent,
    },
    bytes: { received: t.bytesReceived, sent: t.bytesSent },
    subscriptions: stats.subscriptions,
    sharedSubscriptions: stats.sharedSubscriptions,
    retained: stats.retained,
    store: { ...stats.store },
    heap: { ...stats.heap },
    memoryLimit: { ...stats.memoryLimit },
    loginsRefused: { ...stats.loginsRefused },
    aclDenied: { ...stats.aclDenied },
    load,
    // The set no listener is credited with, only when something was counted there.
    listeners: stats.byListener
      .filter((c) => c.listener !== undefined || Object.values(c.values).some((v) => v !== 0))
      .map((c) => ({
        listener: c.listener?.port ?? 0,
        name: c.listener?.name ?? null,
        transport: c.listener?.transport ?? null,
        protocolVersion: c.version === 0 ? null : c.version,
        counters: { ...c.values },
      })),
    persistence: p.enabled
      ? { enabled: true, location: p.location, records: p.records, storedBytes: p.storedBytes }
      : { enabled: false },
    bridges: bridgesJson(stats.bridges),
  };
}

/** Bridges' figures as `/api/v1/stats` and `/api/v1/bridges` show them. */
export function bridgesJson(bridges: readonly BridgeFigures[]): BridgeJson[] {
  return bridges.map((b) => ({
    name: b.name,
    up: b.up,
    address: b.address === "" ? null : b.address,
    connectedSince: b.up ? new Date(b.connectedSince).toISOString() : null,
    messages: { sent: b.messagesOut, received: b.messagesIn },
    bytes: { sent: b.bytesOut, received: b.bytesIn },
    queued: b.queued,
    dropped: b.dropped,
    reconnects: b.reconnects,
  }));
}

/** One client in `/api/v1/clients`. */
export interface ClientJson {
  clientId: string;
  connected: boolean;
  /** 3 (MQTT 3.1), 4 (3.1.1) or 5. */
  protocolVersion: 3 | 4 | 5;
  /** "ip:port" of the connection; null when not connected. */
  address: string | null;
  /** Port of the listener it came through (last time, when not connected); null if unknown. */
  listener: number | null;
  username: string | null;
  /** Keep alive granted, seconds; null when not connected. */
  keepAlive: number | null;
  /** Whether the session outlives the connection. */
  persistent: boolean;
  /** Subscriptions of the session. */
  subscriptions: number;
  /** Messages waiting to be sent. */
  queued: number;
  /** QoS 1 and 2 messages sent and not yet acknowledged. */
  inflight: number;
  /** Messages dropped for it: its queue was full (max_queued_*) or its output backed up. */
  dropped: number;
  /** PUBLISH packets it sent that were refused because `memory_limit` was reached. */
  refusedForMemory: number;
  /** When the connection's CONNECT was accepted, ISO 8601 (connected clients). */
  connectedSince?: string;
  /** When the client went away, ISO 8601 (disconnected clients). */
  disconnectedAt?: string;
}

/** `/api/v1/clients`: every session, connected or not, in the order they were created. */
export function clientsJson(
  broker: Broker,
): { clients: ClientJson[]; total: number; truncated: boolean } {
  const clients: ClientJson[] = [];
  for (const session of broker.sessions.values()) {
    if (clients.length === MAX_LIST_ENTRIES) break;
    const conn = session.connection;
    const listener = conn?.listener ?? session.listener;
    const entry: ClientJson = {
      clientId: session.clientId,
      connected: conn !== undefined,
      protocolVersion: session.version,
      address: conn !== undefined ? conn.remote : null,
      listener: listener !== undefined ? broker.portOf(listener) : null,
      username: session.username ?? null,
      keepAlive: conn !== undefined ? conn.keepAliveMs / 1000 : null,
      persistent: session.expiryInterval > 0,
      subscriptions: session.subscriptions.size,
      queued: session.queuedCount,
      inflight: session.inflight.size,
      dropped: session.dropped,
      refusedForMemory: session.refusedForMemory,
    };
    if (conn !== undefined) entry.connectedSince = new Date(conn.connectedAt).toISOString();
    else entry.disconnectedAt = new Date(session.disconnectedAt).toISOString();
    clients.push(entry);
  }
  const total = broker.sessions.size;
  return { clients, total, truncated: total > clients.length };
}

/** One subscription in `/api/v1/subscriptions`. */
export interface SubscriptionJson {
  clientId: string;
  /** The filter as subscribed, with any `$share/GROUP/` prefix. */
  filter: string;
  qos: 0 | 1 | 2;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  /** The 5.0 subscription identifier; null when none. */
  subscriptionId: number | null;
}

/** `/api/v1/subscriptions`: every subscription of every session. */
export function subscriptionsJson(
  broker: Broker,
): { subscriptions: SubscriptionJson[]; total: number; truncated: boolean } {
  const subscriptions: SubscriptionJson[] = [];
  let total = 0;
  for (const session of broker.sessions.values()) {
    for (const sub of session.subscriptions.values()) {
      total++;
      if (subscriptions.length === MAX_LIST_ENTRIES) continue;
      subscriptions.push({
        clientId: session.clientId,
        filter: sub.filter,
        qos: sub.qos,
        noLocal: sub.noLocal,
        retainAsPublished: sub.retainAsPublished,
        retainHandling: sub.retainHandling,
        subscriptionId: sub.subscriptionId ?? null,
      });
    }
  }
  return { subscriptions, total, truncated: total > subscriptions.length };
}
