/**
 * One pass over arguments of mosquitto_pub, mosquitto_sub or mosquitto_rr, option by option,
 * as Mosquitto 2.0.11 reads them: values read with C's `atoi`/`atof`, each option checked as it
 * comes, the first error stops the pass.
 *
 * @module
 */

import { checkFormat } from "./format.ts";
import { parsePropertyArg } from "./client_options_properties.ts";
import {
  ALIASES,
  FLAGS,
  known,
  type MessageSource,
  MISSING,
  type RawConfig,
} from "./client_options_config.ts";
import {
  atof,
  atoi,
  doubleToInt,
  isValidMqttUtf8,
  isValidPublishTopic,
  isValidSubscribeTopic,
  parseMqttUrl,
  parseProxyUrl,
  strtol,
} from "./client_options_values.ts";

/**
 * How a pass ended: all read; `--help` or `--version` seen; an `-o FILE` to read in place
 * (`next` is where to go on); or an error, as the lines Mosquitto prints before the usage hint.
 */
export type PassResult =
  | { kind: "done" }
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "include"; file: string; next: number }
  | { kind: "error"; lines: string[] };

/** An error whose message ends in one newline (then the usage hint). */
const fail1 = (line: string): PassResult => ({ kind: "error", lines: [line] });
/** An error whose message ends in two newlines. */
const fail2 = (line: string): PassResult => ({ kind: "error", lines: [line, ""] });

/** Set the message source of pub or rr; only one may be given. */
function setSource(cfg: RawConfig, source: MessageSource): PassResult | undefined {
  if (cfg.messageSource !== undefined) {
    return fail2("Error: Only one type of message can be sent at once.");
  }
  cfg.messageSource = source;
  return undefined;
}

/** A topic option's UTF-8 check, then its wildcard check. */
function checkTopic(
  value: string,
  what: string,
  valid: (topic: string) => boolean,
  invalid: string,
): PassResult | undefined {
  if (!isValidMqttUtf8(value)) return fail2(`Error: Malformed UTF-8 in ${what} argument.`);
  if (!valid(value)) return fail1(invalid);
  return undefined;
}

const pubTopicError = (t: string) =>
  `Error: Invalid publish topic '${t}', does it contain '+' or '#'?`;
const subTopicError = (kind: string, t: string) =>
  `Error: Invalid ${kind} topic '${t}', are all '+' and '#' wildcards correct?`;

/** `-x`: a number (decimal, 0x hex or 0 octal), -1, 4294967295 or ∞. */
function sessionExpiry(cfg: RawConfig, value: string): PassResult | undefined {
  if (value === "∞") {
    cfg.sessionExpiry = 0xffffffff;
    return undefined;
  }
  const { value: n, end } = strtol(value, 0);
  if (end === 0 || end !== value.length) {
    return fail2("Error: session-expiry-interval not a number.");
  }
  if (n < -1n || n > 0xffffffffn) return fail2("Error: session-expiry-interval out of range.");
  cfg.sessionExpiry = n === -1n ? 0xffffffff : Number(n);
  return undefined;
}

/** `-L`: host, port, credentials and topic from a URL. */
function url(cfg: RawConfig, value: string): PassResult | undefined {
  const parsed = parseMqttUrl(value);
  if (parsed === "scheme") return fail2("Error: unsupported URL scheme.");
  if (parsed === "topic") {
    return fail1("Error: Invalid URL for -L argument specified - topic missing.");
  }
  const topic = parsed.topic;
  if (cfg.tool === "sub") {
    const bad = checkTopic(
      topic,
      "-L topic",
      isValidSubscribeTopic,
      subTopicError("subscription", topic),
    );
    if (bad) return bad;
    cfg.topics.push(topic);
  } else {
    const bad = checkTopic(topic, "-L topic", isValidPublishTopic, pubTopicError(topic));
    if (bad) return bad;
    cfg.topics = [topic];
  }
  if (parsed.username !== undefined) cfg.username = parsed.username;
  if (parsed.password !== undefined) cfg.password = parsed.password;
  cfg.host = parsed.host;
  cfg.port = parsed.port;
  if (parsed.tls) cfg.tlsUseOsCerts = true;
  cfg.websocket = parsed.websocket; // the last -L decides, as it does for the host
  return undefined;
}

