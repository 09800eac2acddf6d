/**
 * `[[bridge]]`: connections to other brokers. In mosquitto.conf a `connection NAME` line starts
 * one. Mosquitto 2.0's options, and `bridge_max_queued_messages` (store and forward).
 *
 * @module
 */

import { BRIDGE_TOPIC_FORM, type BridgeTopic, parseBridgeTopic } from "./bridge_topic.ts";
import {
  bool,
  int,
  list,
  oneOf,
  optionalBool,
  type OptionSpec,
  readFrom,
  string,
  ValueProblem,
} from "./schema.ts";

const NOTE_UNSUPPORTED = "TLS-PSK and OCSP are not available to Deno's TLS.";

/** Messages a bridge keeps for its remote broker while the link is down, by default. */
export const DEFAULT_BRIDGE_QUEUE = 100_000;

/**
 * How long a bridge waits before reconnecting, in seconds: a constant, or Mosquitto's
 * "decorrelated jitter" backoff that starts at `base` and grows up to `cap`.
 */
export type RestartTimeout =
  | { readonly kind: "constant"; readonly seconds: number }
  | { readonly kind: "backoff"; readonly base: number; readonly cap: number };

/**
 * Read `restart_timeout`: `SECONDS` or `BASE CAP`. Mosquitto 2.0.11 reads the numbers with
 * atoi (so `x` is 0) and ignores a third word; Midge refuses both.
 */
/** Check one `address` line: `host[:port]` words, each port within 1-65535. */
function parseAddressLine(line: string): string {
  for (const word of line.split(/\s+/).filter((w) => w !== "")) {
    const port = /^\[[^\]]+\]:(.*)$/.exec(word)?.[1] ??
      (word.split(":").length === 2 ? word.split(":")[1] : undefined);
    if (port !== undefined && !(/^[0-9]+$/.test(port) && +port >= 1 && +port <= 65535)) {
      throw new ValueProblem(`port of ${JSON.stringify(word)} must be a number from 1 to 65535`);
    }
  }
  return line;
}

function parseRestartTimeout(text: string): RestartTimeout {
  const words = text.split(" ").filter((w) => w !== "");
  if (words.length > 2 || !words.every((w) => /^[0-9]+$/.test(w))) {
    throw new ValueProblem(
      `must be one number of seconds, or two (backoff base and cap), not ${JSON.stringify(text)}`,
    );
  }
  const [first, second] = words.map(Number);
  if (second === undefined) return { kind: "constant", seconds: first };
  if (second < first) {
    throw new ValueProblem(`the backoff cap (${second}) is lower than its base (${first})`);
  }
  return { kind: "backoff", base: first, cap: second };
}

function text(name: string, kind: string, doc: string): OptionSpec<string | undefined> {
  return string<string | undefined>(name, kind, { default: undefined, doc });
}

function flag(name: string, fallback: boolean, doc: string): OptionSpec<boolean> {
  return bool(name, { default: fallback, doc });
}

