/**
 * The broker's runtime options, named after Mosquitto's and defaulting to Mosquitto 2.0's
 * values. The configuration loader fills them from a file; tests build them directly.
 *
 * @module
 */

import type { QoS } from "../codec/mod.ts";
import { Logger } from "../log/logger.ts";
import type { TlsListenSettings } from "../transport/tls_listen.ts";

/** Checks a username and password (`password_file`). */
export interface PasswordVerifier {
  /** Whether `password` is `username`'s; resolves to why not. */
  verify(
    username: string,
    password: Uint8Array | undefined,
  ): Promise<"ok" | "unknown user" | "bad password">;
}

/** What a client may do with a topic (`acl_file`). */
export interface TopicAuthorizer {
  /** Whether the client may read or write topic name `topic`. */
  allows(
    client: { clientId: string; username?: string },
    topic: string,
    action: "read" | "write",
  ): boolean;
}

/** Who may connect through a listener; unset fields take the broker-wide value. */
export interface ListenerSecurity {
  /** `allow_anonymous`: clients without a username may connect. */
  readonly allowAnonymous?: boolean;
  /** `allow_zero_length_clientid`. */
  readonly allowZeroLengthClientId?: boolean;
  /** `auto_id_prefix`. */
  readonly autoIdPrefix?: string;
  /** `password_file`. */
  readonly passwordFile?: PasswordVerifier;
  /** `acl_file`. */
  readonly aclFile?: TopicAuthorizer;
}

/** What a `protocol websockets` listener does besides MQTT. */
export interface WebSocketListening {
  /** `http_dir`: files answered to plain HTTP GETs. */
  readonly httpDir?: string;
  /** `websockets_max_frame_size`: the largest frame (or fragmented message) accepted. */
  readonly maxFrameSize: number;
}

/** One MQTT listener: TCP or a Unix socket, plain or TLS, MQTT or MQTT over WebSockets. */
export interface ListenerOptions {
  /** Port; 0 picks a free one (tests). */
  readonly port: number;
  /**
   * Address to bind; undefined binds every address (IPv6 and IPv4 where the host has IPv6,
   * else IPv4).
   */
  readonly host?: string;
  /** `socket_domain`: with no host, bind every address of this family only. */
  readonly socketDomain?: "ipv4" | "ipv6";
  /** A listener the broker may run without (the default ::1 on a host without IPv6). */
  readonly optional?: boolean;
  /** `max_connections`: clients connected through this listener at once; -1 = no limit. */
  readonly maxConnections?: number;
  /** `use_username_as_clientid`: the client id is the username (none: refused). */
  readonly useUsernameAsClientId?: boolean;
  /** `max_connection_rate`: new connections per second from one address; 0 = no limit. */
  readonly maxConnectionRate?: number;
  /** `max_topic_alias` of this listener (else the broker-wide value). */
  readonly maxTopicAlias?: number;
  /** `max_qos`: the highest QoS this listener's clients may use; undefined = 2. */
  readonly maxQos?: QoS;
  /**
   * `mount_point`: prefix of every topic this listener's clients use, taken off what they
   * receive (mount_point.ts).
   */
  readonly mountPoint?: string;
  /** `listener 0 PATH`: a Unix socket at this path (no host, no port). */
  readonly socketPath?: string;
  /** `certfile` and `keyfile` set: TLS, with these files (read again on reload). */
  readonly tls?: TlsListenSettings;
  /**
   * `use_identity_as_username` ("commonName") or `use_subject_as_username` ("subject"): the
   * client certificate names the user, and no password is checked.
   */
  readonly certificateUsername?: "commonName" | "subject";
  /** `protocol websockets`: MQTT inside WebSocket frames. */
  readonly websockets?: WebSocketListening;
  /** `enable_proxy_protocol`: every connection starts with a PROXY header of this version. */
  readonly proxyProtocol?: 1 | 2;
  /**
   * Not a listener: the broker's end of one of its own bridges (`Broker.attachBridge`). It has
   * its own queue bound and no in-flight bound but the one its client announces.
   */
  readonly bridge?: BridgeEnd;
}

/** What the broker knows of one of its own bridges' connections. */
export interface BridgeEnd {
  /** The bridge's name (`connection NAME`). */
  readonly name: string;
  /** QoS 1/2 messages its session may queue while the link is down (store and forward). */
  readonly queueLimit: number;
  /**
   * No password check and no ACL (no `local_username`). With one, the bridge is checked as
   * that user against the broker-wide password file and ACL.
   */
  readonly trusted: boolean;
}