/** Apply one flag (an option without a value). */
function flag(cfg: RawConfig, name: string): PassResult | undefined {
  switch (name) {
    case "--help":
      return { kind: "help" };
    case "--version":
      return { kind: "version" };
    case "-c":
      cfg.cleanSession = false;
      break;
    case "-d":
      cfg.debug = true;
      break;
    case "-E":
      cfg.exitAfterSubscribe = true;
      break;
    case "--insecure":
      cfg.insecure = true;
      break;
    case "-l":
      return setSource(cfg, "stdin-line");
    case "-n":
      return setSource(cfg, "null");
    case "-s":
      return setSource(cfg, "stdin-file");
    case "-N":
      cfg.eol = false;
      break;
    case "--nodelay":
      cfg.nodelay = true;
      break;
    case "--pretty":
      cfg.pretty = true;
      break;
    case "--quiet":
      cfg.quiet = true;
      break;
    case "-r":
      cfg.retain = true;
      break;
    case "-R":
      cfg.noRetained = true;
      break;
    case "--remove-retained":
      cfg.removeRetained = true;
      break;
    case "--retained-only":
      cfg.retainedOnly = true;
      break;
    case "--no-local":
      cfg.noLocal = true;
      break;
    case "--retain-as-published":
      cfg.retainAsPublished = true;
      break;
    case "--tls-use-os-certs":
      cfg.tlsUseOsCerts = true;
      break;
    case "-v":
      cfg.verbose = true;
      break;
    case "--will-retain":
      cfg.willRetain = true;
      break;
  }
  return undefined;
}

