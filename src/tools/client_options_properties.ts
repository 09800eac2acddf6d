/**
 * `-D command identifier value` (`--property`): MQTT 5 properties given on the command line of
 * the client tools, with Mosquitto 2.0.11's names, checks, order of checks and error texts.
 *
 * @module
 */

import type { Properties } from "../codec/types.ts";
import { isValidMqttUtf8, strtol } from "./client_options_values.ts";

/** The packets (and the will) that `-D` can give properties to. */
export type PropertyCommand =
  | "connect"
  | "publish"
  | "subscribe"
  | "unsubscribe"
  | "disconnect"
  | "will";

/** Wire types, numbered as Mosquitto numbers them in "Error adding property NAME TYPE". */
const TYPE_NUMBER = { byte: 1, u16: 2, u32: 3, varint: 4, binary: 5, string: 6, pair: 7 } as const;

type PropertyType = keyof typeof TYPE_NUMBER;

interface PropertyInfo {
  key: keyof Properties;
  type: PropertyType;
}

/** Every property name Mosquitto knows, matched without regard to case. */
const PROPERTIES: Readonly<Record<string, PropertyInfo>> = {
  "payload-format-indicator": { key: "payloadFormatIndicator", type: "byte" },
  "message-expiry-interval": { key: "messageExpiryInterval", type: "u32" },
  "content-type": { key: "contentType", type: "string" },
  "response-topic": { key: "responseTopic", type: "string" },
  "correlation-data": { key: "correlationData", type: "binary" },
  "subscription-identifier": { key: "subscriptionIdentifiers", type: "varint" },
  "session-expiry-interval": { key: "sessionExpiryInterval", type: "u32" },
  "assigned-client-identifier": { key: "assignedClientIdentifier", type: "string" },
  "server-keep-alive": { key: "serverKeepAlive", type: "u16" },
  "authentication-method": { key: "authenticationMethod", type: "string" },
  "authentication-data": { key: "authenticationData", type: "binary" },
  "request-problem-information": { key: "requestProblemInformation", type: "byte" },
  "will-delay-interval": { key: "willDelayInterval", type: "u32" },
  "request-response-information": { key: "requestResponseInformation", type: "byte" },
  "response-information": { key: "responseInformation", type: "string" },
  "server-reference": { key: "serverReference", type: "string" },
  "reason-string": { key: "reasonString", type: "string" },
  "receive-maximum": { key: "receiveMaximum", type: "u16" },
  "topic-alias-maximum": { key: "topicAliasMaximum", type: "u16" },
  "topic-alias": { key: "topicAlias", type: "u16" },
  "maximum-qos": { key: "maximumQos", type: "byte" },
  "retain-available": { key: "retainAvailable", type: "byte" },
  "user-property": { key: "userProperties", type: "pair" },
  "maximum-packet-size": { key: "maximumPacketSize", type: "u32" },
  "wildcard-subscription-available": { key: "wildcardSubscriptionAvailable", type: "byte" },
  "subscription-identifier-available": {
    key: "subscriptionIdentifiersAvailable",
    type: "byte",
  },
  "shared-subscription-available": { key: "sharedSubscriptionAvailable", type: "byte" },
};

/**
 * The properties each command name may carry, as libmosquitto checks it (MQTT 5.0's table,
 * except that it lets the will carry a reason string).
 */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  connect: [
    "session-expiry-interval",
    "authentication-method",
    "authentication-data",
    "request-problem-information",
    "request-response-information",
    "receive-maximum",
    "topic-alias-maximum",
    "user-property",
    "maximum-packet-size",
  ],
  connack: [
    "session-expiry-interval",
    "assigned-client-identifier",
    "server-keep-alive",
    "authentication-method",
    "authentication-data",
    "response-information",
    "server-reference",
    "reason-string",
    "receive-maximum",
    "topic-alias-maximum",
    "maximum-qos",
    "retain-available",
    "user-property",
    "maximum-packet-size",
    "wildcard-subscription-available",
    "subscription-identifier-available",
    "shared-subscription-available",
  ],
  publish: [
    "payload-format-indicator",
    "message-expiry-interval",
    "content-type",
    "response-topic",
    "correlation-data",
    "subscription-identifier",
    "topic-alias",
    "user-property",
  ],
  puback: ["reason-string", "user-property"],
  pubrec: ["reason-string", "user-property"],
  pubrel: ["reason-string", "user-property"],
  pubcomp: ["reason-string", "user-property"],
  subscribe: ["subscription-identifier", "user-property"],
  unsubscribe: ["user-property"],
  disconnect: ["session-expiry-interval", "server-reference", "reason-string", "user-property"],
  auth: ["authentication-method", "authentication-data", "reason-string", "user-property"],
  will: [
    "payload-format-indicator",
    "message-expiry-interval",
    "content-type",
    "response-topic",
    "correlation-data",
    "will-delay-interval",
    "reason-string",
    "user-property",
  ],
};

/** Largest value of each numeric type; varints are range-checked as u32 first, then added. */
const MAXIMUM: Readonly<Record<string, bigint>> = {
  byte: 0xffn,
  u16: 0xffffn,
  u32: 0xffffffffn,
  varint: 0xffffffffn,
};

