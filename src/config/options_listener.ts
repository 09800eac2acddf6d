/**
 * `[[listener]]`: one network listener each. In mosquitto.conf a `listener PORT [ADDRESS]`
 * line starts one and the listener options after it belong to it.
 *
 * @module
 */

import { bool, int, oneOf, optionalInt, string, words } from "./schema.ts";

const NO_TLS = "Midge has no TLS listeners yet; refusing is safer than listening in plain text.";

function tls(name: string, kind: string, doc: string) {
  return string<string | undefined>(name, kind, {
    default: undefined,
    doc,
    support: "pending",
    note: NO_TLS,
    reload: false,
  });
}

/** `[[listener]]` options. */
export const LISTENER_OPTIONS = {
  port: optionalInt("port", 1, 65535, {
    default: undefined,
    doc: "Port to listen on (required).",
    reload: false,
  }),
  bind_address: string<string | undefined>("bind_address", "IP address or host name", {
    default: undefined,
    doc: "Address to listen on; unset = every address.",
    reload: false,
  }),
  bind_interface: string<string | undefined>("bind_interface", "interface name", {
    default: undefined,
    doc: "Listen on this network interface only.",
    support: "pending",
    note: "Deno cannot bind to an interface; use bind_address with the interface's address.",
    reload: false,
  }),
  http_dir: string<string | undefined>("http_dir", "directory", {
    default: undefined,
    doc: "Files served over HTTP by a WebSocket listener.",
    support: "pending",
    note: "Midge has no WebSocket listeners yet.",
    reload: false,
  }),
  max_connections: int("max_connections", -1, 0x7fffffff, {
    default: -1,
    doc: "Clients connected through this listener at once; -1 = no limit.",
    reload: false,
  }),
  max_qos: int("max_qos", 0, 2, {
    default: 2,
    doc: "Highest QoS clients of this listener may use.",
    support: "pending",
    note: "Not built yet.",
    reload: false,
  }),
  max_topic_alias: int("max_topic_alias", 0, 65535, {
    default: 10,
    doc: "Topic aliases a 5.0 client of this listener may set; 0 = none.",
    reload: false,
  }),
  mount_point: string<string | undefined>("mount_point", "topic prefix", {
    default: undefined,
    doc: "Prefix added to every topic of this listener's clients, removed on delivery.",
    support: "pending",
    note: "Not built yet; refusing is safer than mixing clients that were meant to be apart.",
    reload: false,
  }),
  protocol: oneOf("protocol", ["mqtt", "websockets", "http"], {
    default: "mqtt",
    doc: "mqtt (TCP), websockets, or http (Midge only: metrics, health, JSON API, status page).",
    note: "websockets is not built yet. http is Midge's own: Prometheus metrics, a health " +
      "check, a JSON API and a status page (README, HTTP listener), behind basic auth with " +
      "the password_file unless http_open = true.",
    reload: false,
  }),
  socket_domain: oneOf("socket_domain", ["ipv4", "ipv6"], {
    default: undefined,
    doc: "Listen on IPv4 or IPv6 only; unset = both.",
    reload: false,
  }),
  use_username_as_clientid: bool("use_username_as_clientid", {
    default: false,
    doc: "Replace each client's id with its username; clients without one are refused.",
    reload: false,
  }),
  http_open: bool("http_open", {
    default: false,
    doc: "Midge only: serve this protocol http listener without a password (anyone who can " +
      "reach it sees the clients and the metrics).",
    note: "Midge only (Mosquitto has no HTTP listener); true is refused on a listener whose " +
      "protocol is not http.",
    reload: false,
  }),
  http_users: words("http_users", "user names (several)", {
    default: [],
    doc: "Midge only: the users of the password_file who may use this protocol http " +
      "listener; the others get 403. Unset = every user of the password_file.",
    note: "Midge only. Unset, every user who can log in to MQTT can also read every client, " +
      "username and subscription over HTTP: a warning at start says so.",
    reload: false,
  }),
  http_max_connections: int("http_max_connections", 1, 1_000_000, {
    default: 100,
    doc: "Midge only: connections a protocol http listener holds open at once; more are " +
      "closed as they arrive.",
    reload: false,
  }),
  http_timeout: int("http_timeout", 1, 3600, {
    default: 10,
    doc: "Midge only: seconds an HTTP client has to send each request's headers, and to read " +
      "each answer; then its connection is closed.",
    reload: false,
  }),
  max_connection_rate: int("max_connection_rate", 0, 1_000_000, {
    default: 0,
    doc: "Midge only: new connections per second one address may open here; 0 = no limit.",
    reload: false,
  }),
  cafile: tls("cafile", "file path", "CA certificates trusted for client certificates (PEM)."),
  capath: tls("capath", "directory", "Directory of CA certificates (PEM)."),
  certfile: tls(
    "certfile",
    "file path",
    "The server certificate (PEM); with keyfile, enables TLS.",
  ),
  ciphers: tls("ciphers", "cipher:list", "TLS 1.2 ciphers allowed."),
  "ciphers_tls1.3": tls("ciphers_tls1.3", "cipher:list", "TLS 1.3 cipher suites allowed."),
  crlfile: tls("crlfile", "file path", "Certificate revocation list (PEM)."),
  dhparamfile: tls("dhparamfile", "file path", "Diffie-Hellman parameters (PEM)."),
  keyfile: tls("keyfile", "file path", "The server's private key (PEM)."),
  require_certificate: bool("require_certificate", {
    default: false,
    doc: "Clients must present a certificate signed by cafile/capath.",
    support: "pending",
    note: NO_TLS,
    reload: false,
  }),
  tls_engine: tls("tls_engine", "engine id", "OpenSSL engine."),
  tls_engine_kpass_sha1: tls("tls_engine_kpass_sha1", "hex", "OpenSSL engine key password."),
  tls_keyform: oneOf("tls_keyform", ["pem", "engine"], {
    default: "pem",
    doc: "Form of keyfile.",
    support: "pending",
    note: NO_TLS,
    reload: false,
  }),
  tls_version: tls("tls_version", "tlsv1.3 | tlsv1.2 | tlsv1.1", "Lowest TLS version accepted."),
  use_identity_as_username: bool("use_identity_as_username", {
    default: false,
    doc: "Use the client certificate's CN (or PSK identity) as username.",
    support: "pending",
    note: NO_TLS,
    reload: false,
  }),
  use_subject_as_username: bool("use_subject_as_username", {
    default: false,
    doc: "Use the client certificate's subject as username.",
    support: "pending",
    note: NO_TLS,
    reload: false,
  }),
  psk_hint: string<string | undefined>("psk_hint", "string", {
    default: undefined,
    doc: "Enables TLS-PSK on this listener with this hint.",
    support: "refused",
    note: "Deno's TLS has no pre-shared-key support.",
    reload: false,
  }),
} as const;
