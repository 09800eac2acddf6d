/**
 * The checks Mosquitto's client tools make after reading their options and before connecting,
 * in their order: first those of the shared option reader (will, TLS, PSK, session, topics,
 * properties), then each tool's own (pub loads `-f`/`-s`; sub's `-R` with `--retained-only`;
 * rr's response topic), then what libmosquitto refuses in the client id, user name and
 * password.
 *
 * @module
 */

import type { RawConfig } from "./client_options_config.ts";
import { checkPropertyLists } from "./client_options_properties.ts";
import { usageLines } from "./client_options_usage.ts";
import { isValidMqttUtf8 } from "./client_options_values.ts";

/** A refusal: stderr lines, stdout lines (pub's usage), exit code 1. */
export interface Refusal {
  ok: false;
  exitCode: number;
  stderr: string[];
  stdout: string[];
}

/** A refusal with exit code 1. */
export function refusal(stderr: string[], stdout: string[] = []): Refusal {
  return { ok: false, exitCode: 1, stderr, stdout };
}

/** Where pub's `-s` input comes from. */
export type ReadStdin = () => Promise<Uint8Array>;

/** Largest file Mosquitto publishes with `-f`. */
const MAX_FILE = 268_435_455;

/** The checks Mosquitto makes once every option is read; the first error line, if any. */
export function checkLoaded(cfg: RawConfig): string | undefined {
  if (cfg.willPayload !== undefined && cfg.willTopic === undefined) {
    return "Error: Will payload given, but no will topic given.";
  }
  if (cfg.willRetain && cfg.willTopic === undefined) {
    return "Error: Will retain given, but no will topic given.";
  }
  if ((cfg.certfile === undefined) !== (cfg.keyfile === undefined)) {
    return "Error: Both certfile and keyfile must be provided if one of them is set.";
  }
  if (cfg.keyform !== undefined && cfg.keyfile === undefined) {
    return "Error: If keyform is set, keyfile must be also specified.";
  }
  if (
    cfg.tlsEngineKpassSha1 !== undefined &&
    (cfg.keyform === undefined || cfg.tlsEngine === undefined)
  ) {
    return "Error: when using tls-engine-kpass-sha1, both tls-engine and keyform must also be provided.";
  }
  if ((cfg.cafile !== undefined || cfg.capath !== undefined) && cfg.psk !== undefined) {
    return "Error: Only one of --psk or --cafile/--capath may be used at once.";
  }
  if (cfg.psk !== undefined && cfg.pskIdentity === undefined) {
    return "Error: --psk-identity required if --psk used.";
  }
  const noId = cfg.idPrefix !== undefined || cfg.clientId === undefined;
  if (cfg.protocolVersion === 5) {
    if (!cfg.cleanSession && cfg.sessionExpiry === undefined) cfg.sessionExpiry = 0xffffffff;
    if (cfg.sessionExpiry === 0xffffffff && noId) {
      return "Error: You must provide a client id if you are using an infinite session expiry interval.";
    }
    if (cfg.sessionExpiry !== undefined && cfg.sessionExpiry > 0) {
      cfg.properties.connect.push({
        name: "session-expiry-interval",
        key: "sessionExpiryInterval",
        value: cfg.sessionExpiry,
      });
    }
  } else if (!cfg.cleanSession && noId) {
    return "Error: You must provide a client id if you are using the -c option.";
  }
  if (cfg.tool === "sub" && cfg.topics.length === 0) {
    return "Error: You must specify a topic to subscribe to.";
  }
  const propertyError = checkPropertyLists(cfg.properties);
  if (propertyError !== undefined) return propertyError;
  if (
    cfg.tool === "rr" &&
    (cfg.topics.length === 0 || cfg.messageSource === undefined || cfg.responseTopic === undefined)
  ) {
    return "Error: All of topic, message, and response topic must be supplied.";
  }
  return undefined;
}

async function readAllStdin(): Promise<Uint8Array> {
  return new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer());
}

/** pub: load `-f` or `-s` as mosquitto_pub does before its last check; error lines if it fails. */
async function loadPubMessage(
  cfg: RawConfig,
  readStdin?: ReadStdin,
): Promise<string[] | undefined> {
  if (cfg.messageSource === "stdin-file") {
    const input = await (readStdin ?? readAllStdin)();
    if (input.length === 0) return ["Error: Zero length input.", "Error loading input from stdin."];
    cfg.message = input;
  } else if (cfg.messageSource === "file") {
    const file = cfg.file!;
    const failed = `Error loading input file "${file}".`;
    try {
      const info = await Deno.stat(file);
      if (info.isDirectory || info.size > MAX_FILE) {
        return [`Error: File must be less than ${MAX_FILE} bytes.`, "", failed];
      }
      cfg.message = await Deno.readFile(file);
    } catch {
      return [`Error: Unable to open file "${file}".`, failed];
    }
  }
  return undefined;
}

/**
 * The checks each tool makes after loading its options and before connecting: pub's message
 * and topic, sub's `-R` with `--retained-only`, rr's response topic, and what libmosquitto
 * refuses in the client id, user name and password. Errors that `--quiet` silences come back
 * with empty stderr.
 */
export async function checkTool(
  cfg: RawConfig,
  program: string,
  readStdin?: ReadStdin,
): Promise<Refusal | undefined> {
  const quietly = (lines: string[]) => refusal(cfg.quiet ? [] : lines);
  if (cfg.tool === "pub") {
    const loadError = await loadPubMessage(cfg, readStdin);
    if (loadError !== undefined) return quietly(loadError);
    if (cfg.topics.length === 0 || cfg.messageSource === undefined) {
      return refusal(
        ["Error: Both topic and message must be supplied."],
        usageLines("pub", program),
      );
    }
  } else if (cfg.tool === "sub") {
    if (cfg.noRetained && cfg.retainedOnly) {
      return refusal(["", "Error: Combining '-R' and '--retained-only' makes no sense."]);
    }
  } else if (cfg.properties.publish.some((p) => p.name === "response-topic")) {
    return quietly(["Error in PUBLISH properties: Duplicate response topic."]);
  }
  if (cfg.clientId !== undefined && !isValidMqttUtf8(cfg.clientId)) return refusal([]);
  const cleanWithoutId = !cfg.cleanSession && cfg.clientId === undefined &&
    cfg.idPrefix === undefined;
  if (cfg.clientId === "" || cleanWithoutId) {
    const text = cfg.tool === "pub"
      ? "Error: Invalid id."
      : "Error: Invalid id and/or clean_session.";
    return quietly([text]);
  }
  if (
    (cfg.username !== undefined && !isValidMqttUtf8(cfg.username)) ||
    (cfg.protocolVersion !== 5 && cfg.password !== undefined && cfg.username === undefined)
  ) {
    return quietly(["Error: Problem setting username and/or password."]);
  }
  return undefined;
}