/** One property given with `-D`, before it is checked against the others of its command. */
export interface PropertyEntry {
  /** Canonical property name (lower case). */
  name: string;
  /** Field of `Properties` it sets. */
  key: keyof Properties;
  /** The value: a number, text, bytes, or a name/value pair. */
  value: number | string | Uint8Array | [string, string];
}

/** Property lists by command, in the order they were given. */
export type PropertyLists = Record<PropertyCommand, PropertyEntry[]>;

/** A fresh set of empty property lists. */
export function emptyPropertyLists(): PropertyLists {
  return { connect: [], publish: [], subscribe: [], unsubscribe: [], disconnect: [], will: [] };
}

/** The outcome of one `-D`: how many arguments it used, or the error lines. */
export type PropertyArgResult = { consumed: number } | { error: string[] };

const NOT_ENOUGH = ["Error: --property argument given but not enough arguments specified.", ""];

/**
 * Read one `-D` whose arguments start at `args[0]` (the command name) into `lists`. Checks in
 * Mosquitto's order: argument count, command, property name, whether the command allows the
 * property, the second string of a user property, whether the tool supports it, the value.
 */
export function parsePropertyArg(args: string[], lists: PropertyLists): PropertyArgResult {
  if (args.length < 3) return { error: NOT_ENOUGH };
  const [commandText, nameText, valueText] = args;
  const command = commandText.toLowerCase();
  if (!Object.hasOwn(ALLOWED, command)) {
    return { error: ["Error: Invalid command given in --property argument.", ""] };
  }
  const name = nameText.toLowerCase();
  if (!Object.hasOwn(PROPERTIES, name)) {
    return { error: ["Error: Invalid property name given in --property argument.", ""] };
  }
  if (!ALLOWED[command].includes(name)) {
    return {
      error: [
        `Error: ${nameText} property not allowed for ${commandText} in --property argument.`,
        "",
      ],
    };
  }
  const info = PROPERTIES[name];
  if (info.type === "pair" && args.length < 4) return { error: NOT_ENOUGH };
  if (command === "connack") return { error: [] };
  if (
    ["puback", "pubrec", "pubrel", "pubcomp", "auth"].includes(command) ||
    (command === "publish" && name === "subscription-identifier")
  ) {
    return {
      error: [
        `Error: ${nameText} property not supported for ${commandText} in --property argument.`,
        "",
      ],
    };
  }
  const adding = [`Error adding property ${nameText} ${TYPE_NUMBER[info.type]}`];
  let value: PropertyEntry["value"];
  if (info.type === "string") {
    if (!isValidMqttUtf8(valueText)) return { error: adding };
    value = valueText;
  } else if (info.type === "binary") {
    value = new TextEncoder().encode(valueText);
  } else if (info.type === "pair") {
    if (!isValidMqttUtf8(valueText)) return { error: adding }; // 2.0.11 checks the name only
    value = [valueText, args[3]];
  } else {
    const number = strtol(valueText).value;
    if (number < 0n || number > MAXIMUM[info.type]) {
      return {
        error: [`Error: Property value (${number}) out of range for property ${nameText}.`, ""],
      };
    }
    if (info.type === "varint" && number > 268_435_455n) return { error: adding };
    value = Number(number);
  }
  lists[command as PropertyCommand].push({ name, key: info.key, value });
  return { consumed: info.type === "pair" ? 4 : 3 };
}

const CHECK_LABEL: Readonly<Record<PropertyCommand, string>> = {
  connect: "CONNECT",
  publish: "PUBLISH",
  subscribe: "SUBSCRIBE",
  unsubscribe: "UNSUBSCRIBE",
  disconnect: "DISCONNECT",
  will: "Will",
};

const PROTOCOL_ERROR = "A network protocol error occurred when communicating with the broker.";

/** libmosquitto's check of one property list: values in range, no duplicates. */
function checkList(list: PropertyEntry[]): string | undefined {
  for (const [i, entry] of list.entries()) {
    const value = entry.value;
    if (
      (entry.name === "request-problem-information" ||
        entry.name === "request-response-information") && (value as number) > 1
    ) return PROTOCOL_ERROR;
    if (
      ["maximum-packet-size", "receive-maximum", "topic-alias"].includes(entry.name) && value === 0
    ) return PROTOCOL_ERROR;
    if (entry.name !== "user-property" && list.slice(i + 1).some((e) => e.name === entry.name)) {
      return "Duplicate property in property list";
    }
  }
  return undefined;
}

/**
 * Check every list as the tools do once all options are read, CONNECT first and the will last;
 * the first problem as its error line, or undefined.
 */
export function checkPropertyLists(lists: PropertyLists): string | undefined {
  for (const command of Object.keys(CHECK_LABEL) as PropertyCommand[]) {
    const problem = checkList(lists[command]);
    if (problem !== undefined) return `Error in ${CHECK_LABEL[command]} properties: ${problem}`;
  }
  return undefined;
}

/** The `Properties` object of a checked list, or undefined for an empty one. */
export function toProperties(list: PropertyEntry[]): Properties | undefined {
  if (list.length === 0) return undefined;
  const properties: Record<string, unknown> = {};
  for (const { key, value } of list) {
    if (key === "userProperties") {
      ((properties.userProperties ??= []) as [string, string][]).push(value as [string, string]);
    } else if (key === "subscriptionIdentifiers") {
      ((properties.subscriptionIdentifiers ??= []) as number[]).push(value as number);
    } else {
      properties[key] = value;
    }
  }
  return properties as Properties;
}