/** Apply one option that takes a value. */
function valued(cfg: RawConfig, name: string, value: string): PassResult | undefined {
  const tool = cfg.tool;
  switch (name) {
    case "-A":
      cfg.bindAddress = value;
      break;
    case "-C":
      cfg.msgCount = atoi(value);
      if (cfg.msgCount < 1) return fail2(`Error: Invalid message count "${cfg.msgCount}".`);
      break;
    case "--cafile":
      cfg.cafile = value;
      break;
    case "--capath":
      cfg.capath = value;
      break;
    case "--cert":
      cfg.certfile = value;
      break;
    case "--ciphers":
      cfg.ciphers = value;
      break;
    case "-e": {
      const invalid = `Error: Invalid response topic '${value}', does it contain '+' or '#'?`;
      const bad = checkTopic(value, "-e", isValidPublishTopic, invalid);
      if (bad) return bad;
      cfg.responseTopic = value;
      break;
    }
    case "-f":
      cfg.file = value;
      return setSource(cfg, "file");
    case "-F": {
      const problem = checkFormat(value);
      if (problem !== undefined) return fail1(problem);
      cfg.format = value;
      break;
    }
    case "-h":
      cfg.host = value;
      break;
    case "-i":
      if (cfg.idPrefix !== undefined) {
        return fail2("Error: -i and -I argument cannot be used together.");
      }
      cfg.clientId = value;
      break;
    case "-I":
      if (cfg.clientId !== undefined) {
        return fail2("Error: -i and -I argument cannot be used together.");
      }
      cfg.idPrefix = value;
      break;
    case "-k":
      cfg.keepalive = atoi(value);
      if (cfg.keepalive < 5 || cfg.keepalive > 65535) {
        return fail2("Error: Invalid keepalive given, it must be between 5 and 65535 inclusive.");
      }
      break;
    case "--key":
      cfg.keyfile = value;
      break;
    case "--keyform":
      cfg.keyform = value;
      break;
    case "-L":
      return url(cfg, value);
    case "-m":
      cfg.message = new TextEncoder().encode(value);
      return setSource(cfg, "message");
    case "-M":
      cfg.maxInflight = atoi(value);
      if (cfg.maxInflight < 1) {
        return fail2("Error: Maximum inflight messages must be greater than 0.");
      }
      break;
    case "-p":
      cfg.port = atoi(value);
      if (cfg.port < 0 || cfg.port > 65535) return fail1(`Error: Invalid port given: ${cfg.port}`);
      break;
    case "-P":
      cfg.password = value;
      break;
    case "--proxy": {
      const proxy = parseProxyUrl(value);
      if ("error" in proxy) {
        return { kind: "error", lines: proxy.error === "" ? [] : [proxy.error] };
      }
      cfg.proxy = proxy;
      break;
    }
    case "--psk":
      cfg.psk = value;
      break;
    case "--psk-identity":
      cfg.pskIdentity = value;
      break;
    case "-q":
      cfg.qos = atoi(value);
      if (cfg.qos < 0 || cfg.qos > 2) return fail1(`Error: Invalid QoS given: ${cfg.qos}`);
      break;
    case "--retain-handling":
      if (!/^[012]$/.test(value)) {
        return fail2(`Error: --retain-handling must be 0, 1 or 2, not "${value}".`);
      }
      cfg.retainHandling = Number(value) as 0 | 1 | 2;
      break;
    case "--random-filter":
      cfg.randomFilter = doubleToInt(10.0 * atof(value));
      if (cfg.randomFilter < 1 || cfg.randomFilter > 10000) {
        return fail2("Error: --random-filter chance must be between 0.1-100.0");
      }
      break;
    case "--repeat":
      cfg.repeatCount = atoi(value);
      if (cfg.repeatCount < 1) return fail2("Error: --repeat argument must be >0.");
      break;
    case "--repeat-delay":
      cfg.repeatDelay = atof(value);
      if (cfg.repeatDelay < 0) return fail2("Error: --repeat-delay argument must be >=0.0.");
      break;
    case "-t": {
      if (tool === "sub") {
        const bad = checkTopic(
          value,
          "-t",
          isValidSubscribeTopic,
          subTopicError("subscription", value),
        );
        if (bad) return bad;
        cfg.topics.push(value);
      } else {
        const bad = checkTopic(value, "-t", isValidPublishTopic, pubTopicError(value));
        if (bad) return bad;
        cfg.topics = [value];
      }
      break;
    }
    case "-T": {
      const bad = checkTopic(value, "-T", isValidSubscribeTopic, subTopicError("filter", value));
      if (bad) return bad;
      cfg.filterOutTopics.push(value);
      break;
    }
    case "--tls-alpn":
      cfg.tlsAlpn = value;
      break;
    case "--tls-engine":
      cfg.tlsEngine = value;
      break;
    case "--tls-engine-kpass-sha1":
      cfg.tlsEngineKpassSha1 = value;
      break;
    case "--tls-version":
      cfg.tlsVersion = value;
      break;
    case "-u":
      cfg.username = value;
      break;
    case "--unix":
      cfg.host = value;
      cfg.port = 0;
      break;
    case "-U": {
      const invalid = subTopicError("unsubscribe", value);
      const bad = checkTopic(value, "-U", isValidSubscribeTopic, invalid);
      if (bad) return bad;
      cfg.unsubscribeTopics.push(value);
      break;
    }
    case "-V": {
      const version = { "31": 3, mqttv31: 3, "311": 4, mqttv311: 4, "5": 5, mqttv5: 5 }[value];
      if (version === undefined) return fail2("Error: Invalid protocol version argument given.");
      cfg.protocolVersion = version as 3 | 4 | 5;
      break;
    }
    case "-W":
      cfg.timeout = atoi(value);
      if (cfg.timeout < 1) return fail2(`Error: Invalid timeout "${cfg.timeout}".`);
      break;
    case "-x":
      return sessionExpiry(cfg, value);
    case "--will-payload":
      cfg.willPayload = new TextEncoder().encode(value);
      break;
    case "--will-qos":
      cfg.willQos = atoi(value);
      if (cfg.willQos < 0 || cfg.willQos > 2) {
        return fail2(`Error: Invalid will QoS ${cfg.willQos}.`);
      }
      break;
    case "--will-topic": {
      const invalid = `Error: Invalid will topic '${value}', does it contain '+' or '#'?`;
      const bad = checkTopic(value, "--will-topic", isValidPublishTopic, invalid);
      if (bad) return bad;
      cfg.willTopic = value;
      break;
    }
  }
  return undefined;
}

/**
 * Read `args` from `start` into `cfg`. Stops at the end, at the first error, at `--help` or
 * `--version`, or at `-o FILE`, which the caller reads in place before going on at `next`.
 */
export function applyArgs(cfg: RawConfig, args: string[], start = 0): PassResult {
  for (let i = start; i < args.length; i++) {
    const given = args[i];
    const name = ALIASES[given] ?? given;
    if (!known(cfg.tool, name)) return fail1(`Error: Unknown option '${given}'.`);
    if (name === "-D") {
      const result = parsePropertyArg(args.slice(i + 1), cfg.properties);
      if ("error" in result) return { kind: "error", lines: result.error };
      cfg.protocolVersion = 5;
      i += result.consumed;
      continue;
    }
    if (FLAGS.has(name)) {
      const result = flag(cfg, name);
      if (result !== undefined) return result;
      continue;
    }
    if (i + 1 >= args.length) return fail2(`Error: ${MISSING[name]}`);
    const value = args[++i];
    if (name === "-o") return { kind: "include", file: value, next: i + 1 };
    const result = valued(cfg, name, value);
    if (result !== undefined) return result;
  }
  return { kind: "done" };
}
