/**
 * The command lines of `pub`, `sub` and `rr`, read exactly as Mosquitto 2.0.11's mosquitto_pub,
 * mosquitto_sub and mosquitto_rr read theirs: the default options file first
 * (`$XDG_CONFIG_HOME/mosquitto_pub` or `$HOME/.config/mosquitto_pub`, ...), then the
 * arguments, the same checks in the same order, the same error lines and exit code (1, also
 * for `--help`). Midge adds `-o FILE`, which reads more options from a file in place.
 *
 * @module
 */

import type { Properties, ProtocolVersion, QoS } from "../codec/types.ts";
import { applyArgs } from "./client_options_args.ts";
import {
  initialConfig,
  type MessageSource,
  type RawConfig,
  type ToolName,
} from "./client_options_config.ts";
import { defaultOptionsFile, type OptionsFileEnv, readOptionsFile } from "./client_options_file.ts";
import { checkLoaded, checkTool, type ReadStdin, refusal } from "./client_options_checks.ts";
import { toProperties } from "./client_options_properties.ts";
import { usageLines, versionLine } from "./client_options_usage.ts";
import type { ProxyOptions } from "./client_options_values.ts";

export type { MessageSource, ProxyOptions, ToolName };

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
  /** Broker port: `-p`/`-L`, else 8883 with `--cafile`/`--capath`/`--psk`, else 1883. */
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
   * 4294967295 for `-c` without `-x`; undefined when none is sent.
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
  websocket?: boolean;
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

/**
 * What parsing gave: options, or what to print and the exit code. `stdout` and `stderr` are
 * lines, each to be written followed by "\n".
 */
export type ParsedArgs =
  | { ok: true; options: ClientOptions }
  | { ok: false; exitCode: number; stderr: string[]; stdout: string[] };

/** The environment parsing reads; every field has a default from the process. */
export interface ParseEnv extends OptionsFileEnv {
  /** Program name in messages; default `mosquitto_<tool>`. */
  program?: string;
  /** Read all of standard input (pub `-s`); default `Deno.stdin`. */
  readStdin?: ReadStdin;
}

/** How deep `-o` files may include each other. */
const MAX_INCLUDE_DEPTH = 10;

type Failure = Extract<ParsedArgs, { ok: false }>;

/** Read `args` into `cfg`, reading `-o` files in place; undefined when all went well. */
async function applyAll(
  cfg: RawConfig,
  args: string[],
  program: string,
  depth = 0,
): Promise<Failure | undefined> {
  const hint = ["", `Use '${program} --help' to see usage.`];
  for (let start = 0;;) {
    const result = applyArgs(cfg, args, start);
    switch (result.kind) {
      case "done":
        return undefined;
      case "help":
        return refusal([], usageLines(cfg.tool, program));
      case "version":
        return refusal([], [versionLine(program)]);
      case "error":
        return refusal([...result.lines, ...hint]);
      case "include": {
        const lines = depth < MAX_INCLUDE_DEPTH ? await readOptionsFile(result.file) : undefined;
        if (lines === undefined) {
          return refusal([`Error: Unable to read options file "${result.file}".`, "", ...hint]);
        }
        for (const line of lines) {
          const nested = await applyAll(cfg, line, program, depth + 1);
          if (nested !== undefined) return nested;
        }
        start = result.next;
      }
    }
  }
}

/** `object` without its undefined fields, so that absent options are absent keys. */
function withoutUndefined<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as T;
}

