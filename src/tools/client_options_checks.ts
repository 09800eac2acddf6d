/**
 * The checks Mosquitto's client tools make after reading their options and before connecting,
 * in their order: first those of the shared option reader (will, TLS, PSK, session, topics,
 * properties), then each tool's own (pub loads `-f`/`-s`; sub's `-R` with `--retained-only`;
 * rr's response topic), then what libmosquitto refuses in the client id, user name and
 * password.
 *
 * @module
 */

import { checkPropertyLists } from "./client_options_properties.ts";
import type { ClientOptions, OptionsDraft } from "./client_options_shape.ts";
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
export function checkLoaded(draft: OptionsDraft): string | undefined {
  const { options, will } = draft;
  const tls = options.tls;
  if (will.payload !== undefined && will.topic === undefined) {
    return "Error: Will payload given, but no will topic given.";
  }
  if (will.retain && will.topic === undefined) {
    return "Error: Will retain given, but no will topic given.";
  }
  if ((tls.certfile === undefined) !== (tls.keyfile === undefined)) {
    return "Error: Both certfile and keyfile must be provided if one of them is set.";
  }
  if (tls.keyform !== undefined && tls.keyfile === undefined) {
    return "Error: If keyform is set, keyfile must be also specified.";
  }
  if (
    tls.engineKpassSha1 !== undefined && (tls.keyform === undefined || tls.engine === undefined)
  ) {
    return "Error: when using tls-engine-kpass-sha1, both tls-engine and keyform must also be provided.";
  }
  if ((tls.cafile !== undefined || tls.capath !== undefined) && tls.psk !== undefined) {
    return "Error: Only one of --psk or --cafile/--capath may be used at once.";
  }
  if (tls.psk !== undefined && tls.pskIdentity === undefined) {
    return "Error: --psk-identity required if --psk used.";
  }
  const noId = options.idPrefix !== undefined || options.clientId === undefined;
  if (options.protocolVersion === 5) {
    if (!options.cleanSession && options.sessionExpiryInterval === undefined) {
      options.sessionExpiryInterval = 0xffffffff;
    }
    const expiry = options.sessionExpiryInterval;
    if (expiry === 0xffffffff && noId) {
      return "Error: You must provide a client id if you are using an infinite session expiry interval.";
    }
    if (expiry !== undefined && expiry > 0) {
      draft.propertyLists.connect.push({
        name: "session-expiry-interval",
        key: "sessionExpiryInterval",
        value: expiry,
      });
    }
  } else if (!options.cleanSession && noId) {
    return "Error: You must provide a client id if you are using the -c option.";
  }
  if (options.tool === "sub" && options.topics.length === 0) {
    return "Error: You must specify a topic to subscribe to.";
  }
  const propertyError = checkPropertyLists(draft.propertyLists);
  if (propertyError !== undefined) return propertyError;
  if (
    options.tool === "rr" &&
    (options.topics.length === 0 || options.messageSource === undefined ||
      options.responseTopic === undefined)
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
  options: ClientOptions,
  readStdin?: ReadStdin,
): Promise<string[] | undefined> {
  if (options.messageSource === "stdin-file") {
    const input = await (readStdin ?? readAllStdin)();
    if (input.length === 0) return ["Error: Zero length input.", "Error loading input from stdin."];
    options.message = input;
  } else if (options.messageSource === "file") {
    const file = options.file!;
    const failed = `Error loading input file "${file}".`;
    try {
      const info = await Deno.stat(file);
      if (info.isDirectory || info.size > MAX_FILE) {
        return [`Error: File must be less than ${MAX_FILE} bytes.`, "", failed];
      }
      options.message = await Deno.readFile(file);
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
  draft: OptionsDraft,
  readStdin?: ReadStdin,
): Promise<Refusal | undefined> {
  const options = draft.options;
  const quietly = (lines: string[]) => refusal(options.quiet ? [] : lines);
  if (options.tool === "pub") {
    const loadError = await loadPubMessage(options, readStdin);
    if (loadError !== undefined) return quietly(loadError);
    if (options.topics.length === 0 || options.messageSource === undefined) {
      return refusal(
        ["Error: Both topic and message must be supplied."],
        usageLines("pub", options.program),
      );
    }
  } else if (options.tool === "sub") {
    if (options.noRetained && options.retainedOnly) {
      return refusal(["", "Error: Combining '-R' and '--retained-only' makes no sense."]);
    }
  } else if (draft.propertyLists.publish.some((p) => p.name === "response-topic")) {
    return quietly(["Error in PUBLISH properties: Duplicate response topic."]);
  }
  if (options.clientId !== undefined && !isValidMqttUtf8(options.clientId)) return refusal([]);
  const cleanWithoutId = !options.cleanSession && options.clientId === undefined &&
    options.idPrefix === undefined;
  if (options.clientId === "" || cleanWithoutId) {
    const text = options.tool === "pub"
      ? "Error: Invalid id."
      : "Error: Invalid id and/or clean_session.";
    return quietly([text]);
  }
  if (
    (options.username !== undefined && !isValidMqttUtf8(options.username)) ||
    (options.protocolVersion !== 5 && options.password !== undefined &&
      options.username === undefined)
  ) {
    return quietly(["Error: Problem setting username and/or password."]);
  }
  return undefined;
}
