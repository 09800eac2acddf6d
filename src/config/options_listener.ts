/**
 * `[[listener]]`: one network listener each. In mosquitto.conf a `listener PORT [ADDRESS]`
 * line starts one and the listener options after it belong to it.
 *
 * @module
 */

import { bool, int, oneOf, optionalInt, string, words } from "./schema.ts";

const NO_OPENSSL = "Deno's TLS is not OpenSSL: it has no engines, keys come from PEM files.";
const TLS_FILES_RELOAD = "Re-read on SIGHUP (also when the path is unchanged); connected " +
  "clients keep their connection.";

/** A listener's TLS file path (PEM), re-read on SIGHUP. */
function tlsFile(name: string, kind: string, doc: string) {
  return string<string | undefined>(name, kind, {
    default: undefined,
    doc,
    note: TLS_FILES_RELOAD,
    reload: true,
  });
}

/** A TLS setting Midge cannot honour: any value is refused at start, with `why`. */
function tlsRefused(name: string, kind: string, doc: string, why: string) {
  return string<string | undefined>(name, kind, {
    default: undefined,
    doc,
    support: "refused",
    note: why,
    reload: false,
  });
}

/** `[[listener]]` options. */
export const LISTENER_OPTIONS = {
  port: optionalInt("port", 0, 65535, {
    default: undefined,
    doc: "Port to listen on (required); 0 = a Unix socket at the path bind_address names.",
    reload: false,
  }),
  bind_address: string<string | undefined>("bind_address", "IP address or host name", {
    default: undefined,
    doc: "Address to listen on; unset = every address. With port 0: the Unix socket's path.",
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
    doc: "Files served over plain HTTP GET by a WebSocket listener (no directory listing).",
    reload: false,
  }),
  websockets_max_frame_size: int("websockets_max_frame_size", 16, 0x7fffffff, {
    default: 1_048_576,
    doc: "Midge only: the largest WebSocket frame (or fragmented message) a client of a " +
      "websockets listener may send, in bytes; a larger one closes it with 1009.",
    reload: false,
  }),
  enable_proxy_protocol: int("enable_proxy_protocol", 0, 2, {
    default: 0,
    doc: "PROXY protocol version (1 or 2) every connection to this listener starts with, " +
      "sent by the load balancer in front; 0 = none. Logs, ACL patterns and the HTTP API " +
      "then see the client address it passes on.",
    note: "Mosquitto 2.1's option (2.0 has none). A connection without a valid header of " +
      "that version is closed. On a TLS listener the header comes before the handshake.",
    reload: false,
  }),
  max_connections: int("max_connections", -1, 0x7fffffff, {
    default: -1,
    doc: "Clients connected through this listener at once; -1 = no limit.",
    reload: false,
  }),
  max_qos: int("max_qos", 0, 2, {
    default: 2,
    doc: "Highest QoS clients of this listener may use: told in CONNACK (5.0), subscriptions " +
      "granted at most this, a PUBLISH or will above it refused (5.0: 0x9B).",
    note: "Mosquitto's maximum_qos is read as max_qos. As in Mosquitto, a 3.x client " +
      "publishing above it is disconnected.",
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
    note: "Joined as written (no / added). ACL checks, wills, retained messages and other " +
      "listeners see the mounted topic; its clients see nothing outside it ($SYS included). " +
      "$share/GROUP/FILTER gets it before FILTER. A + or # in it is refused. Mosquitto " +
      "2.0.11 leaves it on what it sends and puts it before $share; Midge does neither.",
    reload: false,
  }),
  protocol: oneOf("protocol", ["mqtt", "websockets", "http"], {
    default: "mqtt",
    doc: "mqtt (TCP), websockets, or http (Midge only: metrics, health, JSON API, status page).",
    note: "websockets: the mqtt and mqttv3.1 subprotocols, any path, ws or wss (with " +
      "certfile). http is Midge's own: Prometheus metrics, a health " +
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
  cafile: tlsFile("cafile", "file path", "CA certificates trusted for client certificates (PEM)."),
  capath: tlsFile("capath", "directory", "Directory of CA certificates (PEM files)."),
  certfile: tlsFile(
    "certfile",
    "file path",
    "The server certificate (PEM); with keyfile, makes the listener TLS (mqtts or wss).",
  ),
  ciphers: tlsRefused(
    "ciphers",
    "cipher:list",
    "TLS 1.2 ciphers allowed.",
    "Deno's TLS does not let a server choose its ciphers (it offers only AEAD suites with " +
      "forward secrecy).",
  ),
  "ciphers_tls1.3": tlsRefused(
    "ciphers_tls1.3",
    "cipher:list",
    "TLS 1.3 cipher suites allowed.",
    "Deno's TLS does not let a server choose its TLS 1.3 suites.",
  ),
  crlfile: tlsFile(
    "crlfile",
    "file path",
    "Certificate revocation lists (PEM or DER); a client certificate on one is refused.",
  ),
  dhparamfile: tlsRefused(
    "dhparamfile",
    "file path",
    "Diffie-Hellman parameters (PEM).",
    "Deno's TLS has no finite-field Diffie-Hellman suites (it uses elliptic curves).",
  ),
  keyfile: tlsFile("keyfile", "file path", "The server's private key (PEM)."),
  require_certificate: bool("require_certificate", {
    default: false,
    doc: "Clients must present a certificate signed by cafile/capath.",
    reload: false,
  }),
  tls_engine: tlsRefused("tls_engine", "engine id", "OpenSSL engine.", NO_OPENSSL),
  tls_engine_kpass_sha1: tlsRefused(
    "tls_engine_kpass_sha1",
    "hex",
    "OpenSSL engine key password.",
    NO_OPENSSL,
  ),
  tls_keyform: oneOf("tls_keyform", ["pem", "engine"], {
    default: "pem",
    doc: "Form of keyfile.",
    support: "pending",
    note: NO_OPENSSL,
    reload: false,
  }),
  tls_version: oneOf("tls_version", ["tlsv1.3", "tlsv1.2", "tlsv1.1"], {
    default: undefined,
    doc: "Lowest TLS version accepted; unset = TLS 1.2.",
    note: "Deno's TLS has no TLS 1.1: tlsv1.1 accepts what tlsv1.2 does.",
    reload: false,
  }),
  use_identity_as_username: bool("use_identity_as_username", {
    default: false,
    doc: "Use the client certificate's CN as username (no password check); a client " +
      "without a certificate is refused.",
    reload: false,
  }),
  use_subject_as_username: bool("use_subject_as_username", {
    default: false,
    doc: 'Use the client certificate\'s subject ("CN=dev1,O=acme") as username.',
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
