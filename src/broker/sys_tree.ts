/**
 * `$SYS/broker/...`: the broker's state published as retained QoS 0 messages every
 * `sys_interval` seconds, with Mosquitto 2.0's topics and payload formats. A value is published
 * again only when it changed (the uptime always is); the version is published once. A client
 * that subscribes gets the current values at once, as retained messages.
 *
 * @module
 */

import { RetainedIndex, type RetainedVisitor } from "../router/mod.ts";
import { MIDGE_VERSION } from "../version.ts";
import { type Message, newMessage } from "./message.ts";
import { LOAD_NAMES, LOAD_WINDOWS } from "./load_average.ts";
import { LOST_KINDS } from "./metrics.ts";
import { type Stats, type StatsSource, takeStats } from "./stats.ts";

const PREFIX = "$SYS/broker/";

/** The static version topic, published once. */
export const VERSION_TOPIC = `${PREFIX}version`;

/** The uptime topic, published at every update even when unchanged. */
export const UPTIME_TOPIC = `${PREFIX}uptime`;

/**
 * The topics and payloads of an update, in the order Mosquitto 2.0 publishes them (without the
 * version). `active` and `inactive` are Mosquitto's deprecated names for `connected` and
 * `disconnected`, as `messages/stored` is for `store/messages/count`.
 */
export function sysValues(stats: Stats): [topic: string, payload: string][] {
  const t = stats.totals;
  const c = stats.clients;
  const values: [string, string][] = [
    ["uptime", `${stats.uptimeSeconds} seconds`],
    ["clients/total", `${c.total}`],
    ["clients/maximum", `${c.maximum}`],
    ["clients/inactive", `${c.disconnected}`],
    ["clients/disconnected", `${c.disconnected}`],
    ["clients/active", `${c.connected}`],
    ["clients/connected", `${c.connected}`],
    ["clients/expired", `${c.expired}`],
  ];
  for (const window of LOAD_WINDOWS) {
    const load = stats.load[window.name];
    for (const name of LOAD_NAMES) {
      values.push([`load/${name}/${window.name}`, load[name].toFixed(2)]);
    }
  }
  values.push(
    ["messages/stored", `${stats.store.messages}`],
    ["store/messages/count", `${stats.store.messages}`],
    ["store/messages/bytes", `${stats.store.bytes}`],
    ["subscriptions/count", `${stats.subscriptions}`],
    ["shared_subscriptions/count", `${stats.sharedSubscriptions}`],
    ["retained messages/count", `${stats.retained}`],
    ["heap/current", `${stats.heap.current}`],
    ["heap/maximum", `${stats.heap.maximum}`],
    ["memory_limit/refused", `${stats.memoryLimit.refused}`],
    ["messages/received", `${t.messagesReceived}`],
    ["messages/sent", `${t.messagesSent}`],
    ["publish/messages/dropped", `${t.publishDropped}`],
    ["publish/messages/received", `${t.publishReceived}`],
    ["publish/messages/sent", `${t.publishSent}`],
    ["publish/bytes/received", `${t.publishBytesReceived}`],
    ["publish/bytes/sent", `${t.publishBytesSent}`],
    ["bytes/received", `${t.bytesReceived}`],
    ["bytes/sent", `${t.bytesSent}`],
  );
  // Midge's own: each open listener's transport, under its name (a port, or a Unix socket's
  // path with its slashes escaped, so that it stays one topic level).
  for (const l of stats.listeners) {
    values.push([`listeners/${encodeURIComponent(l.name)}/transport`, l.transport]);
  }
  // Midge's own: what a damaged store lost at start-up (with persistence on).
  for (const kind of LOST_KINDS) {
    const lost = stats.persistence.lost?.[kind];
    if (lost !== undefined) values.push([`store/damaged/${kind}`, `${lost}`]);
  }
  // Midge's own: each bridge's figures, under its connection name (one topic level). Mosquitto
  // 2.0 publishes only the state notification, `$SYS/broker/connection/<client id>/state`,
  // which the bridge publishes itself.
  for (const b of stats.bridges) {
    const at = `bridge/${encodeURIComponent(b.name)}/`;
    values.push(
      [`${at}connected`, b.up ? "1" : "0"],
      [`${at}address`, b.address],
      [`${at}messages/sent`, `${b.messagesOut}`],
      [`${at}messages/received`, `${b.messagesIn}`],
      [`${at}bytes/sent`, `${b.bytesOut}`],
      [`${at}bytes/received`, `${b.bytesIn}`],
      [`${at}messages/queued`, `${b.queued}`],
      [`${at}messages/dropped`, `${b.dropped}`],
      [`${at}reconnects`, `${b.reconnects}`],
    );
  }
  return values.map(([name, payload]) => [PREFIX + name, payload]);
}

/** Publishes a broker's `$SYS` tree on a timer. */
export class SysTree {
  #broker: StatsSource;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** The interval in force (s); 0 when stopped. */
  #interval = 0;
  /** The payload last published on each topic. */
  #published = new Map<string, string>();
  /**
   * The values as retained messages, apart from clients' retained messages: never stored in
   * the persistence database, never counted as retained.
   */
  #retained = new RetainedIndex<Message>();
  #encoder = new TextEncoder();

  /** The `$SYS` tree of `broker`. */
  constructor(broker: StatsSource) {
    this.#broker = broker;
  }

  /** The interval in force, in seconds; 0 when nothing is published. */
  get interval(): number {
    return this.#interval;
  }

  /**
   * Follow `options.sysInterval`: start publishing (the version, then a first update at once),
   * change the interval, or stop when it is 0. Called at start and after a reload.
   */
  schedule(): void {
    const interval = this.#broker.options.sysInterval;
    if (interval === this.#interval) return;
    this.stop();
    if (interval <= 0) return;
    this.#interval = interval;
    if (!this.#published.has(VERSION_TOPIC)) {
      this.#publish(VERSION_TOPIC, `midge version ${MIDGE_VERSION}`);
    }
    this.update();
    this.#timer = setInterval(() => this.update(), interval * 1000);
  }

  /** Stop the timer (the values published stay retained). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#interval = 0;
  }

  /**
   * Publish what changed since the last update, and the uptime (the timer calls it). A value
   * that is gone (a bridge removed by a reload) stops being retained.
   */
  update(): void {
    const values = sysValues(takeStats(this.#broker));
    const current = new Set(values.map(([topic]) => topic));
    for (const topic of this.#published.keys()) {
      if (topic === VERSION_TOPIC || current.has(topic)) continue;
      this.#published.delete(topic);
      this.#retained.delete(topic);
    }
    for (const [topic, payload] of values) {
      if (topic !== UPTIME_TOPIC && this.#published.get(topic) === payload) continue;
      this.#publish(topic, payload);
    }
  }

  /** Visit the values `filter` matches as retained messages (a filter starting `$SYS/`). */
  matchRetained(filter: string, visit: RetainedVisitor<Message>): void {
    if (filter.startsWith("$SYS/")) this.#retained.match(filter, visit);
  }

  /** Publish a value: retained, and routed to the current subscribers at QoS 0. */
  #publish(topic: string, payload: string): void {
    this.#published.set(topic, payload);
    const message = newMessage(topic, this.#encoder.encode(payload), 0, true, "");
    message.owned = true;
    this.#retained.set(topic, message);
    this.#broker.fanOut.route(message);
  }
}