/** The options a fully read and checked configuration gives. */
function toOptions(cfg: RawConfig, program: string): ClientOptions {
  const secure = cfg.cafile !== undefined || cfg.capath !== undefined || cfg.psk !== undefined;
  const port = cfg.port !== -1 ? cfg.port : secure ? 8883 : 1883;
  const useOsCerts = cfg.tlsUseOsCerts || (port === 8883 && !secure);
  const lists = cfg.properties;
  const properties: CommandProperties = {};
  for (const command of Object.keys(lists) as (keyof CommandProperties)[]) {
    const list = toProperties(lists[command]);
    if (list !== undefined) properties[command] = list;
  }
  const options: ClientOptions = {
    tool: cfg.tool,
    program,
    host: cfg.host ?? "localhost",
    port,
    useTls: secure || useOsCerts,
    keepalive: cfg.keepalive,
    protocolVersion: cfg.protocolVersion,
    cleanSession: cfg.cleanSession,
    maxInflight: cfg.maxInflight,
    debug: cfg.debug,
    quiet: cfg.quiet,
    nodelay: cfg.nodelay,
    tls: withoutUndefined({
      cafile: cfg.cafile,
      capath: cfg.capath,
      certfile: cfg.certfile,
      keyfile: cfg.keyfile,
      keyform: cfg.keyform,
      version: cfg.tlsVersion,
      alpn: cfg.tlsAlpn,
      ciphers: cfg.ciphers,
      engine: cfg.tlsEngine,
      engineKpassSha1: cfg.tlsEngineKpassSha1,
      insecure: cfg.insecure,
      useOsCerts,
      psk: cfg.psk,
      pskIdentity: cfg.pskIdentity,
    }),
    properties,
    qos: cfg.qos as QoS,
    topics: cfg.topics,
    retain: cfg.retain,
    repeatCount: cfg.repeatCount,
    repeatDelay: cfg.repeatDelay,
    unsubscribeTopics: cfg.unsubscribeTopics,
    filterOutTopics: cfg.filterOutTopics,
    verbose: cfg.verbose,
    eol: cfg.eol,
    msgCount: cfg.msgCount,
    timeout: cfg.timeout,
    noRetained: cfg.noRetained,
    retainedOnly: cfg.retainedOnly,
    removeRetained: cfg.removeRetained,
    randomFilter: cfg.randomFilter / 10,
    retainAsPublished: cfg.retainAsPublished,
    noLocal: cfg.noLocal,
    retainHandling: cfg.retainHandling,
    exitAfterSubscribe: cfg.exitAfterSubscribe,
    pretty: cfg.pretty,
  };
  return Object.assign(
    options,
    withoutUndefined<Partial<ClientOptions>>({
      unixSocket: port === 0 ? options.host : undefined,
      bindAddress: cfg.bindAddress,
      username: cfg.username,
      password: cfg.password,
      clientId: cfg.clientId,
      idPrefix: cfg.idPrefix,
      sessionExpiryInterval: cfg.protocolVersion === 5 && (cfg.sessionExpiry ?? 0) > 0
        ? cfg.sessionExpiry
        : undefined,
      proxy: cfg.proxy,
      websocket: cfg.websocket ? true : undefined,
      messageSource: cfg.messageSource,
      message: cfg.messageSource === "null" ? new Uint8Array() : cfg.message,
      file: cfg.file,
      format: cfg.format,
      responseTopic: cfg.responseTopic,
      will: cfg.willTopic === undefined ? undefined : {
        topic: cfg.willTopic,
        payload: cfg.willPayload ?? new Uint8Array(),
        qos: cfg.willQos as QoS,
        retain: cfg.willRetain,
      },
    }),
  );
}

/** `env` with `home` and `xdgConfigHome` taken from the process where `env` lacks the key. */
function withProcessEnv(env: ParseEnv): ParseEnv {
  const read = (name: string) => {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined; // no --allow-env: as if unset
    }
  };
  return {
    ...env,
    home: "home" in env ? env.home : read("HOME"),
    xdgConfigHome: "xdgConfigHome" in env ? env.xdgConfigHome : read("XDG_CONFIG_HOME"),
  };
}

/**
 * Parse the arguments of `tool` (without the program name) as Mosquitto 2.0.11's client
 * tools do: the default options file first, then `args`. The file is picked by
 * `env.xdgConfigHome` and `env.home`; a key missing from `env` is read from the process
 * environment, a key present with `undefined` counts as unset. Reads pub's `-f` file or `-s`
 * input (`env.readStdin`).
 *
 * @example
 * ```ts
 * const parsed = await parseClientArgs("sub", ["-t", "a/#", "-v"], {});
 * if (parsed.ok) console.log(parsed.options.topics); // ["a/#"]
 * ```
 */
export async function parseClientArgs(
  tool: ToolName,
  args: string[],
  env?: ParseEnv,
): Promise<ParsedArgs> {
  const environment = withProcessEnv(env ?? {});
  const program = environment.program ?? `mosquitto_${tool}`;
  const cfg = initialConfig(tool);
  const defaultFile = defaultOptionsFile(`mosquitto_${tool}`, environment);
  const fileArgs = defaultFile === undefined ? undefined : await readOptionsFile(defaultFile);
  for (const line of fileArgs ?? []) {
    const failed = await applyAll(cfg, line, program);
    if (failed !== undefined) return failed;
  }
  const failed = await applyAll(cfg, args, program);
  if (failed !== undefined) return failed;
  const problem = checkLoaded(cfg);
  if (problem !== undefined) {
    return refusal([problem, "", `Use '${program} --help' to see usage.`]);
  }
  const toolProblem = await checkTool(cfg, program, environment.readStdin);
  if (toolProblem !== undefined) return toolProblem;
  return { ok: true, options: toOptions(cfg, program) };
}
