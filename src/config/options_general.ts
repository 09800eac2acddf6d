/**
 * Top-level options of a configuration file: limits, queues and process settings.
 *
 * @module
 */

import { bool, duration, int, type OptionSpec, string, ValueProblem } from "./schema.ts";

const U16 = 65535;
const U32 = 0xffffffff;

/** `max_packet_size`: 0 (no limit) or at least 20 bytes, as Mosquitto 2.0 requires. */
function spec0or20(name: string): OptionSpec<number> {
  const base = int(name, 0, 268435460, {
    default: 0,
    doc: "Largest packet accepted from a client, in bytes (at least 20); 0 = no limit.",
  });
  return {
    ...base,
    kind: "integer 0 or 20-268435460",
    parse(value, text) {
      const n = base.parse(value, text);
      if (n > 0 && n < 20) throw new ValueProblem(`must be 0 (no limit) or at least 20, not ${n}`);
      return n;
    },
  };
}

/** Top-level options (Mosquitto's general options that are not log, persistence or security). */
export const GENERAL_OPTIONS = {
  allow_duplicate_messages: bool("allow_duplicate_messages", {
    default: false,
    doc: "Send a 3.1 or 3.1.1 client one copy of a message per matching subscription, as 5.0 " +
      "clients always get; false: one copy (deprecated in Mosquitto 2.0).",
    note: "Mosquitto 2.0.11's manual gives true as the default, but without the option it sends " +
      "a 3.x client one copy; so does Midge (default false).",
  }),
  check_retain_source: bool("check_retain_source", {
    default: true,
    doc: "Check the publisher's write access again before sending a retained message.",
    note: "A retained message whose publisher may no longer write its topic (the ACL changed " +
      "since) is not sent, and stays retained; the publisher is remembered across restarts.",
  }),
  max_inflight_bytes: int("max_inflight_bytes", 0, Number.MAX_SAFE_INTEGER, {
    default: 0,
    doc: "Bytes of QoS 1/2 payload in flight to one client; 0 = no limit.",
    support: "pending",
    pendingSeverity: "warning",
    note: "Not enforced yet: max_inflight_messages bounds messages in flight.",
  }),
  max_inflight_messages: int("max_inflight_messages", 0, U16, {
    default: 20,
    doc: "QoS 1/2 messages in flight to one client at once; 0 = no limit.",
  }),
  max_keepalive: int("max_keepalive", 0, U16, {
    default: 65535,
    doc: "Largest keep alive of a 5.0 client: one asking more, or 0, is told this one.",
  }),
  max_packet_size: spec0or20("max_packet_size"),
  max_queued_bytes: int("max_queued_bytes", 0, Number.MAX_SAFE_INTEGER, {
    default: 0,
    doc: "Bytes of payload queued for one client beyond those in flight; 0 = no limit.",
  }),
  max_queued_messages: int("max_queued_messages", 0, Number.MAX_SAFE_INTEGER, {
    default: 1000,
    doc: "Messages queued for one client beyond those in flight; 0 = no limit.",
  }),
  memory_limit: int("memory_limit", 0, Number.MAX_SAFE_INTEGER, {
    default: 0,
    doc: "Bytes of memory the broker may use before it refuses messages; 0 = no limit.",
    support: "different",
    note: "Counts the JavaScript heap in use plus payload buffers (resident memory is higher by " +
      "the runtime's own 20-40 MiB). Over it, a PUBLISH is dropped and its client disconnected " +
      "(5.0: DISCONNECT 0x97 Quota exceeded), and a new connection is refused (CONNACK 0x97; " +
      "3.x: server unavailable), both counted; an empty payload that clears a retained message " +
      "is still accepted.",
  }),
  message_size_limit: int("message_size_limit", 0, 268435455, {
    default: 0,
    doc: "Largest payload accepted, in bytes; 0 = no limit.",
  }),
  persistent_client_expiration: duration("persistent_client_expiration", {
    default: 0,
    doc:
      "Remove persistent 3.x sessions not reconnected within this time (e.g. 14d); unset = never.",
  }),
  pid_file: string<string | undefined>("pid_file", "file path", {
    default: undefined,
    doc: "Write the process id to this file at start, remove it at exit.",
    reload: false,
  }),
  queue_qos0_messages: bool("queue_qos0_messages", {
    default: false,
    doc: "Queue QoS 0 messages for offline persistent sessions too.",
  }),
  retain_available: bool("retain_available", {
    default: true,
    doc: "Support retained messages; false refuses them (5.0 reason 0x9A).",
  }),
  retry_interval: int("retry_interval", 0, U32, {
    default: 20,
    doc: "Seconds before an unacknowledged QoS 1/2 message was resent (removed in Mosquitto 2.0).",
    support: "legacy",
    note: "Midge resends unacknowledged messages when the client reconnects, as MQTT requires, " +
      "never on a timer.",
  }),
  set_tcp_nodelay: bool("set_tcp_nodelay", {
    default: false,
    doc: "Disable Nagle's algorithm on client sockets.",
    support: "different",
    note: "Accepted; Midge already writes once per turn of the event loop, so packets are not " +
      "held back.",
  }),
  store_clean_interval: int("store_clean_interval", 0, U32, {
    default: 10,
    doc: "Seconds between cleanups of Mosquitto's message store (removed in older releases).",
    support: "legacy",
    note: "Midge frees a message as soon as no client holds it.",
  }),
  sys_interval: int("sys_interval", 0, U32, {
    default: 10,
    doc: "Seconds between $SYS updates; 0 disables them.",
    note: "Midge publishes every sys_interval seconds (Mosquitto 2.0.11 every sys_interval + 1).",
  }),
  upgrade_outgoing_qos: bool("upgrade_outgoing_qos", {
    default: false,
    doc: "Send messages at the subscription's QoS even when published at a lower one.",
    support: "pending",
    note:
      "Not built yet (it breaks the MQTT rule that a delivery never exceeds the published QoS).",
  }),
  user: string<string | undefined>("user", "user name", {
    default: undefined,
    doc: "When started as root, the user to run as.",
    support: "different",
    note: "Deno cannot drop privileges: accepted only when it names the user Midge runs as; " +
      "otherwise refused, pointing at User= in the systemd unit (conf/midge.service). " +
      "Mosquitto's default, mosquitto, does not apply: started as root without `user root`, " +
      "Midge logs a warning.",
    reload: false,
  }),
  websockets_headers_size: int("websockets_headers_size", 0, 0xffff, {
    default: 0,
    doc: "libwebsockets' header buffer size (a global option).",
    support: "legacy",
    note: "Ignored: Midge does not use libwebsockets.",
  }),
} as const;
