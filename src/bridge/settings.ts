/**
 * One bridge's settings, as the runtime uses them: a `[[bridge]]` / `connection` block's values
 * with Mosquitto 2.0's defaults resolved (client ids, notification topic, restart timing) and
 * its addresses read into hosts and ports.
 *
 * @module
 */

import type { BridgeTopic } from "../config/bridge_topic.ts";
import type { BridgeConfig } from "../config/options.ts";
import type { RestartTimeout } from "../config/options_bridge.ts";
import type { ProtocolVersion } from "../codec/mod.ts";

/** Port of an address that names none, as in Mosquitto. */
const DEFAULT_PORT = 1883;

/** `restart_timeout` when unset: Mosquitto 2.0's backoff from 5 s up to 30 s. */
const DEFAULT_RESTART: RestartTimeout = { kind: "backoff", base: 5, cap: 30 };

/** One remote broker to try. */
export interface BridgeAddress {
  /** Host name or IP address. */
  readonly host: string;
  /** TCP port. */
  readonly port: number;
}

/** TLS toward the remote broker (`bridge_cafile` and the rest). */
export interface BridgeTls {
  /** PEM file of trusted CAs. */
  readonly cafile?: string;
  /** Folder of PEM CA files. */
  readonly capath?: string;
  /** Client certificate (PEM). */
  readonly certfile?: string;
  /** Its private key (PEM). */
  readonly keyfile?: string;
  /** Do not check the remote certificate's host name. */
  readonly insecure: boolean;
  /** `bridge_tls_version`: the only TLS version spoken (tlsv1.3, tlsv1.2, tlsv1.1). */
  readonly version?: "TLSv1.3" | "TLSv1.2" | "TLSv1.1";
  /** ALPN protocol. */
  readonly alpn?: string;
}

/** What a running bridge needs to know. */
export interface BridgeSettings {
  /** `connection NAME`. */
  readonly name: string;
  /** Remote brokers, in the configured order. */
  readonly addresses: readonly BridgeAddress[];
  /** Move on to the next address after each connection, rather than back to the first. */
  readonly roundRobin: boolean;
  /** Client id on the remote broker (default `HOSTNAME.NAME`). */
  readonly remoteClientId: string;
  /** Client id of the bridge's session on this broker (default `local.REMOTE_CLIENTID`). */
  readonly localClientId: string;
  /** User name on the remote broker. */
  readonly remoteUsername?: string;
  /** Password on the remote broker. */
  readonly remotePassword?: string;
  /** User name on this broker: the bridge is then checked as that user (password, ACL). */
  readonly localUsername?: string;
  /** Its password. */
  readonly localPassword?: string;
  /** Clean session on the remote broker. */
  readonly cleanSession: boolean;
  /** Clean session on this broker: nothing is kept for the bridge while it is down. */
  readonly localCleanSession: boolean;
  /** Keep alive toward the remote broker (seconds). */
  readonly keepAlive: number;
  /** How long to wait before connecting again. */
  readonly restart: RestartTimeout;
  /** When the bridge connects. */
  readonly startType: "automatic" | "lazy" | "once";
  /** Lazy: seconds without messages before the link is closed. */
  readonly idleTimeout: number;
  /** Lazy: messages waiting that start the link. */
  readonly threshold: number;
  /** Publish the link's state ("1" up, "0" down) on `notificationTopic`. */
  readonly notifications: boolean;
  /** Publish it on this broker only. */
  readonly notificationsLocalOnly: boolean;
  /** Where the state is published (default `$SYS/broker/connection/REMOTE_CLIENTID/state`). */
  readonly notificationTopic: string;
  /** Tell a Mosquitto remote that this client is a bridge (3.1, 3.1.1). */
  readonly tryPrivate: boolean;
  /** Protocol spoken to the remote broker. */
  readonly protocolVersion: ProtocolVersion;
  /** Keep the retain flag on messages sent out. */
  readonly outgoingRetain: boolean;
  /** Largest packet accepted from the remote broker (5.0); 0 = no limit. */
  readonly maxPacketSize: number;
  /** Unsubscribe on the remote broker from topics that are only sent out. */
  readonly attemptUnsubscribe: boolean;
  /** Local address to connect from. */
  readonly bindAddress?: string;
  /** TLS, when a CA or capath is set. */
  readonly tls?: BridgeTls;
  /** The shared topics. */
  readonly topics: readonly BridgeTopic[];
  /** QoS 1/2 messages kept for the remote broker while the link is down. */
  readonly queueLimit: number;
}

