/**
 * The texts Mosquitto's tools print for refused connections and errors, so that scripts and
 * people reading logs see the same lines from Midge's tools.
 *
 * @module
 */

/** 3.1 / 3.1.1 CONNACK return codes, as Mosquitto's tools describe them. */
const V3_CONNACK: Readonly<Record<number, string>> = {
  0: "Connection Accepted.",
  1: "Connection Refused: unacceptable protocol version.",
  2: "Connection Refused: identifier rejected.",
  3: "Connection Refused: broker unavailable.",
  4: "Connection Refused: bad user name or password.",
  5: "Connection Refused: not authorised.",
};

/** MQTT 5.0 reason codes, as Mosquitto's tools describe them. */
const V5_REASON: Readonly<Record<number, string>> = {
  0x00: "Success",
  0x80: "Unspecified error",
  0x81: "Malformed packet",
  0x82: "Protocol error",
  0x83: "Implementation specific error",
  0x84: "Unsupported protocol version",
  0x85: "Client identifier not valid",
  0x86: "Bad username or password",
  0x87: "Not authorized",
  0x88: "Server unavailable",
  0x89: "Server busy",
  0x8a: "Banned",
  0x8b: "Server shutting down",
  0x8c: "Bad authentication method",
  0x8d: "Keep alive timeout",
  0x8e: "Session taken over",
  0x8f: "Topic filter invalid",
  0x90: "Topic name invalid",
  0x91: "Packet identifier in use",
  0x92: "Packet identifier not found",
  0x93: "Receive maximum exceeded",
  0x94: "Topic alias invalid",
  0x95: "Packet too large",
  0x96: "Message rate too high",
  0x97: "Quota exceeded",
  0x98: "Administrative action",
  0x99: "Payload format invalid",
  0x9a: "Retain not supported",
  0x9b: "QoS not supported",
  0x9c: "Use another server",
  0x9d: "Server moved",
  0x9e: "Shared subscriptions not supported",
  0x9f: "Connection rate exceeded",
  0xa0: "Maximum connect time",
  0xa1: "Subscription identifiers not supported",
  0xa2: "Wildcard subscriptions not supported",
};

/**
 * The "Connection error: ..." line for a refused CONNACK. `returnCode` is the code on the
 * wire: a 3.x return code, or a 5.0 reason code.
 */
export function connackErrorLine(
  version: 3 | 4 | 5,
  returnCode: number,
  tool: "pub" | "sub" | "rr",
): string {
  // mosquitto_rr describes every code with the 5.0 texts, even a 3.x return code.
  const text = version === 5 || tool === "rr"
    ? V5_REASON[returnCode] ?? "Unknown reason"
    : V3_CONNACK[returnCode] ?? "Connection Refused: unknown reason.";
  return `Connection error: ${text}`;
}

/** A 5.0 reason code's text ("Not authorized"). */
export function reasonText(reasonCode: number): string {
  return V5_REASON[reasonCode] ?? "Unknown reason";
}

/** The "Error: ..." line for a socket that could not be opened. */
export function connectErrorLine(error: unknown): string {
  if (error instanceof Deno.errors.ConnectionRefused) return "Error: Connection refused";
  const message = error instanceof Error ? error.message : String(error);
  if (/lookup|resolve|name or service|dns/i.test(message)) {
    return "Unable to connect (Lookup error.).";
  }
  if (error instanceof Deno.errors.TimedOut) return "Error: Connection timed out";
  if (error instanceof Deno.errors.NotFound) return "Error: No such file or directory";
  return `Error: ${message.replace(/ \(os error \d+\).*$/s, "")}`;
}
