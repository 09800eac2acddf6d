/**
 * `GET /metrics`: a stats snapshot in the Prometheus text exposition format 0.0.4. Counters
 * (names ending in `_total`) that belong to connections carry the labels `listener` (the port,
 * or a Unix socket's path), `transport` (`tcp`, `tls`, `ws`, `wss`, `unix`) and `protocol`
 * (`3.1`, `3.1.1`, `5.0`, or `none` for what happened before a CONNECT was accepted, such as a
 * refused CONNECT); `sockets_total` has no `protocol`. What no listener is credited with has
 * `listener` and `transport` `none`. Every family keeps one set of label names, as Prometheus
 * expects. `midge_listener_info` names each open listener with its
 * transport and address. Each bridge's figures carry the label `bridge` (its connection name).
 * Load averages are left out: Prometheus computes rates from the counters. The process's own
 * figures come first, under Prometheus' standard `process_*` names (see process_figures.ts).
 *
 * @module
 */

import { ACL_ACTIONS, type CounterName, LOGIN_REFUSALS, LOST_KINDS } from "../broker/metrics.ts";
import type { BridgeFigures, ListenerCounters, Stats } from "../broker/stats.ts";
import type { ProcessFigures } from "./process_figures.ts";

/** The Content-Type of the exposition format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The `protocol` label of each protocol version. */
const PROTOCOL_NAMES: Readonly<Record<3 | 4 | 5, string>> = { 3: "3.1", 4: "3.1.1", 5: "5.0" };

/** Counters kept per listener and protocol version, with their metric name and help. */
const LISTENER_COUNTERS: readonly { name: string; counter: CounterName; help: string }[] = [
  {
    name: "messages_received_total",
    counter: "messagesReceived",
    help: "MQTT packets of any type received.",
  },
  { name: "messages_sent_total", counter: "messagesSent", help: "MQTT packets of any type sent." },
  {
    name: "publish_messages_received_total",
    counter: "publishReceived",
    help: "PUBLISH packets received.",
  },
  { name: "publish_messages_sent_total", counter: "publishSent", help: "PUBLISH packets sent." },
  {
    name: "publish_messages_dropped_total",
    counter: "publishDropped",
    help: "Messages dropped: queue limits, too large for the client, slow QoS 0 subscribers.",
  },
  {
    name: "publish_bytes_received_total",
    counter: "publishBytesReceived",
    help: "Payload bytes of PUBLISH packets received.",
  },
  {
    name: "publish_bytes_sent_total",
    counter: "publishBytesSent",
    help: "Payload bytes of PUBLISH packets sent.",
  },
  { name: "bytes_received_total", counter: "bytesReceived", help: "Bytes read from clients." },
  { name: "bytes_sent_total", counter: "bytesSent", help: "Bytes written to clients." },
  {
    name: "connections_total",
    counter: "connections",
    help: "CONNECT packets accepted.",
  },
  { name: "sockets_total", counter: "sockets", help: "Sockets accepted by the listener." },
];

/** Each bridge's figures (label `bridge`, its connection name), with their metric and help. */
const BRIDGE_FIGURES: readonly {
  name: string;
  type: "counter" | "gauge";
  value: (b: BridgeFigures) => number;
  help: string;
}[] = [
  {
    name: "bridge_up",
    type: "gauge",
    value: (b) => b.up ? 1 : 0,
    help: "1 while the bridge's link to its remote broker is up, 0 while it is down.",
  },
  {
    name: "bridge_messages_sent_total",
    type: "counter",
    value: (b) => b.messagesOut,
    help: "Messages the bridge sent to its remote broker.",
  },
  {
    name: "bridge_messages_received_total",
    type: "counter",
    value: (b) => b.messagesIn,
    help: "Messages the bridge received from its remote broker.",
  },
  {
    name: "bridge_bytes_sent_total",
    type: "counter",
    value: (b) => b.bytesOut,
    help: "Payload bytes of the messages the bridge sent to its remote broker.",
  },
  {
    name: "bridge_bytes_received_total",
    type: "counter",
    value: (b) => b.bytesIn,
    help: "Payload bytes of the messages the bridge received from its remote broker.",
  },
  {
    name: "bridge_queued_messages",
    type: "gauge",
    value: (b) => b.queued,
    help: "QoS 1 and 2 messages waiting here for the bridge's remote broker.",
  },
  {
    name: "bridge_messages_dropped_total",
    type: "counter",
    value: (b) => b.dropped,
    help: "Messages dropped on their way out over the bridge.",
  },
  {
    name: "bridge_reconnects_total",
    type: "counter",
    value: (b) => b.reconnects,
    help: "Times the bridge's link came up again after its first.",
  },
];