const VERSIONS: Readonly<Record<string, ProtocolVersion>> = {
  mqttv31: 3,
  mqttv311: 4,
  mqttv50: 5,
};

const TLS_VERSIONS: Readonly<Record<string, BridgeTls["version"]>> = {
  "tlsv1.3": "TLSv1.3",
  "tlsv1.2": "TLSv1.2",
  "tlsv1.1": "TLSv1.1",
};

/** The settings of the bridge `config`; `hostname` names this machine in default client ids. */
export function bridgeSettings(config: BridgeConfig, hostname: string): BridgeSettings {
  const name = config.connection ?? "bridge";
  const remoteClientId = config.remote_clientid ?? config.clientid ?? `${hostname}.${name}`;
  return {
    name,
    addresses: [...config.address, ...config.addresses].flatMap((line) =>
      line.split(/\s+/).filter((word) => word !== "").map(parseAddress)
    ),
    roundRobin: config.round_robin,
    remoteClientId,
    localClientId: config.local_clientid ?? `local.${remoteClientId}`,
    remoteUsername: config.remote_username ?? config.username,
    remotePassword: config.remote_password ?? config.password,
    localUsername: config.local_username,
    localPassword: config.local_password,
    cleanSession: config.cleansession,
    localCleanSession: config.local_cleansession ?? config.cleansession,
    keepAlive: config.keepalive_interval,
    restart: config.restart_timeout ?? DEFAULT_RESTART,
    startType: config.start_type as BridgeSettings["startType"],
    idleTimeout: config.idle_timeout,
    threshold: config.threshold,
    notifications: config.notifications,
    notificationsLocalOnly: config.notifications_local_only,
    notificationTopic: config.notification_topic ??
      `$SYS/broker/connection/${remoteClientId}/state`,
    tryPrivate: config.try_private,
    protocolVersion: VERSIONS[config.bridge_protocol_version] ?? 4,
    outgoingRetain: config.bridge_outgoing_retain,
    maxPacketSize: config.bridge_max_packet_size,
    attemptUnsubscribe: config.bridge_attempt_unsubscribe,
    bindAddress: config.bridge_bind_address,
    tls: tlsOf(config),
    topics: config.topic,
    queueLimit: config.bridge_max_queued_messages,
  };
}

/** `host`, `host:port`, `[v6]:port` or a bare IPv6 address. */
function parseAddress(word: string): BridgeAddress {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(word);
  if (bracketed !== null) {
    return { host: bracketed[1], port: Number(bracketed[2] ?? DEFAULT_PORT) };
  }
  const colons = word.split(":").length - 1;
  if (colons === 1) {
    const [host, port] = word.split(":");
    return { host, port: Number(port) };
  }
  return { host: word, port: DEFAULT_PORT };
}

function tlsOf(config: BridgeConfig): BridgeTls | undefined {
  if (config.bridge_cafile === undefined && config.bridge_capath === undefined) return undefined;
  return {
    cafile: config.bridge_cafile,
    capath: config.bridge_capath,
    certfile: config.bridge_certfile,
    keyfile: config.bridge_keyfile,
    insecure: config.bridge_insecure,
    version: config.bridge_tls_version === undefined
      ? undefined
      : TLS_VERSIONS[config.bridge_tls_version],
    alpn: config.bridge_alpn,
  };
}
