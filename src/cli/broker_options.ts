/**
 * From a validated configuration to the broker's runtime options (one frozen value, built the
 * same way at start and at each reload) and to the HTTP listeners' options.
 *
 * @module
 */

import type {
  BrokerOptions,
  ListenerOptions,
  ListenerSecurity,
  PasswordVerifier,
} from "../broker/options.ts";
import type { QoS } from "../codec/mod.ts";
import { defaultBrokerOptions } from "../broker/options.ts";
import { matchListeners } from "../broker/reconfigure.ts";
import type { TlsListenSettings } from "../transport/tls_listen.ts";
import type { Config, ListenerConfig, SecurityConfig } from "../config/options.ts";
import type { Logger } from "../log/logger.ts";
import type { LoadedSecurity, SecurityFiles } from "./security_files.ts";

/** The listeners of local-only mode (no listener configured): loopback, IPv4 and IPv6. */
function localOnlyListeners(port: number): ListenerOptions[] {
  return [
    Object.freeze({ port, host: "127.0.0.1" }),
    Object.freeze({ port, host: "::1", optional: true }),
  ];
}

function listenerSecurityOf(security: SecurityConfig, files: SecurityFiles): ListenerSecurity {
  return {
    allowAnonymous: security.allow_anonymous,
    allowZeroLengthClientId: security.allow_zero_length_clientid,
    autoIdPrefix: security.auto_id_prefix,
    passwordFile: files.passwordFile,
    aclFile: files.aclFile,
  };
}

function listenerOptions(l: ListenerConfig): ListenerOptions {
  const unix = l.port === 0;
  return Object.freeze({
    port: l.port,
    host: unix ? undefined : l.bind_address,
    socketPath: unix ? l.bind_address : undefined,
    tls: tlsSettings(l),
    certificateUsername: l.use_identity_as_username
      ? "commonName" as const
      : l.use_subject_as_username
      ? "subject" as const
      : undefined,
    websockets: l.protocol === "websockets"
      ? { httpDir: l.http_dir, maxFrameSize: l.websockets_max_frame_size }
      : undefined,
    proxyProtocol: proxyVersion(l),
    socketDomain: l.socket_domain,
    maxConnections: l.max_connections,
    useUsernameAsClientId: l.use_username_as_clientid,
    maxConnectionRate: l.max_connection_rate,
    maxTopicAlias: l.max_topic_alias,
    maxQos: l.max_qos as QoS,
    mountPoint: l.mount_point,
  });
}

/** The TLS files and settings of a listener with `certfile` and `keyfile`. */
export function tlsSettings(l: ListenerConfig): TlsListenSettings | undefined {
  if (l.certfile === undefined || l.keyfile === undefined) return undefined;
  return Object.freeze({
    certfile: l.certfile,
    keyfile: l.keyfile,
    cafile: l.cafile,
    capath: l.capath,
    crlfile: l.crlfile,
    tlsVersion: l.tls_version,
    requireCertificate: l.require_certificate,
    proxyProtocol: proxyVersion(l),
  });
}

/** `enable_proxy_protocol` of a listener: the PROXY version, or undefined for none. */
function proxyVersion(l: ListenerConfig): 1 | 2 | undefined {
  return l.enable_proxy_protocol === 0 ? undefined : l.enable_proxy_protocol as 1 | 2;
}

/** Whether a configured listener serves HTTP rather than MQTT. */
export function isHttpListener(l: ListenerConfig): boolean {
  return l.protocol === "http";
}

/** What the broker's options take besides the configuration. */
export interface BrokerOptionsSources {
  /** The logger. */
  logger: Logger;
  /** The password and ACL files the configuration names, loaded (`loadSecurityFiles`). */
  files: LoadedSecurity;
  /** The port of local-only mode (no listener configured; `-p`): 1883 when unset. */
  localPort?: number;
}

