/**
 * MQTT 5.0 properties (MQTT 5.0 §2.2.2): every property with its identifier, wire type and the
 * packets it may appear in; reading them with the duplicate, placement and value checks the
 * specification requires; sizing and writing them in the order the object lists them.
 *
 * @module
 */

import { malformed, protocolError } from "./errors.ts";
import type { ByteReader } from "./reader.ts";
import type { Properties, UserProperty } from "./types.ts";
import { utf8Length } from "./utf8.ts";
import { type ByteWriter, MAX_VARINT, varintSize } from "./writer.ts";

/** Where a property list occurs: a packet type, or the will properties inside CONNECT. */
export type PropertyContext =
  | "connect"
  | "connack"
  | "publish"
  | "will"
  | "puback"
  | "pubrec"
  | "pubrel"
  | "pubcomp"
  | "subscribe"
  | "suback"
  | "unsubscribe"
  | "unsuback"
  | "disconnect"
  | "auth";

const CONTEXT_BIT: Readonly<Record<PropertyContext, number>> = {
  connect: 1 << 0,
  connack: 1 << 1,
  publish: 1 << 2,
  will: 1 << 3,
  puback: 1 << 4,
  pubrec: 1 << 5,
  pubrel: 1 << 6,
  pubcomp: 1 << 7,
  subscribe: 1 << 8,
  suback: 1 << 9,
  unsubscribe: 1 << 10,
  unsuback: 1 << 11,
  disconnect: 1 << 12,
  auth: 1 << 13,
};

function contexts(...names: PropertyContext[]): number {
  return names.reduce((bits, name) => bits | CONTEXT_BIT[name], 0);
}

/** Wire types of property values (MQTT 5.0 §1.5). */
export type PropertyWireType = "byte" | "u16" | "u32" | "varint" | "utf8" | "binary" | "pair";

/** How a property is coded and checked. */
export interface PropertyDefinition {
  /** Identifier byte. */
  readonly id: number;
  /** Key in the `Properties` object. */
  readonly key: keyof Properties;
  /** Wire type of the value. */
  readonly wireType: PropertyWireType;
  /** Bit set of the contexts it may appear in. */
  readonly allowedIn: number;
  /** Values must be 0 or 1. */
  readonly flag?: boolean;
  /** Zero is refused (as malformed, Mosquitto's code for it). */
  readonly nonZero?: boolean;
}

const ACKS = ["puback", "pubrec", "pubrel", "pubcomp"] as const;

