/**
 * The one shape of the client tools' options, `ClientOptions`: the tools' settings before any
 * option (`newDraft`), filled in place while the options are read, then resolved (`finishDraft`):
 * the port chosen, TLS decided, the will and the `-D` properties assembled.
 *
 * @module
 */

import type { Properties, ProtocolVersion, QoS } from "../codec/types.ts";
import {
  emptyPropertyLists,
  type PropertyCommand,
  type PropertyLists,
  toProperties,
} from "./client_options_properties.ts";
import type { ProxyOptions } from "./client_options_values.ts";

/** The three client tools. */
export type ToolName = "pub" | "sub" | "rr";

/** Where a pub or rr message comes from: `-m`, `-f`, `-l`, `-s` or `-n`. */
export type MessageSource = "message" | "file" | "stdin-line" | "stdin-file" | "null";

/** TLS settings, kept as given; the command decides what it can honour. */
export interface TlsOptions {
  /** `--cafile`: PEM file of CA certificates to trust. */
  cafile?: string;
  /** `--capath`: directory of CA certificates to trust. */
  capath?: string;
  /** `--cert`: client certificate (PEM). */
  certfile?: string;
  /** `--key`: client private key (PEM). */
  keyfile?: string;
  /** `--keyform`: "pem" or "engine" (any case; anything else fails when TLS is set up). */
  keyform?: string;
  /** `--tls-version`: tlsv1.3, tlsv1.2 or tlsv1.1. */
  version?: string;
  /** `--tls-alpn`: ALPN protocol. */
  alpn?: string;
  /** `--ciphers`: OpenSSL cipher list. */
  ciphers?: string;
  /** `--tls-engine`: OpenSSL engine id. */
  engine?: string;
  /** `--tls-engine-kpass-sha1`: SHA-1 of the engine key password, hex. */
  engineKpassSha1?: string;
  /** `--insecure`: do not check the server's host name. */
  insecure: boolean;
  /**
   * Trust the system's CA certificates: `--tls-use-os-certs`, `-L mqtts://...`, or port 8883
   * with no `--cafile`, `--capath` or `--psk` (as Mosquitto does).
   */
  useOsCerts: boolean;
  /** `--psk`: pre-shared key in hex (Deno has no TLS-PSK: the command refuses it). */
  psk?: string;
  /** `--psk-identity`. */
  pskIdentity?: string;
}

/** `-D` properties by packet, each `undefined` when none were given. */
export interface CommandProperties {
  /** CONNECT properties, `-x` included. */
  connect?: Properties;
  /** PUBLISH properties (pub, rr). */
  publish?: Properties;
  /** SUBSCRIBE properties (sub, rr). */
  subscribe?: Properties;
  /** UNSUBSCRIBE properties (sub). */
  unsubscribe?: Properties;
  /** DISCONNECT properties. */
  disconnect?: Properties;
  /** Will properties. */
  will?: Properties;
}

/** The will from `--will-topic`, `--will-payload`, `--will-qos`, `--will-retain`. */
export interface WillOptions {
  /** Will topic (may be empty: Mosquitto then fails when it connects). */
  topic: string;
  /** Will payload, empty by default. */
  payload: Uint8Array;
  /** Will QoS. */
  qos: QoS;
  /** Will retain flag. */
  retain: boolean;
}

