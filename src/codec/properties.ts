/**
 * MQTT 5.0 properties (MQTT 5.0 §2.2.2): every property with its identifier, wire type and the
 * packets it may appear in; reading them with the duplicate, placement and value checks the
 * specification requires; sizing and writing them in the order the object lists them, or in
 * the order read when User Properties were interleaved with others (`Properties.order`).
 *
 * @module
 */

import { duplicateProperty, malformed, protocolError } from "./errors.ts";
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
 * flag other than 0 or 1, is a protocol error (a repeat one that closes without a DISCONNECT);
 * a forbidden 0 is malformed, as Mosquitto answers. User Properties interleaved with others
 * leave the order read in `order`.
 */
export function readProperties(r: ByteReader, context: PropertyContext): Properties | undefined {
  const length = r.varint("property length");
  if (length === 0) return undefined;
  const start = r.pos;
  const end = start + length;
  if (end > r.end) throw malformed(`property length ${length} exceeds the packet`);
  const outerEnd = r.end;
  r.end = end;
  const props: Properties = {};
  const bag = props as Record<string, unknown>;
  let userRun = NO_USER_PROPERTY_YET;
  let interleaved = false;
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
      if (userRun === USER_RUN_ENDED) interleaved = true;
      userRun = IN_USER_RUN;
      (props.userProperties ??= []).push(value as UserProperty);
      continue;
    }
    if (userRun === IN_USER_RUN) userRun = USER_RUN_ENDED;
    if (def.id === 0x0b) {
      if (props.subscriptionIdentifiers !== undefined && context === "subscribe") {
        throw duplicateProperty("subscription identifier repeated in SUBSCRIBE");
      }
      (props.subscriptionIdentifiers ??= []).push(value as number);
    } else {
      if (bag[def.key] !== undefined) throw duplicateProperty(`property ${def.key} repeated`);
      bag[def.key] = value;
    }
  }
  if (interleaved) props.order = readOrder(r, start);
  r.end = outerEnd;
  return props;
}

/** Where the User Properties read so far stand: none yet, the last one read, or further back. */
const NO_USER_PROPERTY_YET = 0;
const IN_USER_RUN = 1;
const USER_RUN_ENDED = 2;

/** The identifiers of a property list already read and checked, from `start` to `r.end`. */
function readOrder(r: ByteReader, start: number): number[] {
  const order: number[] = [];
  r.pos = start;
  while (r.pos < r.end) {
    const id = r.varint("property identifier");
    readValue(r, BY_ID[id]!);
    order.push(id);
  }
  return order;
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
      if (key === "order") continue;
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

/**
 * `order` (see `Properties.order`) without the identifiers of `keys`, for a copy of the
 * properties that leaves those out.
 */
export function orderWithout(
  order: readonly number[],
  keys: readonly (keyof Properties)[],
): number[] {
  const left = keys.map((key) => BY_KEY.get(key)!.id);
  return order.filter((id) => !left.includes(id));
}

/** Write a property list: its length (`size`, from `propertiesSize`) and the properties. */
export function writeProperties(
  w: ByteWriter,
  props: Properties | undefined,
  size: number,
): void {
  w.varint(size);
  if (props === undefined || size === 0) return;
  if (props.order !== undefined) {
    writeInOrder(w, props, props.order);
    return;
  }
  const bag = props as Record<string, unknown>;
  for (const key in bag) {
    const value = bag[key];
    if (value !== undefined) writeAll(w, BY_KEY.get(key)!, value);
  }
}

/**
 * Write `props` in key order, except the properties `order` lists: those go in one run, in
 * that order, at the place of the first of them. User Properties and Subscription Identifiers
 * beyond the count listed follow the run, so that none is left out.
 */
function writeInOrder(w: ByteWriter, props: Properties, order: readonly number[]): void {
  const bag = props as Record<string, unknown>;
  let runWritten = false;
  for (const key in bag) {
    const value = bag[key];
    const def = BY_KEY.get(key);
    if (value === undefined || def === undefined) continue; // `order` itself
    if (!order.includes(def.id)) {
      writeAll(w, def, value);
      continue;
    }
    if (runWritten) continue;
    runWritten = true;
    const written = new Map<number, number>(); // id -> how many of its values are written
    for (const id of order) {
      const listed = BY_ID[id]!;
      const listedValue = bag[listed.key];
      if (listedValue === undefined) continue;
      const count = written.get(id) ?? 0;
      if (!Array.isArray(listedValue)) {
        if (count === 0) writeOne(w, listed, listedValue);
      } else if (count < listedValue.length) writeOne(w, listed, listedValue[count]);
      written.set(id, count + 1);
    }
    for (const [id, count] of written) {
      const rest = bag[BY_ID[id]!.key];
      if (Array.isArray(rest)) {
        for (const one of rest.slice(count)) writeOne(w, BY_ID[id]!, one);
      }
    }
  }
}

/** Write every value of one property: each pair or identifier of a list, else the value. */
function writeAll(w: ByteWriter, def: PropertyDefinition, value: unknown): void {
  if (Array.isArray(value)) { for (const one of value) writeOne(w, def, one); }
  else writeOne(w, def, value);
}

/** Write one property: its identifier and one value (one pair, one subscription identifier). */
function writeOne(w: ByteWriter, def: PropertyDefinition, value: unknown): void {
  w.u8(def.id);
  switch (def.wireType) {
    case "byte":
      w.u8(value as number);
      break;
    case "u16":
      w.u16(value as number);
      break;
    case "u32":
      w.u32(value as number);
      break;
    case "varint":
      w.varint(value as number);
      break;
    case "utf8":
      w.utf8(value as string, utf8Length(value as string));
      break;
    case "binary":
      w.binary(value as Uint8Array);
      break;
    case "pair": {
      const [name, val] = value as UserProperty;
      w.utf8(name, utf8Length(name));
      w.utf8(val, utf8Length(val));
      break;
    }
  }
}