/** Escape a label value: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** Escape HELP text: backslash and line feed. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** A sample value as the format writes it. */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** Builds the text, one metric family at a time, into `lines`, each name after `prefix`. */
class Exposition {
  readonly lines: string[];
  readonly prefix: string;

  constructor(lines: string[], prefix: string) {
    this.lines = lines;
    this.prefix = prefix;
  }

  family(name: string, type: "counter" | "gauge", help: string): void {
    const full = this.prefix + name;
    this.lines.push(`# HELP ${full} ${escapeHelp(help)}`, `# TYPE ${full} ${type}`);
  }

  sample(name: string, value: number, labels: [string, string][] = []): void {
    const set = labels.length === 0
      ? ""
      : `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`;
    this.lines.push(`${this.prefix}${name}${set} ${formatValue(value)}`);
  }

  gauge(name: string, help: string, value: number): void {
    this.family(name, "gauge", help);
    this.sample(name, value);
  }
}

/** The label value for "no listener" and "before CONNECT". */
const NONE = "none";

/** The labels of one counter set; `protocol` is left out for `sockets_total`. */
function labelsOf(c: ListenerCounters, counter: CounterName): [string, string][] {
  const labels: [string, string][] = [
    ["listener", c.listener?.name ?? NONE],
    ["transport", c.listener?.transport ?? NONE],
  ];
  if (counter !== "sockets") {
    labels.push(["protocol", c.version === 0 ? NONE : PROTOCOL_NAMES[c.version]]);
  }
  return labels;
}

/**
 * Whether a counter set has a sample for `counter`: sockets are counted before CONNECT only and
 * connections after; the sets of each version have every other counter, while the sets before
 * CONNECT (and the one no listener is credited with) show only what they hold.
 */
function hasSample(c: ListenerCounters, counter: CounterName): boolean {
  if (counter === "sockets") return c.version === 0 && c.listener !== undefined;
  if (counter === "connections") return c.version !== 0;
  return c.version !== 0 || c.values[counter] !== 0;
}

