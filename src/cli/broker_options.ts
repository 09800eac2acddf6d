/**
 * From a validated configuration to the broker's runtime options, and which of them a reload
 * (SIGHUP) may change.
 *
 * @module
 */

import type {
  BrokerOptions,
  ListenerOptions,
  ListenerSecurity,
  PasswordVerifier,
} from "../broker/options.ts";
import { defaultBrokerOptions } from "../broker/options.ts";
import type { Config, ListenerConfig, SecurityConfig } from "../config/options.ts";
import type { Logger } from "../log/logger.ts";
import type { LoadedSecurity, SecurityFiles } from "./security_files.ts";

/** The listeners of local-only mode (no listener configured): loopback, IPv4 and IPv6. */
export function localOnlyListeners(port: number): ListenerOptions[] {
  return [{ port, host: "127.0.0.1" }, { port, host: "::1", optional: true }];
}

function listenerSecurity(security: SecurityConfig, files: SecurityFiles): ListenerSecurity {
  return {
    allowAnonymous: security.allow_anonymous,
    allowZeroLengthClientId: security.allow_zero_length_clientid,
    autoIdPrefix: security.auto_id_prefix,
    passwordFile: files.passwordFile,
    aclFile: files.aclFile,
  };
}

function listenerOptions(l: ListenerConfig, files: SecurityFiles): ListenerOptions {
  return {
    port: l.port,
    host: l.bind_address,
    socketDomain: l.socket_domain,
    maxConnections: l.max_connections,
    useUsernameAsClientId: l.use_username_as_clientid,
    maxConnectionRate: l.max_connection_rate,
    maxTopicAlias: l.max_topic_alias,
    security: listenerSecurity(l.security, files),
  };
}

/** Whether a configured listener serves HTTP rather than MQTT. */
export function isHttpListener(l: ListenerConfig): boolean {
  return l.protocol === "http";
}

/**
 * The options `config` gives the broker, logging to `logger`, with the password and ACL files
 * it names already loaded (`loadSecurityFiles`). Its listeners are the MQTT ones; the
 * `protocol http` listeners are `httpListenersFromConfig`'s.
 */
export function brokerOptionsFromConfig(
  config: Config,
  logger: Logger,
  files: LoadedSecurity,
): BrokerOptions {
  const options = defaultBrokerOptions();
  options.logger = logger;
  options.listeners = config.listeners.length === 0
    ? localOnlyListeners(1883)
    : config.listeners.flatMap((l, i) =>
      isHttpListener(l) ? [] : [listenerOptions(l, files.listeners[i])]
    );
  applyReloadable(options, config, files);
  return options;
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

/** A reload: the HTTP listeners check the password files `files` now holds. */
export function applyHttpReloadable(
  http: readonly HttpListenerOptions[],
  config: Config,
  files: LoadedSecurity,
): void {
  let j = 0;
  config.listeners.forEach((l, i) => {
    if (!isHttpListener(l)) return;
    const listener = http[j++];
    if (listener !== undefined) listener.passwords = files.listeners[i].passwordFile;
  });
}

/**
 * The options a reload changes in place, as Mosquitto reloads them: limits and queues,
 * client id rules and anonymous access (per listener too). Listeners themselves stay.
 */
export function applyReloadable(
  options: BrokerOptions,
  config: Config,
  files: LoadedSecurity,
): void {
  const g = config.general;
  options.maxInflightMessages = g.max_inflight_messages;
  options.maxQueuedMessages = g.max_queued_messages;
  options.maxQueuedBytes = g.max_queued_bytes;
  options.queueQos0Messages = g.queue_qos0_messages;
  options.maxPacketSize = g.max_packet_size;
  options.messageSizeLimit = g.message_size_limit;
  options.memoryLimit = g.memory_limit;
  options.maxKeepalive = g.max_keepalive;
  options.retainAvailable = g.retain_available;
  options.checkRetainSource = g.check_retain_source;
  options.persistentClientExpiration = g.persistent_client_expiration;
  options.allowAnonymous = config.security.allow_anonymous;
  options.allowZeroLengthClientId = config.security.allow_zero_length_clientid;
  options.autoIdPrefix = config.security.auto_id_prefix;
  options.clientIdPrefixes = config.security.clientid_prefixes;
  options.passwordFile = files.global.passwordFile;
  options.aclFile = files.global.aclFile;
  options.sysInterval = g.sys_interval;
  let j = 0;
  config.listeners.forEach((l, i) => {
    if (isHttpListener(l)) return;
    const listener = options.listeners[j++];
    if (listener !== undefined) {
      listener.security = listenerSecurity(l.security, files.listeners[i]);
    }
  });
}