/** Every MQTT 5.0 property, in identifier order. */
export const PROPERTY_DEFINITIONS: readonly PropertyDefinition[] = [
  {
    id: 0x01,
    key: "payloadFormatIndicator",
    wireType: "byte",
    allowedIn: contexts("publish", "will"),
    // Not a flag: the specification calls no other value an error, and Mosquitto forwards it.
  },
  {
    id: 0x02,
    key: "messageExpiryInterval",
    wireType: "u32",
    allowedIn: contexts("publish", "will"),
  },
  { id: 0x03, key: "contentType", wireType: "utf8", allowedIn: contexts("publish", "will") },
  { id: 0x08, key: "responseTopic", wireType: "utf8", allowedIn: contexts("publish", "will") },
  {
    id: 0x09,
    key: "correlationData",
    wireType: "binary",
    allowedIn: contexts("publish", "will"),
  },
  {
    id: 0x0b,
    key: "subscriptionIdentifiers",
    wireType: "varint",
    allowedIn: contexts("publish", "subscribe"),
    nonZero: true,
  },
  {
    id: 0x11,
    key: "sessionExpiryInterval",
    wireType: "u32",
    allowedIn: contexts("connect", "connack", "disconnect"),
  },
  {
    id: 0x12,
    key: "assignedClientIdentifier",
    wireType: "utf8",
    allowedIn: contexts("connack"),
  },
  { id: 0x13, key: "serverKeepAlive", wireType: "u16", allowedIn: contexts("connack") },
  {
    id: 0x15,
    key: "authenticationMethod",
    wireType: "utf8",
    allowedIn: contexts("connect", "connack", "auth"),
  },
  {
    id: 0x16,
    key: "authenticationData",
    wireType: "binary",
    allowedIn: contexts("connect", "connack", "auth"),
  },
  {
    id: 0x17,
    key: "requestProblemInformation",
    wireType: "byte",
    allowedIn: contexts("connect"),
    flag: true,
  },
  { id: 0x18, key: "willDelayInterval", wireType: "u32", allowedIn: contexts("will") },
  {
    id: 0x19,
    key: "requestResponseInformation",
    wireType: "byte",
    allowedIn: contexts("connect"),
    flag: true,
  },
  { id: 0x1a, key: "responseInformation", wireType: "utf8", allowedIn: contexts("connack") },
  {
    id: 0x1c,
    key: "serverReference",
    wireType: "utf8",
    allowedIn: contexts("connack", "disconnect"),
  },
  {
    id: 0x1f,
    key: "reasonString",
    wireType: "utf8",
    allowedIn: contexts("connack", ...ACKS, "suback", "unsuback", "disconnect", "auth"),
  },
  {
    id: 0x21,
    key: "receiveMaximum",
    wireType: "u16",
    allowedIn: contexts("connect", "connack"),
    nonZero: true,
  },
  {
    id: 0x22,
    key: "topicAliasMaximum",
    wireType: "u16",
    allowedIn: contexts("connect", "connack"),
  },
  { id: 0x23, key: "topicAlias", wireType: "u16", allowedIn: contexts("publish"), nonZero: true },
  { id: 0x24, key: "maximumQos", wireType: "byte", allowedIn: contexts("connack"), flag: true },
  {
    id: 0x25,
    key: "retainAvailable",
    wireType: "byte",
    allowedIn: contexts("connack"),
    flag: true,
  },
  {
    id: 0x26,
    key: "userProperties",
    wireType: "pair",
    allowedIn: contexts(
      "connect",
      "connack",
      "publish",
      "will",
      ...ACKS,
      "subscribe",
      "suback",
      "unsubscribe",
      "unsuback",
      "disconnect",
      "auth",
    ),
  },
  {
    id: 0x27,
    key: "maximumPacketSize",
    wireType: "u32",
    allowedIn: contexts("connect", "connack"),
    nonZero: true,
  },
  {
    id: 0x28,
    key: "wildcardSubscriptionAvailable",
    wireType: "byte",
    allowedIn: contexts("connack"),
    flag: true,
  },
  {
    id: 0x29,
    key: "subscriptionIdentifiersAvailable",
    wireType: "byte",
    allowedIn: contexts("connack"),
    flag: true,
  },
  {
    id: 0x2a,
    key: "sharedSubscriptionAvailable",
    wireType: "byte",
    allowedIn: contexts("connack"),
    flag: true,
  },
];

const BY_ID: (PropertyDefinition | undefined)[] = [];
const BY_KEY = new Map<string, PropertyDefinition>();
for (const def of PROPERTY_DEFINITIONS) {
  BY_ID[def.id] = def;
  BY_KEY.set(def.key, def);
}

/** The definition of a property identifier, or undefined for an unknown one. */
export function propertyById(id: number): PropertyDefinition | undefined {
  return BY_ID[id];
}

/** Whether a property may appear in a context. */
export function isPropertyAllowed(def: PropertyDefinition, context: PropertyContext): boolean {
  return (def.allowedIn & CONTEXT_BIT[context]) !== 0;
}

function hex(id: number): string {
  return `0x${id.toString(16).padStart(2, "0")}`;
}

/**
 * Read a property list (its length, then the properties) for `context`. Returns undefined for
 * an empty list. Unknown or misplaced identifiers are malformed (MQTT 5.0 §2.2.2.2); a
 * repeated property other than User Property (and Subscription Identifier in PUBLISH), or a
 * flag other than 0 or 1, is a protocol error; a forbidden 0 is malformed, as Mosquitto answers.
 */