/** Prometheus' standard `process_*` families, those `figures` has. */
function renderProcess(out: Exposition, figures: ProcessFigures): void {
  out.gauge("resident_memory_bytes", "Resident memory size in bytes.", figures.residentBytes);
  if (figures.virtualBytes !== undefined) {
    out.gauge("virtual_memory_bytes", "Virtual memory size in bytes.", figures.virtualBytes);
  }
  out.family("cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
  out.sample("cpu_seconds_total", figures.cpuSeconds);
  out.gauge(
    "start_time_seconds",
    "Start time of the process since unix epoch in seconds.",
    figures.startTimeSeconds,
  );
  if (figures.openFds !== undefined) {
    out.gauge("open_fds", "Number of open file descriptors.", figures.openFds);
  }
  if (figures.maxFds !== undefined) {
    out.gauge("max_fds", "Maximum number of open file descriptors.", figures.maxFds);
  }
}

/** The text of `/metrics` for `stats`, and the process's own figures when given. */
export function renderMetrics(stats: Stats, process?: ProcessFigures): string {
  const lines: string[] = [];
  if (process !== undefined) renderProcess(new Exposition(lines, "process_"), process);
  const out = new Exposition(lines, "midge_");
  out.family("info", "gauge", "Midge's version, as a label; the value is always 1.");
  out.sample("info", 1, [["version", stats.version]]);
  out.gauge("uptime_seconds", "Seconds since the broker started.", stats.uptimeSeconds);
  out.family(
    "listener_info",
    "gauge",
    "An open MQTT listener: its name, transport, address and PROXY protocol, as labels; " +
      "the value is always 1.",
  );
  for (const l of stats.listeners) {
    out.sample("listener_info", 1, [
      ["listener", l.name],
      ["transport", l.transport],
      ["address", l.address],
      ["proxy", String(l.proxy)],
    ]);
  }
  out.gauge("clients_connected", "Clients connected now.", stats.clients.connected);
  out.gauge(
    "clients_disconnected",
    "Sessions kept while their client is away.",
    stats.clients.disconnected,
  );
  out.gauge("clients_sessions", "Sessions, connected or not.", stats.clients.total);
  out.gauge("clients_maximum", "Most clients connected at once.", stats.clients.maximum);
  out.family("clients_expired_total", "counter", "Sessions removed because they expired.");
  out.sample("clients_expired_total", stats.clients.expired);
  for (const { name, counter, help } of LISTENER_COUNTERS) {
    out.family(name, "counter", help);
    for (const c of stats.byListener) {
      if (hasSample(c, counter)) out.sample(name, c.values[counter], labelsOf(c, counter));
    }
  }
  out.family(
    "logins_refused_total",
    "counter",
    "CONNECT packets refused as not authorised, by reason.",
  );
  for (const reason of LOGIN_REFUSALS) {
    out.sample("logins_refused_total", stats.loginsRefused[reason], [["reason", reason]]);
  }
  out.family(
    "acl_denied_total",
    "counter",
    "Denied by the ACL: publish (PUBLISH packets and wills not written), read (messages not " +
      "delivered to a subscriber).",
  );
  for (const action of ACL_ACTIONS) {
    out.sample("acl_denied_total", stats.aclDenied[action], [["action", action]]);
  }
  out.gauge("subscriptions", "Subscriptions, not counting shared ones.", stats.subscriptions);
  out.gauge(
    "shared_subscriptions",
    "Shared subscriptions (one per member of each group).",
    stats.sharedSubscriptions,
  );
  out.gauge("retained_messages", "Retained messages.", stats.retained);
  out.gauge(
    "store_messages",
    "Messages held: retained, and queued or in flight for each client.",
    stats.store.messages,
  );
  out.gauge("store_bytes", "Payload bytes of the messages held.", stats.store.bytes);
  out.gauge("heap_bytes", "JavaScript heap in use.", stats.heap.current);
  out.gauge("heap_maximum_bytes", "Most JavaScript heap in use seen.", stats.heap.maximum);
  out.gauge("memory_limit_bytes", "memory_limit; 0 = no limit.", stats.memoryLimit.limit);
  out.family(
    "memory_limit_refused_total",
    "counter",
    "PUBLISH packets refused because memory_limit was reached.",
  );
  out.sample("memory_limit_refused_total", stats.memoryLimit.refused);
  out.family(
    "memory_limit_connects_refused_total",
    "counter",
    "CONNECTs refused (CONNACK 0x97) because memory_limit was reached.",
  );
  out.sample("memory_limit_connects_refused_total", stats.memoryLimit.connectsRefused);
  const p = stats.persistence;
  out.gauge("persistence_enabled", "1 when persistence is on.", p.enabled ? 1 : 0);
  out.gauge("persistence_failing", "1 while the store cannot be written.", p.failing ? 1 : 0);
  if (p.records !== undefined) {
    out.gauge("persistence_records", "Live records in the store.", p.records);
  }
  if (p.storedBytes !== undefined) {
    out.gauge("persistence_stored_bytes", "Bytes the store holds.", p.storedBytes);
  }
  if (p.lost !== undefined) {
    out.family(
      "persistence_damaged_records",
      "gauge",
      "Records a damaged store lost at start-up, by kind (other: keys unreadable too).",
    );
    for (const kind of LOST_KINDS) {
      out.sample("persistence_damaged_records", p.lost[kind], [["kind", kind]]);
    }
  }
  if (stats.bridges.length > 0) {
    for (const { name, type, value, help } of BRIDGE_FIGURES) {
      out.family(name, type, help);
      for (const b of stats.bridges) out.sample(name, value(b), [["bridge", b.name]]);
    }
  }
  out.family(
    "log_lines_dropped_total",
    "counter",
    "Log lines dropped because their destination did not keep up.",
  );
  out.sample("log_lines_dropped_total", stats.logLinesDropped);
  return out.lines.join("\n") + "\n";
}