/** Everything the broker core reads. */
export interface BrokerOptions {
  /**
   * Listeners to open. Each object is its listener's identity while the broker runs: a reload
   * keeps the open ones (`reconfigure`), and connections, sessions and messages point at them.
   */
  readonly listeners: readonly ListenerOptions[];
  /** Each listener's own security (`per_listener_settings`), which a reload may replace. */
  readonly listenerSecurity?: ReadonlyMap<ListenerOptions, ListenerSecurity>;
  /** `max_inflight_messages`: QoS 1/2 messages in flight per client; 0 = no limit. */
  readonly maxInflightMessages: number;
  /** `max_queued_messages`: QoS 1/2 messages queued per client beyond those in flight. */
  readonly maxQueuedMessages: number;
  /** `max_queued_bytes`: bytes of payload queued per client; 0 = no limit. */
  readonly maxQueuedBytes: number;
  /** `queue_qos0_messages`: queue QoS 0 messages for offline persistent sessions. */
  readonly queueQos0Messages: boolean;
  /** `max_packet_size`: largest packet accepted from clients, in bytes; 0 = no limit. */
  readonly maxPacketSize: number;
  /** `message_size_limit`: largest payload accepted; 0 = no limit. */
  readonly messageSizeLimit: number;
  /** `memory_limit`: bytes the broker may hold before it refuses PUBLISH; 0 = no limit. */
  readonly memoryLimit: number;
  /** `max_topic_alias`: topic aliases accepted from each 5.0 client. */
  readonly maxTopicAlias: number;
  /** `max_keepalive`: largest keep alive allowed; clients asking more get server keep alive. */
  readonly maxKeepalive: number;
  /** `retain_available`: whether retained messages are supported. */
  readonly retainAvailable: boolean;
  /** `persistent_client_expiration` in seconds for 3.x persistent sessions; 0 = never. */
  readonly persistentClientExpiration: number;
  /** `auto_id_prefix`: prefix of assigned client ids. */
  readonly autoIdPrefix: string;
  /** `allow_anonymous`: clients without a username may connect. */
  readonly allowAnonymous: boolean;
  /** `clientid_prefixes`: only client ids starting with it may connect. */
  readonly clientIdPrefixes?: string;
  /** `password_file`: usernames and passwords; undefined lets nobody in on a username alone. */
  readonly passwordFile?: PasswordVerifier;
  /** `acl_file`: topic access; undefined grants everything (but writing to `$SYS`). */
  readonly aclFile?: TopicAuthorizer;
  /** `check_retain_source`: a retained message goes out only while its publisher may write it. */
  readonly checkRetainSource: boolean;
  /**
   * `allow_duplicate_messages`: a 3.1 or 3.1.1 client gets a copy per matching subscription,
   * as 5.0 clients always do (false: one copy, at the highest QoS).
   */
  readonly allowDuplicateMessages: boolean;
  /** `allow_zero_length_clientid`: assign an id to clients that send an empty one. */
  readonly allowZeroLengthClientId: boolean;
  /** Milliseconds a new socket has to send CONNECT. */
  readonly connectTimeoutMs: number;
  /** Bytes of unsent output a connection may hold before its QoS 0 messages are dropped. */
  readonly maxOutputBytes: number;
  /** `sys_interval`: seconds between `$SYS` updates; 0 publishes no `$SYS` values. */
  readonly sysInterval: number;
  /** The logger. */
  readonly logger: Logger;
}

/** The security `listener` has of its own under `options` (none: the broker-wide one). */
export function securityOf(
  options: BrokerOptions,
  listener: ListenerOptions | undefined,
): ListenerSecurity | undefined {
  return listener === undefined ? undefined : options.listenerSecurity?.get(listener);
}

/**
 * Mosquitto 2.0's defaults, with one local-only listener on port 1883, except `sysInterval`:
 * 0 here, so that a broker built in code (a test) publishes no `$SYS` values unless asked (the
 * configuration's default is Mosquitto's 10).
 */
export function defaultBrokerOptions(): BrokerOptions {
  return {
    listeners: [{ port: 1883, host: "127.0.0.1" }, { port: 1883, host: "::1", optional: true }],
    maxInflightMessages: 20,
    maxQueuedMessages: 1000,
    maxQueuedBytes: 0,
    queueQos0Messages: false,
    maxPacketSize: 0,
    messageSizeLimit: 0,
    memoryLimit: 0,
    maxTopicAlias: 10,
    maxKeepalive: 65535,
    retainAvailable: true,
    checkRetainSource: true,
    allowDuplicateMessages: false,
    persistentClientExpiration: 0,
    autoIdPrefix: "auto-",
    allowAnonymous: true,
    allowZeroLengthClientId: true,
    connectTimeoutMs: 10_000,
    maxOutputBytes: 16 * 1024 * 1024,
    sysInterval: 0,
    logger: new Logger(),
  };
}