export function readProperties(r: ByteReader, context: PropertyContext): Properties | undefined {
  const length = r.varint("property length");
  if (length === 0) return undefined;
  const end = r.pos + length;
  if (end > r.end) throw malformed(`property length ${length} exceeds the packet`);
  const outerEnd = r.end;
  r.end = end;
  const props: Properties = {};
  const bag = props as Record<string, unknown>;
  while (r.pos < end) {
    const id = r.varint("property identifier");
    const def = BY_ID[id];
    if (def === undefined) throw malformed(`unknown property identifier ${hex(id)}`);
    if ((def.allowedIn & CONTEXT_BIT[context]) === 0) {
      throw malformed(`property ${def.key} (${hex(id)}) is not allowed in ${context}`);
    }
    const value = readValue(r, def);
    if (def.flag && (value as number) > 1) {
      throw protocolError(`property ${def.key} must be 0 or 1, not ${value}`);
    }
    if (def.nonZero && value === 0) throw malformed(`property ${def.key} must not be 0`);
    if (def.wireType === "pair") {
      (props.userProperties ??= []).push(value as UserProperty);
    } else if (def.id === 0x0b) {
      if (props.subscriptionIdentifiers !== undefined && context === "subscribe") {
        throw protocolError("subscription identifier repeated in SUBSCRIBE");
      }
      (props.subscriptionIdentifiers ??= []).push(value as number);
    } else {
      if (bag[def.key] !== undefined) throw protocolError(`property ${def.key} repeated`);
      bag[def.key] = value;
    }
  }
  r.end = outerEnd;
  return props;
}

function readValue(r: ByteReader, def: PropertyDefinition): unknown {
  switch (def.wireType) {
    case "byte":
      return r.u8(def.key);
    case "u16":
      return r.u16(def.key);
    case "u32":
      return r.u32(def.key);
    case "varint":
      return r.varint(def.key);
    case "utf8":
      return r.utf8(def.key);
    case "binary":
      return r.binary(def.key);
    case "pair":
      return [r.utf8("user property name"), r.utf8("user property value")];
  }
}

/**
 * Byte length of the property list body (without its own length prefix). Throws a TypeError
 * for a property the context does not allow: that is a bug in the caller, not bad input.
 */
export function propertiesSize(props: Properties | undefined, context: PropertyContext): number {
  if (props === undefined) return 0;
  let size = 0;
  const bag = props as Record<string, unknown>;
  for (const key in bag) {
    const value = bag[key];
    if (value === undefined) continue;
    const def = BY_KEY.get(key);
    if (def === undefined || (def.allowedIn & CONTEXT_BIT[context]) === 0) {
      throw new TypeError(`property ${key} cannot be encoded in ${context}`);
    }
    switch (def.wireType) {
      case "byte":
        size += 2;
        break;
      case "u16":
        size += 3;
        break;
      case "u32":
        size += 5;
        break;
      case "varint":
        for (const id of value as number[]) {
          if (!(id >= 1 && id <= MAX_VARINT)) {
            throw new RangeError(`subscription identifier ${id} out of range`);
          }
          size += 1 + varintSize(id);
        }
        break;
      case "utf8":
        size += 3 + utf8Length(value as string);
        break;
      case "binary":
        size += 3 + (value as Uint8Array).length;
        break;
      case "pair":
        for (const [name, val] of value as UserProperty[]) {
          size += 5 + utf8Length(name) + utf8Length(val);
        }
        break;
    }
  }
  return size;
}

/** Write a property list: its length (`size`, from `propertiesSize`) and the properties. */
export function writeProperties(
  w: ByteWriter,
  props: Properties | undefined,
  size: number,
): void {
  w.varint(size);
  if (props === undefined || size === 0) return;
  const bag = props as Record<string, unknown>;
  for (const key in bag) {
    const value = bag[key];
    if (value === undefined) continue;
    const def = BY_KEY.get(key)!;
    switch (def.wireType) {
      case "byte":
        w.u8(def.id);
        w.u8(value as number);
        break;
      case "u16":
        w.u8(def.id);
        w.u16(value as number);
        break;
      case "u32":
        w.u8(def.id);
        w.u32(value as number);
        break;
      case "varint":
        for (const id of value as number[]) {
          w.u8(def.id);
          w.varint(id);
        }
        break;
      case "utf8":
        w.u8(def.id);
        w.utf8(value as string, utf8Length(value as string));
        break;
      case "binary":
        w.u8(def.id);
        w.binary(value as Uint8Array);
        break;
      case "pair":
        for (const [name, val] of value as UserProperty[]) {
          w.u8(def.id);
          w.utf8(name, utf8Length(name));
          w.utf8(val, utf8Length(val));
        }
        break;
    }
  }
}
