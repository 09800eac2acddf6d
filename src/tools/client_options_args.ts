/**
 * One pass over arguments of mosquitto_pub, mosquitto_sub or mosquitto_rr, option by option,
 * as Mosquitto 2.0.11 reads them: values read with C's `atoi`/`atof`, each option checked as it
 * comes, the first error stops the pass.
 *
 * @module
 */

import type { ProtocolVersion, QoS } from "../codec/types.ts";
import { checkFormat } from "./format.ts";
import { parsePropertyArg } from "./client_options_properties.ts";
import { ALIASES, FLAGS, known, MISSING } from "./client_options_config.ts";
import type { ClientOptions, MessageSource, OptionsDraft } from "./client_options_shape.ts";
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
function setSource(options: ClientOptions, source: MessageSource): PassResult | undefined {
  if (options.messageSource !== undefined) {
    return fail2("Error: Only one type of message can be sent at once.");
  }
  options.messageSource = source;
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
function sessionExpiry(options: ClientOptions, value: string): PassResult | undefined {
  if (value === "∞") {
    options.sessionExpiryInterval = 0xffffffff;
    return undefined;
  }
  const { value: n, end } = strtol(value, 0);
  if (end === 0 || end !== value.length) {
    return fail2("Error: session-expiry-interval not a number.");
  }
  if (n < -1n || n > 0xffffffffn) return fail2("Error: session-expiry-interval out of range.");
  options.sessionExpiryInterval = n === -1n ? 0xffffffff : Number(n);
  return undefined;
}

/** `-L`: host, port, credentials and topic from a URL. */
function url(options: ClientOptions, value: string): PassResult | undefined {
  const parsed = parseMqttUrl(value);
  if (parsed === "scheme") return fail2("Error: unsupported URL scheme.");
  if (parsed === "topic") {
    return fail1("Error: Invalid URL for -L argument specified - topic missing.");
  }
  const topic = parsed.topic;
  if (options.tool === "sub") {
    const bad = checkTopic(
      topic,
      "-L topic",
      isValidSubscribeTopic,
      subTopicError("subscription", topic),
    );
    if (bad) return bad;
    options.topics.push(topic);
  } else {
    const bad = checkTopic(topic, "-L topic", isValidPublishTopic, pubTopicError(topic));
    if (bad) return bad;
    options.topics = [topic];
  }
  if (parsed.username !== undefined) options.username = parsed.username;
  if (parsed.password !== undefined) options.password = parsed.password;
  options.host = parsed.host;
  options.port = parsed.port;
  if (parsed.tls) options.tls.useOsCerts = true;
  // the last -L decides, as it does for the host
  if (parsed.websocket) options.websocket = true;
  else delete options.websocket;
  return undefined;
}

/** Apply one flag (an option without a value). */
function flag(draft: OptionsDraft, name: string): PassResult | undefined {
  const options = draft.options;
  switch (name) {
    case "--help":
      return { kind: "help" };
    case "--version":
      return { kind: "version" };
    case "-c":
      options.cleanSession = false;
      break;
    case "-d":
      options.debug = true;
      break;
    case "-E":
      options.exitAfterSubscribe = true;
      break;
    case "--insecure":
      options.tls.insecure = true;
      break;
    case "-l":
      return setSource(options, "stdin-line");
    case "-n":
      options.message = new Uint8Array();
      return setSource(options, "null");
    case "-s":
      return setSource(options, "stdin-file");
    case "-N":
      options.eol = false;
      break;
    case "--nodelay":
      options.nodelay = true;
      break;
    case "--pretty":
      options.pretty = true;
      break;
    case "--quiet":
      options.quiet = true;
      break;
    case "-r":
      options.retain = true;
      break;
    case "-R":
      options.noRetained = true;
      break;
    case "--remove-retained":
      options.removeRetained = true;
      break;
    case "--retained-only":
      options.retainedOnly = true;
      break;
    case "--no-local":
      options.noLocal = true;
      break;
    case "--retain-as-published":
      options.retainAsPublished = true;
      break;
    case "--tls-use-os-certs":
      options.tls.useOsCerts = true;
      break;
    case "-v":
      options.verbose = true;
      break;
    case "--will-retain":
      draft.will.retain = true;
      break;
  }
  return undefined;
}

/** Apply one option that takes a value. */
function valued(draft: OptionsDraft, name: string, value: string): PassResult | undefined {
  const options = draft.options;
  const tool = options.tool;
  switch (name) {
    case "-A":
      options.bindAddress = value;
      break;
    case "-C":
      options.msgCount = atoi(value);
      if (options.msgCount < 1) return fail2(`Error: Invalid message count "${options.msgCount}".`);
      break;
    case "--cafile":
      options.tls.cafile = value;
      break;
    case "--capath":
      options.tls.capath = value;
      break;
    case "--cert":
      options.tls.certfile = value;
      break;
    case "--ciphers":
      options.tls.ciphers = value;
      break;
    case "-e": {
      const invalid = `Error: Invalid response topic '${value}', does it contain '+' or '#'?`;
      const bad = checkTopic(value, "-e", isValidPublishTopic, invalid);
      if (bad) return bad;
      options.responseTopic = value;
      break;
    }
    case "-f":
      options.file = value;
      return setSource(options, "file");
    case "-F": {
      const problem = checkFormat(value);
      if (problem !== undefined) return fail1(problem);
      options.format = value;
      break;
    }
    case "-h":
      options.host = value;
      break;
    case "-i":
      if (options.idPrefix !== undefined) {
        return fail2("Error: -i and -I argument cannot be used together.");
      }
      options.clientId = value;
      break;
    case "-I":
      if (options.clientId !== undefined) {
        return fail2("Error: -i and -I argument cannot be used together.");
      }
      options.idPrefix = value;
      break;
    case "-k":
      options.keepalive = atoi(value);
      if (options.keepalive < 5 || options.keepalive > 65535) {
        return fail2("Error: Invalid keepalive given, it must be between 5 and 65535 inclusive.");
      }
      break;
    case "--key":
      options.tls.keyfile = value;
      break;
    case "--keyform":
      options.tls.keyform = value;
      break;
    case "-L":
      return url(options, value);
    case "-m":
      options.message = new TextEncoder().encode(value);
      return setSource(options, "message");
    case "-M":
      options.maxInflight = atoi(value);
      if (options.maxInflight < 1) {
        return fail2("Error: Maximum inflight messages must be greater than 0.");
      }
      break;
    case "-p":
      options.port = atoi(value);
      if (options.port < 0 || options.port > 65535) {
        return fail1(`Error: Invalid port given: ${options.port}`);
      }
      break;
    case "-P":
      options.password = value;
      break;
    case "--proxy": {
      const proxy = parseProxyUrl(value);
      if ("error" in proxy) {
        return { kind: "error", lines: proxy.error === "" ? [] : [proxy.error] };
      }
      options.proxy = proxy;
      break;
    }
    case "--psk":
      options.tls.psk = value;
      break;
    case "--psk-identity":
      options.tls.pskIdentity = value;
      break;
    case "-q": {
      const qos = atoi(value);
      if (qos < 0 || qos > 2) return fail1(`Error: Invalid QoS given: ${qos}`);
      options.qos = qos as QoS;
      break;
    }
    case "--retain-handling":
      if (!/^[012]$/.test(value)) {
        return fail2(`Error: --retain-handling must be 0, 1 or 2, not "${value}".`);
      }
      options.retainHandling = Number(value) as 0 | 1 | 2;
      break;
    case "--random-filter": {
      const tenths = doubleToInt(10.0 * atof(value)); // Mosquitto's unit: tenths of a percent
      if (tenths < 1 || tenths > 10000) {
        return fail2("Error: --random-filter chance must be between 0.1-100.0");
      }
      options.randomFilter = tenths / 10;
      break;
    }
    case "--repeat":
      options.repeatCount = atoi(value);
      if (options.repeatCount < 1) return fail2("Error: --repeat argument must be >0.");
      break;
    case "--repeat-delay":
      options.repeatDelay = atof(value);
      if (options.repeatDelay < 0) return fail2("Error: --repeat-delay argument must be >=0.0.");
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
        options.topics.push(value);
      } else {
        const bad = checkTopic(value, "-t", isValidPublishTopic, pubTopicError(value));
        if (bad) return bad;
        options.topics = [value];
      }
      break;
    }
    case "-T": {
      const bad = checkTopic(value, "-T", isValidSubscribeTopic, subTopicError("filter", value));
      if (bad) return bad;
      options.filterOutTopics.push(value);
      break;
    }
    case "--tls-alpn":
      options.tls.alpn = value;
      break;
    case "--tls-engine":
      options.tls.engine = value;
      break;
    case "--tls-engine-kpass-sha1":
      options.tls.engineKpassSha1 = value;
      break;
    case "--tls-version":
      options.tls.version = value;
      break;
    case "-u":
      options.username = value;
      break;
    case "--unix":
      options.host = value;
      options.port = 0;
      break;
    case "-U": {
      const invalid = subTopicError("unsubscribe", value);
      const bad = checkTopic(value, "-U", isValidSubscribeTopic, invalid);
      if (bad) return bad;
      options.unsubscribeTopics.push(value);
      break;
    }
    case "-V": {
      const version = { "31": 3, mqttv31: 3, "311": 4, mqttv311: 4, "5": 5, mqttv5: 5 }[value];
      if (version === undefined) return fail2("Error: Invalid protocol version argument given.");
      options.protocolVersion = version as ProtocolVersion;
      break;
    }
    case "-W":
      options.timeout = atoi(value);
      if (options.timeout < 1) return fail2(`Error: Invalid timeout "${options.timeout}".`);
      break;
    case "-x":
      return sessionExpiry(options, value);
    case "--will-payload":
      draft.will.payload = new TextEncoder().encode(value);
      break;
    case "--will-qos": {
      const qos = atoi(value);
      if (qos < 0 || qos > 2) return fail2(`Error: Invalid will QoS ${qos}.`);
      draft.will.qos = qos as QoS;
      break;
    }
    case "--will-topic": {
      const invalid = `Error: Invalid will topic '${value}', does it contain '+' or '#'?`;
      const bad = checkTopic(value, "--will-topic", isValidPublishTopic, invalid);
      if (bad) return bad;
      draft.will.topic = value;
      break;
    }
  }
  return undefined;
}

/**
 * Read `args` from `start` into `draft`. Stops at the end, at the first error, at `--help` or
 * `--version`, or at `-o FILE`, which the caller reads in place before going on at `next`.
 */
export function applyArgs(draft: OptionsDraft, args: string[], start = 0): PassResult {
  for (let i = start; i < args.length; i++) {
    const given = args[i];
    const name = ALIASES[given] ?? given;
    if (!known(draft.options.tool, name)) return fail1(`Error: Unknown option '${given}'.`);
    if (name === "-D") {
      const result = parsePropertyArg(args.slice(i + 1), draft.propertyLists);
      if ("error" in result) return { kind: "error", lines: result.error };
      draft.options.protocolVersion = 5;
      i += result.consumed;
      continue;
    }
    if (FLAGS.has(name)) {
      const result = flag(draft, name);
      if (result !== undefined) return result;
      continue;
    }
    if (i + 1 >= args.length) return fail2(`Error: ${MISSING[name]}`);
    const value = args[++i];
    if (name === "-o") return { kind: "include", file: value, next: i + 1 };
    const result = valued(draft, name, value);
    if (result !== undefined) return result;
  }
  return { kind: "done" };
}