/** Everything the options of pub, sub and rr say, with the tools' defaults. */
export interface ClientOptions {
  /** Which tool these options are for. */
  tool: ToolName;
  /** The name the tool was run as, for messages (`mosquitto_pub`, ...). */
  program: string;
  /** Broker host ("localhost"); the socket path when `unixSocket` is set. */
  host: string;
  /**
   * Broker port: `-p`/`-L`, else 8883 with `--cafile`/`--capath`/`--psk`, else 1883. While the
   * options are read, `UNSET_PORT` until `-p`, `-L` or `--unix` sets it.
   */
  port: number;
  /** Unix socket path: set when the port is 0 (`--unix PATH`, or `-p 0`, as in Mosquitto). */
  unixSocket?: string;
  /** Whether to use TLS: any of cafile, capath, psk or OS certificates (see `tls`). */
  useTls: boolean;
  /** `-A`: local address to bind to. */
  bindAddress?: string;
  /** `-u`. */
  username?: string;
  /** `-P`. */
  password?: string;
  /** `-i`, as given. Unset: v3.1 generates `mosq-` + 18 characters, v3.1.1/v5 send "". */
  clientId?: string;
  /** `-I`: the client id is this prefix followed by the process id. */
  idPrefix?: string;
  /** `-k`, 5-65535, default 60. */
  keepalive: number;
  /** `-V` (31 → 3, 311 → 4, 5 → 5); `-D` makes it 5; default 4 (rr: 5). */
  protocolVersion: ProtocolVersion;
  /** False with `-c`. */
  cleanSession: boolean;
  /**
   * Session expiry interval sent in CONNECT (v5 only, also in `properties.connect`): `-x`, or
   * 4294967295 for `-c` without `-x`; undefined when none is sent. While the options are read,
   * `-x` as given, with -1 and ∞ turned into 4294967295.
   */
  sessionExpiryInterval?: number;
  /** `-M`: maximum QoS 1/2 messages in flight, default 20. */
  maxInflight: number;
  /** `-d`. */
  debug: boolean;
  /** `--quiet`: no run-time error messages. */
  quiet: boolean;
  /** `--nodelay`. */
  nodelay: boolean;
  /** The will, when `--will-topic` was given. */
  will?: WillOptions;
  /** TLS settings. */
  tls: TlsOptions;
  /** `--proxy`: a SOCKS5 proxy. */
  proxy?: ProxyOptions;
  /**
   * `-L ws://...` or `-L wss://...` (a Midge extension): MQTT over a WebSocket to `host` and
   * `port`, path "/mqtt"; wss when `useTls` (so `--cafile` makes it wss, as it makes mqtt TLS).
   * Absent for plain MQTT.
   */
  websocket?: true;
  /** `-D` properties (and `-x`). */
  properties: CommandProperties;
  /** `-q`: QoS to publish (pub, rr) or subscribe (sub) with. */
  qos: QoS;
  /** pub, rr: the one topic (`-t` or `-L`, last wins); sub: every filter, in order. */
  topics: string[];
  /** pub, rr: where the message comes from. */
  messageSource?: MessageSource;
  /**
   * The message: `-m` (UTF-8), `-n` (empty); for pub also `-f` and `-s`, loaded while parsing
   * as Mosquitto loads them before its last check. rr's `-f`/`-s` are left to the command.
   */
  message?: Uint8Array;
  /** `-f`: the file named. */
  file?: string;
  /** pub `-r`. */
  retain: boolean;
  /** pub `--repeat`, default 1. */
  repeatCount: number;
  /** pub `--repeat-delay` in seconds (a float), default 0. */
  repeatDelay: number;
  /** sub `-U`. */
  unsubscribeTopics: string[];
  /** sub `-T`. */
  filterOutTopics: string[];
  /** sub, rr `-v`. */
  verbose: boolean;
  /** False with `-N`. */
  eol: boolean;
  /** sub, rr `-F`, already checked. */
  format?: string;
  /** sub `-C`; 0 for no limit. */
  msgCount: number;
  /** sub, rr `-W` in seconds; 0 for none. */
  timeout: number;
  /** `-R`: do not print retained messages. */
  noRetained: boolean;
  /** sub `--retained-only`. */
  retainedOnly: boolean;
  /** sub `--remove-retained`. */
  removeRetained: boolean;
  /** sub `--random-filter` in percent, in steps of 0.1; 100 when not given. */
  randomFilter: number;
  /** `--retain-as-published`. */
  retainAsPublished: boolean;
  /** sub `--no-local` (v5; beyond Mosquitto 2.0.11's tools): not our own messages. */
  noLocal: boolean;
  /**
   * sub `--retain-handling` (v5; beyond Mosquitto 2.0.11's tools): 0 retained messages on
   * every subscribe, 1 only on a new subscription, 2 none.
   */
  retainHandling: 0 | 1 | 2;
  /** sub `-E`. */
  exitAfterSubscribe: boolean;
  /** `--pretty`. */
  pretty: boolean;
  /** rr `-e`. */
  responseTopic?: string;
}

/** The port while no option has set it (Mosquitto's -1). */
export const UNSET_PORT = -1;

/**
 * Options being read: the options themselves, filled in place, and what Mosquitto's checks
 * need that the finished options do not keep.
 */
export interface OptionsDraft {
  /** The options so far; `finishDraft` resolves them. */
  options: ClientOptions;
  /** `-D` properties in the order given, duplicates included, checked once all are read. */
  propertyLists: PropertyLists;
  /** The will options given so far; there is a will only when its topic is given. */
  will: Partial<WillOptions>;
}

/** The settings of `tool` before any option, as its messages call it (`program`). */
export function newDraft(tool: ToolName, program: string): OptionsDraft {
  const options: ClientOptions = {
    tool,
    program,
    host: "localhost",
    port: UNSET_PORT,
    useTls: false,
    keepalive: 60,
    protocolVersion: tool === "rr" ? 5 : 4,
    cleanSession: true,
    maxInflight: 20,
    debug: false,
    quiet: false,
    nodelay: false,
    tls: { insecure: false, useOsCerts: false },
    properties: {},
    qos: 0,
    topics: [],
    retain: false,
    repeatCount: 1,
    repeatDelay: 0,
    unsubscribeTopics: [],
    filterOutTopics: [],
    verbose: false,
    eol: true,
    msgCount: 0,
    timeout: 0,
    noRetained: false,
    retainedOnly: false,
    removeRetained: false,
    randomFilter: 100,
    retainAsPublished: false,
    noLocal: false,
    retainHandling: 0,
    exitAfterSubscribe: false,
    pretty: false,
  };
  return { options, propertyLists: emptyPropertyLists(), will: {} };
}

/**
 * The options of a fully read and checked draft: the port Mosquitto picks when none was given,
 * whether TLS is used, the Unix socket, the session expiry only where it is sent, the will and
 * the `-D` properties by packet.
 */
export function finishDraft(draft: OptionsDraft): ClientOptions {
  const { options, will } = draft;
  const tls = options.tls;
  const secure = tls.cafile !== undefined || tls.capath !== undefined || tls.psk !== undefined;
  if (options.port === UNSET_PORT) options.port = secure ? 8883 : 1883;
  if (options.port === 8883 && !secure) tls.useOsCerts = true;
  options.useTls = secure || tls.useOsCerts;
  if (options.port === 0) options.unixSocket = options.host;
  if (options.protocolVersion !== 5 || !((options.sessionExpiryInterval ?? 0) > 0)) {
    delete options.sessionExpiryInterval;
  }
  if (will.topic !== undefined) {
    options.will = {
      topic: will.topic,
      payload: will.payload ?? new Uint8Array(),
      qos: will.qos ?? 0,
      retain: will.retain ?? false,
    };
  }
  for (const command of Object.keys(draft.propertyLists) as PropertyCommand[]) {
    const properties = toProperties(draft.propertyLists[command]);
    if (properties !== undefined) options.properties[command] = properties;
  }
  return options;
}
