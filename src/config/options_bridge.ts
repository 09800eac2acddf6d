/**
 * `[[bridge]]`: connections to other brokers. In mosquitto.conf a `connection NAME` line starts
 * one. The schema is complete so that files are checked; the bridge itself is not built yet,
 * so a configured bridge is refused.
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

const NOTE = "Midge has no bridges yet.";

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
  return string<string | undefined>(name, kind, {
    default: undefined,
    doc,
    support: "pending",
    note: NOTE,
  });
}

function flag(name: string, fallback: boolean, doc: string): OptionSpec<boolean> {
  return bool(name, { default: fallback, doc, support: "pending", note: NOTE });
}

/** `[[bridge]]` options. */
export const BRIDGE_OPTIONS = {
  connection: text("connection", "name", "Name of the bridge; starts a bridge in mosquitto.conf."),
  address: list("address", "host[:port] (several)", {
    default: [],
    doc: "Remote broker(s) to connect to, tried in turn.",
    support: "pending",
    note: NOTE,
  }),
  addresses: list("addresses", "host[:port] (several)", {
    default: [],
    doc: "Another name for address.",
    support: "pending",
    note: NOTE,
  }),
  bridge_attempt_unsubscribe: flag(
    "bridge_attempt_unsubscribe",
    true,
    "Unsubscribe from unused topics on the remote broker.",
  ),
  bridge_bind_address: text("bridge_bind_address", "IP address", "Local address to connect from."),
  bridge_max_packet_size: int("bridge_max_packet_size", 0, 268435460, {
    default: 0,
    doc: "Largest packet the bridge accepts from the remote broker (5.0); 0 = no limit.",
    support: "pending",
    note: NOTE,
  }),
  bridge_outgoing_retain: flag(
    "bridge_outgoing_retain",
    true,
    "Keep the retain flag on messages sent to the remote broker.",
  ),
  bridge_protocol_version: oneOf("bridge_protocol_version", ["mqttv31", "mqttv311", "mqttv50"], {
    default: "mqttv311",
    doc: "Protocol version spoken to the remote broker.",
    support: "pending",
    note: NOTE,
  }),
  cleansession: flag("cleansession", false, "Clean session on the remote broker."),
  local_cleansession: optionalBool("local_cleansession", {
    default: undefined,
    doc: "Clean session on this broker; unset = as cleansession.",
    support: "pending",
    note: NOTE,
  }),
  keepalive_interval: int("keepalive_interval", 5, 65535, {
    default: 60,
    doc: "Keep alive of the bridge connection (seconds).",
    support: "pending",
    note: NOTE,
  }),
  idle_timeout: int("idle_timeout", 1, 0x7fffffff, {
    default: 60,
    doc: "For start_type lazy: seconds without messages before disconnecting.",
    support: "pending",
    note: NOTE,
  }),
  local_clientid: text("local_clientid", "client id", "Client id of the bridge on this broker."),
  local_password: text("local_password", "password", "Password of the bridge on this broker."),
  local_username: text("local_username", "user name", "Username of the bridge on this broker."),
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
    support: "pending",
    note: NOTE,
  }, parseRestartTimeout),
  round_robin: flag("round_robin", false, "Try the addresses in turn rather than the first."),
  start_type: oneOf("start_type", ["automatic", "lazy", "once"], {
    default: "automatic",
    doc: "When the bridge connects.",
    support: "pending",
    note: NOTE,
  }),
  threshold: int("threshold", 1, 0x7fffffff, {
    default: 10,
    doc: "For start_type lazy: queued messages that start the bridge.",
    support: "pending",
    note: NOTE,
  }),
  topic: list<BridgeTopic>("topic", `${BRIDGE_TOPIC_FORM} (several)`, {
    default: [],
    doc: "Topics shared with the remote broker, with direction, QoS and prefixes.",
    support: "pending",
    note: NOTE,
  }, parseBridgeTopic),
  try_private: flag("try_private", true, "Tell the remote broker this client is a bridge."),
  bridge_alpn: text("bridge_alpn", "protocol", "TLS ALPN protocol."),
  bridge_cafile: text("bridge_cafile", "file path", "CA certificates for the remote broker (PEM)."),
  bridge_capath: text("bridge_capath", "directory", "Directory of CA certificates (PEM)."),
  bridge_certfile: text("bridge_certfile", "file path", "Client certificate (PEM)."),
  bridge_identity: text("bridge_identity", "identity", "TLS-PSK identity."),
  bridge_insecure: flag("bridge_insecure", false, "Do not check the remote certificate's name."),
  bridge_keyfile: text("bridge_keyfile", "file path", "Client private key (PEM)."),
  bridge_psk: text("bridge_psk", "hex key", "TLS-PSK key."),
  bridge_require_ocsp: flag("bridge_require_ocsp", false, "Require an OCSP response."),
  bridge_tls_version: text(
    "bridge_tls_version",
    "tlsv1.3 | tlsv1.2 | tlsv1.1",
    "TLS version; unset = tlsv1.2.",
  ),
  clientid: text("clientid", "client id", "Old name of remote_clientid."),
  password: text("password", "password", "Old name of remote_password."),
  username: text("username", "user name", "Old name of remote_username."),
} as const;