/** `[[bridge]]` options. */
export const BRIDGE_OPTIONS = {
  connection: text("connection", "name", "Name of the bridge; starts a bridge in mosquitto.conf."),
  address: list("address", "host[:port] (several)", {
    default: [],
    doc: "Remote broker(s) to connect to, tried in turn.",
  }, parseAddressLine),
  addresses: list("addresses", "host[:port] (several)", {
    default: [],
    doc: "Another name for address.",
  }, parseAddressLine),
  bridge_attempt_unsubscribe: flag(
    "bridge_attempt_unsubscribe",
    true,
    "Unsubscribe from unused topics on the remote broker.",
  ),
  bridge_bind_address: text("bridge_bind_address", "IP address", "Local address to connect from."),
  bridge_max_queued_messages: int("bridge_max_queued_messages", 0, 0x7fffffff, {
    default: DEFAULT_BRIDGE_QUEUE,
    doc: "QoS 1/2 messages kept for the remote broker while the link is down (kept in the " +
      "store with persistence); 0 = no limit. Independent of max_queued_messages.",
    support: "different",
    note: "Midge only: Mosquitto queues up to max_queued_messages for a bridge, in memory.",
  }),
  bridge_max_packet_size: int("bridge_max_packet_size", 0, 268435460, {
    default: 0,
    doc: "Largest packet sent to the remote broker (the smaller of this and a 5.0 remote's " +
      "own maximum holds; larger messages are dropped and counted). What the remote sends is " +
      "not limited, as in Mosquitto. 0 = no limit.",
  }),
  bridge_outgoing_retain: flag(
    "bridge_outgoing_retain",
    true,
    "Keep the retain flag on messages sent to the remote broker.",
  ),
  bridge_protocol_version: oneOf("bridge_protocol_version", ["mqttv31", "mqttv311", "mqttv50"], {
    default: "mqttv311",
    doc: "Protocol version spoken to the remote broker.",
  }),
  cleansession: flag("cleansession", false, "Clean session on the remote broker."),
  local_cleansession: optionalBool("local_cleansession", {
    default: undefined,
    doc: "Clean session on this broker; unset = as cleansession.",
  }),
  keepalive_interval: int("keepalive_interval", 5, 65535, {
    default: 60,
    doc: "Keep alive of the bridge connection (seconds).",
  }),
  idle_timeout: int("idle_timeout", 1, 0x7fffffff, {
    default: 60,
    doc: "For start_type lazy: seconds without messages before disconnecting.",
  }),
  local_clientid: text("local_clientid", "client id", "Client id of the bridge on this broker."),
  local_password: text("local_password", "password", "Password of the bridge on this broker."),
  local_username: string<string | undefined>("local_username", "user name", {
    default: undefined,
    doc: "Username of the bridge on this broker; unset = trusted (no password, no ACL).",
    support: "different",
    note: "Set, the bridge is checked as this user against the broker-wide password file and " +
      "ACL (its messages in, and what it may read out); unset, nothing is checked.",
  }),
  notifications: flag("notifications", true, "Publish the bridge's state on a topic."),
  notifications_local_only: flag(
    "notifications_local_only",
    false,
    "Publish the state on this broker only.",
  ),
  notification_topic: text("notification_topic", "topic", "Topic of the state notifications."),
  remote_clientid: text("remote_clientid", "client id", "Client id on the remote broker."),
  remote_password: text("remote_password", "password", "Password on the remote broker."),
  remote_username: text("remote_username", "user name", "Username on the remote broker."),
  restart_timeout: readFrom("restart_timeout", "base cap | constant", {
    default: undefined,
    doc: "Seconds to wait before reconnecting (backoff base and cap, or a constant); unset = 5 30.",
  }, parseRestartTimeout),
  round_robin: flag("round_robin", false, "Try the addresses in turn rather than the first."),
  start_type: oneOf("start_type", ["automatic", "lazy", "once"], {
    default: "automatic",
    doc: "When the bridge connects.",
  }),
  threshold: int("threshold", 1, 0x7fffffff, {
    default: 10,
    doc: "For start_type lazy: queued messages that start the bridge.",
  }),
  topic: list<BridgeTopic>("topic", `${BRIDGE_TOPIC_FORM} (several)`, {
    default: [],
    doc: "Topics shared with the remote broker, with direction, QoS and prefixes.",
  }, parseBridgeTopic),
  try_private: flag("try_private", true, "Tell the remote broker this client is a bridge."),
  bridge_alpn: text("bridge_alpn", "protocol", "TLS ALPN protocol."),
  bridge_cafile: text("bridge_cafile", "file path", "CA certificates for the remote broker (PEM)."),
  bridge_capath: text("bridge_capath", "directory", "Directory of CA certificates (PEM)."),
  bridge_certfile: text("bridge_certfile", "file path", "Client certificate (PEM)."),
  bridge_identity: string<string | undefined>("bridge_identity", "identity", {
    default: undefined,
    doc: "TLS-PSK identity.",
    support: "refused",
    note: NOTE_UNSUPPORTED,
  }),
  bridge_insecure: flag("bridge_insecure", false, "Do not check the remote certificate's name."),
  bridge_keyfile: text("bridge_keyfile", "file path", "Client private key (PEM)."),
  bridge_psk: string<string | undefined>("bridge_psk", "hex key", {
    default: undefined,
    doc: "TLS-PSK key.",
    support: "refused",
    note: NOTE_UNSUPPORTED,
  }),
  bridge_require_ocsp: bool("bridge_require_ocsp", {
    default: false,
    doc: "Require an OCSP response.",
    support: "refused",
    note: NOTE_UNSUPPORTED,
  }),
  bridge_tls_version: oneOf("bridge_tls_version", ["tlsv1.3", "tlsv1.2", "tlsv1.1"], {
    default: undefined,
    doc: "The one TLS version spoken; unset = TLS 1.2 or newer.",
  }),
  clientid: text("clientid", "client id", "Old name of remote_clientid."),
  password: text("password", "password", "Old name of remote_password."),
  username: text("username", "user name", "Old name of remote_username."),
} as const;