/**
 * The options `config` gives the broker, one frozen value, at start and at each reload. Its
 * listeners are the MQTT ones; the `protocol http` listeners are `httpListenersFromConfig`'s.
 */
export function brokerOptionsFromConfig(
  config: Config,
  { logger, files, localPort = 1883 }: BrokerOptionsSources,
): BrokerOptions {
  const g = config.general;
  const listenerSecurity = new Map<ListenerOptions, ListenerSecurity>();
  const listeners = config.listeners.length === 0
    ? localOnlyListeners(localPort)
    : config.listeners.flatMap((l, i) => {
      if (isHttpListener(l)) return [];
      const listener = listenerOptions(l);
      listenerSecurity.set(listener, listenerSecurityOf(l.security, files.listeners[i]));
      return [listener];
    });
  return Object.freeze({
    ...defaultBrokerOptions(),
    logger,
    listeners,
    listenerSecurity,
    maxInflightMessages: g.max_inflight_messages,
    maxQueuedMessages: g.max_queued_messages,
    maxQueuedBytes: g.max_queued_bytes,
    queueQos0Messages: g.queue_qos0_messages,
    maxPacketSize: g.max_packet_size,
    messageSizeLimit: g.message_size_limit,
    memoryLimit: g.memory_limit,
    maxKeepalive: g.max_keepalive,
    retainAvailable: g.retain_available,
    checkRetainSource: g.check_retain_source,
    allowDuplicateMessages: g.allow_duplicate_messages,
    persistentClientExpiration: g.persistent_client_expiration,
    allowAnonymous: config.security.allow_anonymous,
    allowZeroLengthClientId: config.security.allow_zero_length_clientid,
    autoIdPrefix: config.security.auto_id_prefix,
    clientIdPrefixes: config.security.clientid_prefixes,
    passwordFile: files.global.passwordFile,
    aclFile: files.global.aclFile,
    sysInterval: g.sys_interval,
  });
}

/** One `protocol http` listener. */
export interface HttpListenerOptions {
  /** Port. */
  port: number;
  /** Addresses to try in turn: the bind_address, or every address ("::", then "0.0.0.0"). */
  hostnames: string[];
  /** `http_open`: no credentials needed. */
  open: boolean;
  /** The password file its basic auth checks (a reload replaces it). */
  passwords: PasswordVerifier | undefined;
  /** `http_users`: the users of the password file let in; undefined = all of them. */
  users: ReadonlySet<string> | undefined;
  /** `http_max_connections`. */
  maxConnections: number;
  /** `http_timeout`, in milliseconds. */
  timeoutMs: number;
}

/** The `protocol http` listeners of `config`, with the password files already loaded. */
export function httpListenersFromConfig(
  config: Config,
  files: LoadedSecurity,
): HttpListenerOptions[] {
  return config.listeners.flatMap((l, i) => {
    if (!isHttpListener(l)) return [];
    const hostnames = l.bind_address !== undefined
      ? [l.bind_address]
      : l.socket_domain === "ipv4"
      ? ["0.0.0.0"]
      : l.socket_domain === "ipv6"
      ? ["::"]
      : ["::", "0.0.0.0"];
    return [{
      port: l.port,
      hostnames,
      open: l.http_open,
      passwords: files.listeners[i].passwordFile,
      users: l.http_users.length === 0 ? undefined : new Set(l.http_users),
      maxConnections: l.http_max_connections,
      timeoutMs: l.http_timeout * 1000,
    }];
  });
}

/**
 * A reload: each running HTTP listener checks the password file its match in `next` names
 * (matched by port and addresses; one without a match keeps its own until a restart).
 */
export function applyHttpReloadable(
  http: readonly HttpListenerOptions[],
  next: readonly HttpListenerOptions[],
): void {
  const identity = (l: HttpListenerOptions) => `${l.hostnames.join(",")} ${l.port}`;
  for (const [listener, match] of matchListeners(http, next, identity).kept) {
    listener.passwords = match.passwords;
  }
}
