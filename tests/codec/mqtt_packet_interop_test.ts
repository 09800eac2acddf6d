/**
 * Interop: Midge's codec against mqtt-packet 9.0.2, the independent codec inside MQTT.js.
 *
 * For each protocol version, 10,000 random valid packets of every type that version has, drawn
 * from a seeded PRNG (mulberry32, one seed per packet), go both ways:
 *
 * 1. we encode, mqtt-packet parses, and its packet, translated to our model, deep-equals ours;
 * 2. mqtt-packet generates the same logical packet, we decode it and get the packet back, and
 *    its bytes equal ours, except where both encoders are valid and differ by design (see
 *    `expectedMqttPacketBytes`: the short forms of 5.0 acks and DISCONNECT).
 *
 * The translation layer between the two packet models is below (`toMqttPacket`,
 * `fromMqttPacket`). Things mqtt-packet cannot represent are not generated, rather than compared
 * loosely:
 *
 * - User properties: mqtt-packet holds them as an object `{name: value | value[]}`, so it
 *   groups repeated names together, and a JavaScript object lists integer-like keys first. We
 *   generate user properties grouped by name (in first-occurrence order) with names that are not
 *   all digits, so both wire orders agree and the bytes can be compared.
 * - mqtt-packet bug: its parser turns a repeated user property name into an array only when
 *   the first value is truthy (`if (result[name][currentUserProperty.name])`), so
 *   `[["a", ""], ["a", "x"]]` parses as `{a: "x"}`. Repeated names get non-empty values.
 * - mqtt-packet bug: its parser requires the reason code of AUTH (`_parseAuth` reads a byte
 *   unconditionally), so the short form `f0 00` (Success, no properties; MQTT 5.0 §3.15.2.1)
 *   fails with "Invalid auth reason code". A valid AUTH always carries an Authentication Method
 *   (MQTT 5.0 §3.15.2.2.2), so every generated AUTH has one and is never in the short form.
 * - mqtt-packet's generator refuses a password without a user name ("Username is required to
 *   use password"), which MQTT 5.0 allows (§3.1.2.9), an empty client id with clean session 0
 *   (which 3.1.1 servers must refuse anyway [MQTT-3.1.3-8]) and any empty client id in 3.1
 *   (which needs 1 to 23 bytes). None of those are generated.
 *
 * `MIDGE_INTEROP_SEED=0x1234` runs another set of packets; every failure names the packet's
 * index and seed, and `packetAt(baseSeed, version, index)` rebuilds it.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import mqttPacket from "../fixtures/npm/mqtt_packet.ts";
import {
  type AckPacket,
  type AckType,
  type AuthPacket,
  type ConnackPacket,
  type ConnectPacket,
  decodePacket,
  type DisconnectPacket,
  encodePacket,
  type Packet,
  type PacketType,
  type Properties,
  type ProtocolVersion,
  type PublishPacket,
  type QoS,
  type SubackPacket,
  type SubscribePacket,
  type Subscription,
  type UnsubackPacket,
  type UnsubscribePacket,
  type UserProperty,
  type Will,
} from "../../src/codec/mod.ts";
import { SeededRandom } from "../fixtures/random.ts";

const VERSIONS: readonly ProtocolVersion[] = [3, 4, 5];
const VERSION_NAME: Readonly<Record<ProtocolVersion, string>> = {
  3: "MQTT 3.1",
  4: "MQTT 3.1.1",
  5: "MQTT 5.0",
};
const PACKETS_PER_VERSION = 10_000;
const DEFAULT_SEED = 0x6d717474;
/** Every this many packets, one PUBLISH is big enough for a 4-byte remaining length. */
const HUGE_EVERY = 2_500;
/** Smallest remaining length that takes 4 bytes. */
const FOUR_BYTE_LENGTH = 2_097_152;

// ---------------------------------------------------------------------------------------------
// Seeded randomness
// ---------------------------------------------------------------------------------------------

function readBaseSeed(): number {
  const name = "MIDGE_INTEROP_SEED";
  if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
    return DEFAULT_SEED;
  }
  const text = Deno.env.get(name);
  return text === undefined ? DEFAULT_SEED : Number(text) >>> 0;
}

const BASE_SEED = readBaseSeed();

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}

// ---------------------------------------------------------------------------------------------
// SeededRandom values
// ---------------------------------------------------------------------------------------------

const U16_EDGES = [0, 1, 2, 127, 128, 255, 256, 0x7fff, 0x8000, 0xfffe, 0xffff];
const U32_EDGES = [0, 1, 127, 128, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];
const VARINT_EDGES = [1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, 268_435_455];

function u16(rng: SeededRandom, min = 0): number {
  return rng.chance(0.3) ? Math.max(min, rng.pick(U16_EDGES)) : rng.between(min, 0xffff);
}

function u32(rng: SeededRandom, min = 0): number {
  return rng.chance(0.3) ? Math.max(min, rng.pick(U32_EDGES)) : rng.between(min, 0xffffffff);
}

/** A subscription identifier, 1 to 268,435,455 (a Variable Byte Integer of 1 to 4 bytes). */
function subscriptionId(rng: SeededRandom): number {
  return rng.chance(0.4) ? rng.pick(VARINT_EDGES) : rng.between(1, 268_435_455);
}

function packetId(rng: SeededRandom): number {
  return u16(rng, 1);
}

function flag(rng: SeededRandom): number {
  return rng.between(0, 1);
}

function qos(rng: SeededRandom): QoS {
  return rng.between(0, 2) as QoS;
}

/** `length` random bytes; long ones repeat a random block, which is as good and much faster. */
function randomBytes(rng: SeededRandom, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const block = Math.min(length, 509);
  for (let i = 0; i < block; i++) out[i] = rng.between(0, 255);
  for (let filled = block; filled < length; filled *= 2) {
    out.copyWithin(filled, 0, Math.min(filled, length - filled));
  }
  return out;
}

/** Length of a Binary Data field: mostly short, sometimes long, rarely the 65,535 maximum. */
function binaryLength(rng: SeededRandom): number {
  const r = rng.next();
  if (r < 0.15) return 0;
  if (r < 0.85) return rng.between(1, 32);
  if (r < 0.995) return rng.between(33, 700);
  return 0xffff;
}

function binary(rng: SeededRandom): Uint8Array {
  return randomBytes(rng, binaryLength(rng));
}

/** Length of a PUBLISH payload, through the 1, 2 and 3 byte remaining lengths. */
function payloadLength(rng: SeededRandom): number {
  const r = rng.next();
  if (r < 0.1) return 0;
  if (r < 0.65) return rng.between(1, 40);
  if (r < 0.9) return rng.between(41, 400);
  if (r < 0.98) return rng.between(401, 5_000);
  return rng.between(16_384, 20_000);
}

/** Printable ASCII for strings in general. */
const TEXT_ASCII =
  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !\"$%&'()*,-.:;<=>?@[\\]^_`{|}~/+#";
/** The same without the topic level separator and the wildcards. */
const LEVEL_ASCII = TEXT_ASCII.replace(/[/+#]/g, "");
/**
 * Non-ASCII characters of 2, 3 and 4 UTF-8 bytes, among them U+FEFF, which a receiver must
 * keep wherever it appears, even first [MQTT-1.5.4-3].
 */
const NON_ASCII = [
  "é",
  "ß",
  "Ω",
  "Ж",
  "\u00a0",
  "€",
  "日本",
  "中文",
  "\ufeff",
  "😀",
  "🦕",
  "𝄞",
  "\u{10fffd}",
];

/** A valid MQTT string: no U+0000, no surrogates, no control characters. */
function text(rng: SeededRandom, maxChars: number, ascii: string = TEXT_ASCII): string {
  const length = rng.chance(0.02) ? rng.between(100, 300) : rng.between(0, maxChars);
  const unicode = rng.chance(0.3);
  let s = "";
  for (let i = 0; i < length; i++) {
    s += unicode && rng.chance(0.35)
      ? rng.pick(NON_ASCII)
      : ascii[rng.between(0, ascii.length - 1)];
  }
  return s;
}

function nonEmptyText(rng: SeededRandom, maxChars: number, ascii: string = TEXT_ASCII): string {
  const s = text(rng, maxChars, ascii);
  return s.length > 0 ? s : ascii[rng.between(0, ascii.length - 1)];
}

function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}

/** A topic name: levels without wildcards, possibly empty levels, sometimes under `$SYS`. */
function topicName(rng: SeededRandom): string {
  const levels: string[] = [];
  const count = rng.between(1, 5);
  for (let i = 0; i < count; i++) levels.push(text(rng, 8, LEVEL_ASCII));
  if (rng.chance(0.05)) levels[0] = "$SYS";
  const topic = levels.join("/");
  return topic.length > 0 ? topic : nonEmptyText(rng, 8, LEVEL_ASCII);
}

/** A topic filter with `+` and `#` where they may stand; in 5.0 sometimes `$share/GROUP/`. */
function topicFilter(rng: SeededRandom, version: ProtocolVersion): string {
  let filter: string;
  const r = rng.next();
  if (r < 0.04) {
    filter = "#";
  } else if (r < 0.08) {
    filter = "+";
  } else {
    const levels: string[] = [];
    const count = rng.between(1, 5);
    for (let i = 0; i < count; i++) {
      levels.push(rng.chance(0.2) ? "+" : text(rng, 8, LEVEL_ASCII));
    }
    if (rng.chance(0.2)) levels.push("#");
    filter = levels.join("/");
    if (filter.length === 0) filter = nonEmptyText(rng, 8, LEVEL_ASCII);
  }
  if (version === 5 && rng.chance(0.1)) {
    filter = `$share/${nonEmptyText(rng, 6, LEVEL_ASCII)}/${filter}`;
  }
  return filter;
}

function isShared(filter: string): boolean {
  return filter.startsWith("$share/");
}

/**
 * User properties grouped by name: each name once or several times in a row, names never all
 * digits, repeated names with non-empty values (see the module comment for why).
 */
function userProperties(rng: SeededRandom): UserProperty[] {
  const out: UserProperty[] = [];
  const names = new Set<string>();
  const count = rng.between(1, 4);
  for (let attempt = 0; names.size < count && attempt < 20; attempt++) {
    let name = text(rng, 10);
    if (/^[0-9]+$/.test(name)) name = `n${name}`;
    if (names.has(name)) continue;
    names.add(name);
    const repeats = rng.chance(0.3) ? rng.between(2, 3) : 1;
    for (let i = 0; i < repeats; i++) {
      out.push([name, repeats > 1 ? nonEmptyText(rng, 16) : text(rng, 16)]);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// SeededRandom properties (MQTT 5.0 §2.2.2.2: which property goes in which packet)
// ---------------------------------------------------------------------------------------------

type Context =
  | "connect"
  | "will"
  | "connack"
  | "publish"
  | "ack"
  | "subscribe"
  | "suback"
  | "unsubscribe"
  | "unsuback"
  | "disconnect"
  | "auth";

type ValueGenerator = (rng: SeededRandom) => unknown;

/** The keys of `Properties` that are properties (not the decoder's `order`). */
type PropertyName = Exclude<keyof Properties, "order">;

const VALUE: Readonly<Record<PropertyName, ValueGenerator>> = {
  payloadFormatIndicator: flag,
  messageExpiryInterval: (rng) => u32(rng),
  contentType: (rng) => text(rng, 20),
  // A topic name: a Response Topic with a wildcard is a protocol error [MQTT-3.3.2-14].
  responseTopic: topicName,
  correlationData: binary,
  subscriptionIdentifiers: (rng) =>
    Array.from({ length: rng.between(1, 4) }, () => subscriptionId(rng)),
  sessionExpiryInterval: (rng) => u32(rng),
  assignedClientIdentifier: (rng) => text(rng, 23),
  serverKeepAlive: (rng) => u16(rng),
  authenticationMethod: (rng) => text(rng, 16),
  authenticationData: binary,
  requestProblemInformation: flag,
  willDelayInterval: (rng) => u32(rng),
  requestResponseInformation: flag,
  responseInformation: (rng) => text(rng, 24),
  serverReference: (rng) => text(rng, 24),
  reasonString: (rng) => text(rng, 40),
  receiveMaximum: (rng) => u16(rng, 1),
  topicAliasMaximum: (rng) => u16(rng),
  topicAlias: (rng) => u16(rng, 1),
  maximumQos: flag,
  retainAvailable: flag,
  userProperties,
  maximumPacketSize: (rng) => u32(rng, 1),
  wildcardSubscriptionAvailable: flag,
  subscriptionIdentifiersAvailable: flag,
  sharedSubscriptionAvailable: flag,
};

const ALLOWED: Readonly<Record<Context, readonly PropertyName[]>> = {
  connect: [
    "sessionExpiryInterval",
    "receiveMaximum",
    "maximumPacketSize",
    "topicAliasMaximum",
    "requestResponseInformation",
    "requestProblemInformation",
    "userProperties",
    "authenticationMethod",
    "authenticationData",
  ],
  will: [
    "willDelayInterval",
    "payloadFormatIndicator",
    "messageExpiryInterval",
    "contentType",
    "responseTopic",
    "correlationData",
    "userProperties",
  ],
  connack: [
    "sessionExpiryInterval",
    "receiveMaximum",
    "maximumQos",
    "retainAvailable",
    "maximumPacketSize",
    "assignedClientIdentifier",
    "topicAliasMaximum",
    "reasonString",
    "userProperties",
    "wildcardSubscriptionAvailable",
    "subscriptionIdentifiersAvailable",
    "sharedSubscriptionAvailable",
    "serverKeepAlive",
    "responseInformation",
    "serverReference",
    "authenticationMethod",
    "authenticationData",
  ],
  publish: [
    "payloadFormatIndicator",
    "messageExpiryInterval",
    "topicAlias",
    "responseTopic",
    "correlationData",
    "userProperties",
    "subscriptionIdentifiers",
    "contentType",
  ],
  ack: ["reasonString", "userProperties"],
  subscribe: ["subscriptionIdentifiers", "userProperties"],
  suback: ["reasonString", "userProperties"],
  unsubscribe: ["userProperties"],
  unsuback: ["reasonString", "userProperties"],
  disconnect: ["sessionExpiryInterval", "reasonString", "serverReference", "userProperties"],
  auth: ["authenticationMethod", "authenticationData", "reasonString", "userProperties"],
};

/** SeededRandom properties for a context, in random key order (which is wire order), or none. */
function randomProperties(rng: SeededRandom, context: Context): Properties | undefined {
  if (rng.chance(0.3)) return undefined;
  const keys = rng.shuffle(ALLOWED[context].filter(() => rng.chance(0.45)));
  const props: Record<string, unknown> = {};
  for (const key of keys) props[key] = VALUE[key](rng);
  // A SUBSCRIBE carries at most one subscription identifier (MQTT 5.0 §3.8.2.1.2).
  if (context === "subscribe" && props.subscriptionIdentifiers !== undefined) {
    props.subscriptionIdentifiers = [subscriptionId(rng)];
  }
  // Authentication Data without an Authentication Method is a protocol error (§3.1.2.11.10).
  if (props.authenticationData !== undefined && props.authenticationMethod === undefined) {
    delete props.authenticationData;
  }
  return Object.keys(props).length > 0 ? props as Properties : undefined;
}

// ---------------------------------------------------------------------------------------------
// SeededRandom packets
// ---------------------------------------------------------------------------------------------

function hexList(codes: string): number[] {
  return codes.split(" ").map((code) => parseInt(code, 16));
}

/** The reason codes each 5.0 packet may carry (MQTT 5.0 §3.2.2.2 to §3.15.2.1). */
const CONNACK_CODES_V5 = hexList(
  "00 80 81 82 83 84 85 86 87 88 89 8a 8c 90 95 97 99 9a 9b 9c 9d 9f",
);
const PUBACK_CODES = hexList("00 10 80 83 87 90 91 97 99");
const PUBREL_CODES = hexList("00 92");
const SUBACK_CODES_V5 = hexList("00 01 02 80 83 87 8f 91 97 9e a1 a2");
const SUBACK_CODES_V3 = hexList("00 01 02 80");
const UNSUBACK_CODES = hexList("00 11 80 83 87 8f 91");
const DISCONNECT_CODES = hexList(
  "00 04 80 81 82 83 87 89 8b 8d 8e 8f 90 93 94 95 96 97 98 99 9a 9b 9c 9d 9e 9f a0 a1 a2",
);
const AUTH_CODES = hexList("00 18 19");

/**
 * 3.x CONNACK return codes (MQTT 3.1.1 §3.2.2.3) and the 5.0 reason codes our model carries for
 * them, written out here rather than taken from the codec so that a wrong mapping fails.
 */
const V3_RETURN_CODE_OF: ReadonlyMap<number, number> = new Map([
  [0x00, 0], // Connection Accepted
  [0x84, 1], // unacceptable protocol version
  [0x85, 2], // identifier rejected
  [0x88, 3], // server unavailable
  [0x86, 4], // bad user name or password
  [0x87, 5], // not authorized
]);
const REASON_CODE_OF_V3: ReadonlyMap<number, number> = new Map(
  [...V3_RETURN_CODE_OF].map(([reason, ret]) => [ret, reason]),
);

/** Packet types with their weights; AUTH only in 5.0. */
const TYPE_WEIGHTS: readonly [PacketType, number][] = [
  ["connect", 10],
  ["connack", 6],
  ["publish", 24],
  ["puback", 5],
  ["pubrec", 5],
  ["pubrel", 5],
  ["pubcomp", 5],
  ["subscribe", 8],
  ["suback", 6],
  ["unsubscribe", 6],
  ["unsuback", 5],
  ["pingreq", 2],
  ["pingresp", 2],
  ["disconnect", 5],
  ["auth", 5],
];

function typesOf(version: ProtocolVersion): PacketType[] {
  return TYPE_WEIGHTS.map(([type]) => type).filter((type) => version === 5 || type !== "auth");
}

function pickType(rng: SeededRandom, version: ProtocolVersion): PacketType {
  const weights = TYPE_WEIGHTS.filter(([type]) => version === 5 || type !== "auth");
  let r = rng.next() * weights.reduce((sum, [, w]) => sum + w, 0);
  for (const [type, weight] of weights) {
    r -= weight;
    if (r < 0) return type;
  }
  return weights[weights.length - 1][0];
}

function randomConnect(rng: SeededRandom, version: ProtocolVersion): ConnectPacket {
  const clean = rng.chance(0.5);
  let clientId: string;
  if (version === 3) {
    // MQTT 3.1: 1 to 23 bytes.
    do clientId = nonEmptyText(rng, 12); while (utf8Length(clientId) > 23);
  } else {
    clientId = text(rng, 23);
    // An empty client id needs clean session / clean start for mqtt-packet's generator.
    if (clientId === "" && !clean) clientId = nonEmptyText(rng, 23);
  }
  const packet: ConnectPacket = {
    type: "connect",
    protocolVersion: version,
    clientId,
    clean,
    keepAlive: u16(rng),
  };
  if (rng.chance(0.4)) {
    const will: Will = {
      topic: topicName(rng),
      payload: binary(rng),
      qos: qos(rng),
      retain: rng.chance(0.5),
    };
    const props = version === 5 ? randomProperties(rng, "will") : undefined;
    if (props !== undefined) will.properties = props;
    packet.will = will;
  }
  // A password only with a user name: mqtt-packet cannot generate one without.
  if (rng.chance(0.5)) {
    packet.username = text(rng, 16);
    if (rng.chance(0.6)) packet.password = binary(rng);
  }
  const props = version === 5 ? randomProperties(rng, "connect") : undefined;
  if (props !== undefined) packet.properties = props;
  return packet;
}

function randomConnack(rng: SeededRandom, version: ProtocolVersion): ConnackPacket {
  const codes = version === 5 ? CONNACK_CODES_V5 : [...V3_RETURN_CODE_OF.keys()];
  const reasonCode = rng.chance(0.4) ? 0 : rng.pick(codes);
  // Session present only on success ([MQTT-3.2.2-4] in 3.1.1, [MQTT-3.2.2-6] in 5.0); MQTT 3.1
  // has no such flag.
  const packet: ConnackPacket = {
    type: "connack",
    sessionPresent: version !== 3 && reasonCode === 0 && rng.chance(0.5),
    reasonCode,
  };
  const props = version === 5 ? randomProperties(rng, "connack") : undefined;
  if (props !== undefined) packet.properties = props;
  return packet;
}

function randomPublish(rng: SeededRandom, version: ProtocolVersion, huge = false): PublishPacket {
  const level = qos(rng);
  let topic = topicName(rng);
  let properties = version === 5 ? randomProperties(rng, "publish") : undefined;
  if (version === 5 && rng.chance(0.1)) {
    // An empty topic name needs a topic alias to stand for it (MQTT 5.0 §3.3.2.1).
    topic = "";
    properties ??= {};
    properties.topicAlias ??= u16(rng, 1);
  }
  return {
    type: "publish",
    topic,
    payload: randomBytes(rng, huge ? FOUR_BYTE_LENGTH + rng.between(0, 300) : payloadLength(rng)),
    qos: level,
    retain: rng.chance(0.4),
    dup: level > 0 && rng.chance(0.3), // DUP is 0 at QoS 0 [MQTT-3.3.1-2]
    packetId: level > 0 ? packetId(rng) : undefined,
    properties,
  };
}

function randomAck(rng: SeededRandom, version: ProtocolVersion, type: AckType): AckPacket {
  const packet: AckPacket = { type, packetId: packetId(rng), reasonCode: 0 };
  if (version !== 5) return packet;
  const codes = type === "puback" || type === "pubrec" ? PUBACK_CODES : PUBREL_CODES;
  if (rng.chance(0.6)) packet.reasonCode = rng.pick(codes);
  const props = randomProperties(rng, "ack");
  if (props !== undefined) packet.properties = props;
  return packet;
}

function randomSubscribe(rng: SeededRandom, version: ProtocolVersion): SubscribePacket {
  const subscriptions: Subscription[] = [];
  const count = rng.between(1, 5);
  for (let i = 0; i < count; i++) {
    const filter = topicFilter(rng, version);
    const subscription: Subscription = {
      topicFilter: filter,
      qos: qos(rng),
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0,
    };
    if (version === 5) {
      // No Local on a shared subscription is a protocol error [MQTT-3.8.3-4].
      subscription.noLocal = !isShared(filter) && rng.chance(0.4);
      subscription.retainAsPublished = rng.chance(0.4);
      subscription.retainHandling = rng.between(0, 2) as 0 | 1 | 2;
    }
    subscriptions.push(subscription);
  }
  const packet: SubscribePacket = { type: "subscribe", packetId: packetId(rng), subscriptions };
  const props = version === 5 ? randomProperties(rng, "subscribe") : undefined;
  if (props !== undefined) packet.properties = props;
  return packet;
}

function randomSuback(rng: SeededRandom, version: ProtocolVersion): SubackPacket {
  const codes = version === 5 ? SUBACK_CODES_V5 : SUBACK_CODES_V3;
  const packet: SubackPacket = {
    type: "suback",
    packetId: packetId(rng),
    reasonCodes: Array.from({ length: rng.between(1, 5) }, () => rng.pick(codes)),
  };
  const props = version === 5 ? randomProperties(rng, "suback") : undefined;
  if (props !== undefined) packet.properties = props;
  return packet;
}

function randomUnsubscribe(rng: SeededRandom, version: ProtocolVersion): UnsubscribePacket {
  const packet: UnsubscribePacket = {
    type: "unsubscribe",
    packetId: packetId(rng),
    topicFilters: Array.from({ length: rng.between(1, 5) }, () => topicFilter(rng, version)),
  };
  const props = version === 5 ? randomProperties(rng, "unsubscribe") : undefined;
  if (props !== undefined) packet.properties = props;
  return packet;
}

function randomUnsuback(rng: SeededRandom, version: ProtocolVersion): UnsubackPacket {
  if (version !== 5) return { type: "unsuback", packetId: packetId(rng), reasonCodes: [] };
  const packet: UnsubackPacket = {
    type: "unsuback",
    packetId: packetId(rng),
    reasonCodes: Array.from({ length: rng.between(1, 5) }, () => rng.pick(UNSUBACK_CODES)),
  };
  const props = randomProperties(rng, "unsuback");
  if (props !== undefined) packet.properties = props;
  return packet;
}

function randomDisconnect(rng: SeededRandom, version: ProtocolVersion): DisconnectPacket {
  const packet: DisconnectPacket = { type: "disconnect", reasonCode: 0 };
  if (version !== 5) return packet;
  if (rng.chance(0.6)) packet.reasonCode = rng.pick(DISCONNECT_CODES);
  const props = randomProperties(rng, "disconnect");
  if (props !== undefined) packet.properties = props;
  return packet;
}

function randomAuth(rng: SeededRandom): AuthPacket {
  // Always an Authentication Method (§3.15.2.2.2), so never the short form mqtt-packet's
  // parser cannot read (see the module comment).
  const properties = randomProperties(rng, "auth") ?? {};
  properties.authenticationMethod ??= text(rng, 16);
  return { type: "auth", reasonCode: rng.pick(AUTH_CODES), properties };
}

function randomPacket(rng: SeededRandom, version: ProtocolVersion): Packet {
  const type = pickType(rng, version);
  switch (type) {
    case "connect":
      return randomConnect(rng, version);
    case "connack":
      return randomConnack(rng, version);
    case "publish":
      return randomPublish(rng, version);
    case "puback":
    case "pubrec":
    case "pubrel":
    case "pubcomp":
      return randomAck(rng, version, type);
    case "subscribe":
      return randomSubscribe(rng, version);
    case "suback":
      return randomSuback(rng, version);
    case "unsubscribe":
      return randomUnsubscribe(rng, version);
    case "unsuback":
      return randomUnsuback(rng, version);
    case "pingreq":
      return { type: "pingreq" };
    case "pingresp":
      return { type: "pingresp" };
    case "disconnect":
      return randomDisconnect(rng, version);
    case "auth":
      return randomAuth(rng);
  }
}

function packetSeed(baseSeed: number, version: ProtocolVersion, index: number): number {
  return (baseSeed + Math.imul(version, 0x85ebca6b) + Math.imul(index + 1, 0x9e3779b9)) >>> 0;
}

/** Packet `index` of a run for `version`: the same packet for the same base seed, always. */
function packetAt(baseSeed: number, version: ProtocolVersion, index: number): Packet {
  const rng = new SeededRandom(packetSeed(baseSeed, version, index));
  if (index % HUGE_EVERY === HUGE_EVERY - 1) return randomPublish(rng, version, true);
  return randomPacket(rng, version);
}

// ---------------------------------------------------------------------------------------------
// Translation: our model <-> mqtt-packet's objects
// ---------------------------------------------------------------------------------------------

/** A packet object as mqtt-packet generates from or parses to. */
type MpObject = Record<string, unknown>;
type MpGenerateInput = Parameters<typeof mqttPacket.generate>[0];

/** How a property's value is held: our model first, mqtt-packet's after the arrow. */
type PropertyKind =
  | "number" // number -> number
  | "flag" // 0 | 1 -> boolean (mqtt-packet type 'byte')
  | "string" // string -> string
  | "binary" // Uint8Array -> Buffer
  | "subscriptionIds" // number[] -> number | number[]
  | "user"; // [name, value][] -> {name: value | value[]}

/** Every 5.0 property: our key, mqtt-packet's key, and how the value translates. */
const PROPERTY_MAP: readonly [ours: PropertyName, theirs: string, kind: PropertyKind][] = [
  ["payloadFormatIndicator", "payloadFormatIndicator", "flag"],
  ["messageExpiryInterval", "messageExpiryInterval", "number"],
  ["contentType", "contentType", "string"],
  ["responseTopic", "responseTopic", "string"],
  ["correlationData", "correlationData", "binary"],
  ["subscriptionIdentifiers", "subscriptionIdentifier", "subscriptionIds"],
  ["sessionExpiryInterval", "sessionExpiryInterval", "number"],
  ["assignedClientIdentifier", "assignedClientIdentifier", "string"],
  ["serverKeepAlive", "serverKeepAlive", "number"],
  ["authenticationMethod", "authenticationMethod", "string"],
  ["authenticationData", "authenticationData", "binary"],
  ["requestProblemInformation", "requestProblemInformation", "flag"],
  ["willDelayInterval", "willDelayInterval", "number"],
  ["requestResponseInformation", "requestResponseInformation", "flag"],
  ["responseInformation", "responseInformation", "string"],
  ["serverReference", "serverReference", "string"],
  ["reasonString", "reasonString", "string"],
  ["receiveMaximum", "receiveMaximum", "number"],
  ["topicAliasMaximum", "topicAliasMaximum", "number"],
  ["topicAlias", "topicAlias", "number"],
  // mqtt-packet spells it maximumQoS and, unlike the other 0/1 properties, keeps a number.
  ["maximumQos", "maximumQoS", "number"],
  ["retainAvailable", "retainAvailable", "flag"],
  ["userProperties", "userProperties", "user"],
  ["maximumPacketSize", "maximumPacketSize", "number"],
  ["wildcardSubscriptionAvailable", "wildcardSubscriptionAvailable", "flag"],
  ["subscriptionIdentifiersAvailable", "subscriptionIdentifiersAvailable", "flag"],
  ["sharedSubscriptionAvailable", "sharedSubscriptionAvailable", "flag"],
];
const BY_OURS = new Map(PROPERTY_MAP.map(([ours, theirs, kind]) => [ours, { theirs, kind }]));
const BY_THEIRS = new Map(PROPERTY_MAP.map(([ours, theirs, kind]) => [theirs, { ours, kind }]));

/** A fresh plain Uint8Array with the bytes of a Buffer (deepStrictEqual compares prototypes). */
function bytesOf(value: unknown, what: string): Uint8Array {
  assert.ok(value instanceof Uint8Array, `${what} is not a Buffer: ${value}`);
  return new Uint8Array(value);
}

function numberOf(value: unknown, what: string): number {
  assert.equal(typeof value, "number", `${what} is not a number: ${value}`);
  return value as number;
}

function stringOf(value: unknown, what: string): string {
  assert.equal(typeof value, "string", `${what} is not a string: ${value}`);
  return value as string;
}

function booleanOf(value: unknown, what: string): boolean {
  assert.equal(typeof value, "boolean", `${what} is not a boolean: ${value}`);
  return value as boolean;
}

/**
 * Our properties as mqtt-packet's, keys in the same order: mqtt-packet writes properties in
 * key order, as we do, so the bytes can match. User properties become one key per name (our
 * generator groups them already, so the wire order survives).
 */
function toMqttPacketProperties(props: Properties | undefined): MpObject | undefined {
  if (props === undefined) return undefined;
  const out: MpObject = {};
  for (const [key, value] of Object.entries(props)) {
    const entry = BY_OURS.get(key as PropertyName);
    assert.ok(entry !== undefined, `no mqtt-packet name for property ${key}`);
    switch (entry.kind) {
      case "number":
      case "string":
        out[entry.theirs] = value;
        break;
      case "flag":
        out[entry.theirs] = value === 1;
        break;
      case "binary":
        out[entry.theirs] = Buffer.from(value as Uint8Array);
        break;
      case "subscriptionIds": {
        const ids = value as number[];
        out[entry.theirs] = ids.length === 1 ? ids[0] : [...ids];
        break;
      }
      case "user": {
        const grouped: Record<string, string | string[]> = Object.create(null);
        for (const [name, v] of value as UserProperty[]) {
          const existing = grouped[name];
          if (existing === undefined) grouped[name] = v;
          else if (Array.isArray(existing)) existing.push(v);
          else grouped[name] = [existing, v];
        }
        out[entry.theirs] = grouped;
        break;
      }
    }
  }
  return out;
}

/** mqtt-packet's parsed properties in our model; anything unexpected fails. */
function fromMqttPacketProperties(mp: unknown): Properties | undefined {
  if (mp === undefined) return undefined;
  assert.ok(typeof mp === "object" && mp !== null, `properties is not an object: ${mp}`);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(mp)) {
    const entry = BY_THEIRS.get(key);
    assert.ok(entry !== undefined, `mqtt-packet parsed an unknown property ${key}`);
    const what = `property ${key}`;
    switch (entry.kind) {
      case "number":
        out[entry.ours] = numberOf(value, what);
        break;
      case "string":
        out[entry.ours] = stringOf(value, what);
        break;
      case "flag":
        out[entry.ours] = booleanOf(value, what) ? 1 : 0;
        break;
      case "binary":
        out[entry.ours] = bytesOf(value, what);
        break;
      case "subscriptionIds":
        out[entry.ours] = Array.isArray(value)
          ? value.map((id) => numberOf(id, what))
          : [numberOf(value, what)];
        break;
      case "user": {
        assert.ok(typeof value === "object" && value !== null, `${what} is not an object`);
        const list: UserProperty[] = [];
        for (const [name, v] of Object.entries(value)) {
          for (const one of Array.isArray(v) ? v : [v]) list.push([name, stringOf(one, what)]);
        }
        out[entry.ours] = list;
        break;
      }
    }
  }
  return out as Properties;
}

/** Put `properties` on `target` only when there are some: decoded packets omit the key. */
function withProperties<T extends object>(target: T, props: Properties | undefined): T {
  if (props !== undefined) (target as { properties?: Properties }).properties = props;
  return target;
}

/** The mqtt-packet object for our packet, to generate from in `version`. */
function toMqttPacket(packet: Packet, version: ProtocolVersion): MpObject {
  const v5 = version === 5;
  switch (packet.type) {
    case "connect": {
      const mp: MpObject = {
        cmd: "connect",
        protocolId: version === 3 ? "MQIsdp" : "MQTT",
        protocolVersion: packet.protocolVersion,
        clientId: packet.clientId,
        clean: packet.clean,
        keepalive: packet.keepAlive,
        properties: toMqttPacketProperties(packet.properties),
      };
      if (packet.username !== undefined) mp.username = packet.username;
      if (packet.password !== undefined) mp.password = Buffer.from(packet.password);
      if (packet.will !== undefined) {
        mp.will = {
          topic: packet.will.topic,
          payload: Buffer.from(packet.will.payload),
          qos: packet.will.qos,
          retain: packet.will.retain,
          properties: toMqttPacketProperties(packet.will.properties),
        };
      }
      return mp;
    }
    case "connack":
      return v5
        ? {
          cmd: "connack",
          sessionPresent: packet.sessionPresent,
          reasonCode: packet.reasonCode,
          properties: toMqttPacketProperties(packet.properties),
        }
        : {
          cmd: "connack",
          sessionPresent: packet.sessionPresent,
          returnCode: V3_RETURN_CODE_OF.get(packet.reasonCode),
        };
    case "publish":
      return {
        cmd: "publish",
        topic: packet.topic,
        payload: Buffer.from(packet.payload),
        qos: packet.qos,
        retain: packet.retain,
        dup: packet.dup,
        messageId: packet.packetId,
        properties: toMqttPacketProperties(packet.properties),
      };
    case "puback":
    case "pubrec":
    case "pubrel":
    case "pubcomp":
      return {
        cmd: packet.type,
        messageId: packet.packetId,
        reasonCode: packet.reasonCode,
        properties: toMqttPacketProperties(packet.properties),
      };
    case "subscribe":
      return {
        cmd: "subscribe",
        messageId: packet.packetId,
        subscriptions: packet.subscriptions.map((s) => ({
          topic: s.topicFilter,
          qos: s.qos,
          nl: s.noLocal,
          rap: s.retainAsPublished,
          rh: s.retainHandling,
        })),
        properties: toMqttPacketProperties(packet.properties),
      };
    case "suback":
      return {
        cmd: "suback",
        messageId: packet.packetId,
        granted: [...packet.reasonCodes],
        properties: toMqttPacketProperties(packet.properties),
      };
    case "unsubscribe":
      return {
        cmd: "unsubscribe",
        messageId: packet.packetId,
        unsubscriptions: [...packet.topicFilters],
        properties: toMqttPacketProperties(packet.properties),
      };
    case "unsuback":
      return {
        cmd: "unsuback",
        messageId: packet.packetId,
        granted: [...packet.reasonCodes],
        properties: toMqttPacketProperties(packet.properties),
      };
    case "pingreq":
    case "pingresp":
      return { cmd: packet.type };
    case "disconnect":
    case "auth":
      return {
        cmd: packet.type,
        reasonCode: packet.reasonCode,
        properties: toMqttPacketProperties(packet.properties),
      };
  }
}

/** Fields of mqtt-packet's `Packet` class, present on every parsed packet. */
const BASE_KEYS = ["cmd", "retain", "qos", "dup", "length", "topic", "payload"];

/** Fail on a parsed field the translation would otherwise drop without looking. */
function expectOnlyKeys(mp: MpObject, keys: readonly string[]): void {
  for (const [key, value] of Object.entries(mp)) {
    if (value === undefined || BASE_KEYS.includes(key) || keys.includes(key)) continue;
    assert.fail(`mqtt-packet parsed an unexpected ${key}: ${JSON.stringify(value)}`);
  }
}

/** For every packet but PUBLISH the fixed header flags are fixed, and there is no payload. */
function expectPlainHeader(mp: MpObject, flagQos: number): void {
  assert.equal(mp.retain, false, "retain flag");
  assert.equal(mp.dup, false, "dup flag");
  assert.equal(mp.qos, flagQos, "qos bits of the fixed header");
  assert.equal(mp.topic, null, "topic");
  assert.equal(mp.payload, null, "payload");
}

/** A packet mqtt-packet parsed from bytes of `version`, in our model. */
function fromMqttPacket(mp: MpObject, version: ProtocolVersion): Packet {
  const v5 = version === 5;
  const cmd = stringOf(mp.cmd, "cmd");
  if (cmd !== "publish") {
    expectPlainHeader(mp, cmd === "pubrel" || cmd === "subscribe" || cmd === "unsubscribe" ? 1 : 0);
  }
  switch (cmd) {
    case "connect": {
      expectOnlyKeys(mp, [
        "protocolId",
        "protocolVersion",
        "clean",
        "keepalive",
        "properties",
        "clientId",
        "will",
        "username",
        "password",
      ]);
      assert.equal(mp.protocolId, version === 3 ? "MQIsdp" : "MQTT", "protocol name");
      const packet: ConnectPacket = {
        type: "connect",
        protocolVersion: numberOf(mp.protocolVersion, "protocolVersion") as ProtocolVersion,
        clientId: stringOf(mp.clientId, "clientId"),
        clean: booleanOf(mp.clean, "clean"),
        keepAlive: numberOf(mp.keepalive, "keepalive"),
      };
      if (mp.will !== undefined) {
        const will = mp.will as MpObject;
        packet.will = withProperties<Will>({
          topic: stringOf(will.topic, "will topic"),
          payload: bytesOf(will.payload, "will payload"),
          qos: numberOf(will.qos, "will qos") as QoS,
          retain: booleanOf(will.retain, "will retain"),
        }, fromMqttPacketProperties(will.properties));
      }
      if (mp.username !== undefined) packet.username = stringOf(mp.username, "username");
      if (mp.password !== undefined) packet.password = bytesOf(mp.password, "password");
      return withProperties(packet, fromMqttPacketProperties(mp.properties));
    }
    case "connack": {
      expectOnlyKeys(
        mp,
        v5 ? ["sessionPresent", "reasonCode", "properties"] : [
          "sessionPresent",
          "returnCode",
        ],
      );
      const returnCode = v5 ? undefined : numberOf(mp.returnCode, "returnCode");
      const reasonCode = v5
        ? numberOf(mp.reasonCode, "reasonCode")
        : REASON_CODE_OF_V3.get(returnCode!);
      assert.ok(reasonCode !== undefined, `unknown 3.x CONNACK return code ${returnCode}`);
      return withProperties<ConnackPacket>({
        type: "connack",
        sessionPresent: booleanOf(mp.sessionPresent, "sessionPresent"),
        reasonCode,
      }, fromMqttPacketProperties(mp.properties));
    }
    case "publish": {
      expectOnlyKeys(mp, ["messageId", "properties"]);
      const level = numberOf(mp.qos, "qos") as QoS;
      if (level === 0) assert.equal(mp.messageId, undefined, "messageId at QoS 0");
      return {
        type: "publish",
        topic: stringOf(mp.topic, "topic"),
        payload: bytesOf(mp.payload, "payload"),
        qos: level,
        retain: booleanOf(mp.retain, "retain"),
        dup: booleanOf(mp.dup, "dup"),
        packetId: level > 0 ? numberOf(mp.messageId, "messageId") : undefined,
        properties: fromMqttPacketProperties(mp.properties),
      };
    }
    case "puback":
    case "pubrec":
    case "pubrel":
    case "pubcomp":
      expectOnlyKeys(mp, v5 ? ["messageId", "reasonCode", "properties"] : ["messageId"]);
      return withProperties<AckPacket>({
        type: cmd,
        packetId: numberOf(mp.messageId, "messageId"),
        reasonCode: v5 ? numberOf(mp.reasonCode, "reasonCode") : 0,
      }, fromMqttPacketProperties(mp.properties));
    case "subscribe": {
      expectOnlyKeys(mp, ["messageId", "subscriptions", "properties"]);
      assert.ok(Array.isArray(mp.subscriptions), "subscriptions is not an array");
      const subscriptions = (mp.subscriptions as MpObject[]).map((s): Subscription => {
        expectOnlyKeys(s, v5 ? ["nl", "rap", "rh"] : []);
        return {
          topicFilter: stringOf(s.topic, "subscription topic"),
          qos: numberOf(s.qos, "subscription qos") as QoS,
          noLocal: v5 ? booleanOf(s.nl, "nl") : false,
          retainAsPublished: v5 ? booleanOf(s.rap, "rap") : false,
          retainHandling: v5 ? numberOf(s.rh, "rh") as 0 | 1 | 2 : 0,
        };
      });
      return withProperties<SubscribePacket>({
        type: "subscribe",
        packetId: numberOf(mp.messageId, "messageId"),
        subscriptions,
      }, fromMqttPacketProperties(mp.properties));
    }
    case "suback":
      expectOnlyKeys(mp, ["messageId", "granted", "properties"]);
      assert.ok(Array.isArray(mp.granted), "granted is not an array");
      return withProperties<SubackPacket>({
        type: "suback",
        packetId: numberOf(mp.messageId, "messageId"),
        reasonCodes: mp.granted.map((code) => numberOf(code, "granted")),
      }, fromMqttPacketProperties(mp.properties));
    case "unsubscribe":
      expectOnlyKeys(mp, ["messageId", "unsubscriptions", "properties"]);
      assert.ok(Array.isArray(mp.unsubscriptions), "unsubscriptions is not an array");
      return withProperties<UnsubscribePacket>({
        type: "unsubscribe",
        packetId: numberOf(mp.messageId, "messageId"),
        topicFilters: mp.unsubscriptions.map((f) => stringOf(f, "unsubscription")),
      }, fromMqttPacketProperties(mp.properties));
    case "unsuback":
      expectOnlyKeys(mp, v5 ? ["messageId", "granted", "properties"] : ["messageId"]);
      if (v5) assert.ok(Array.isArray(mp.granted), "granted is not an array");
      return withProperties<UnsubackPacket>({
        type: "unsuback",
        packetId: numberOf(mp.messageId, "messageId"),
        reasonCodes: v5 ? (mp.granted as unknown[]).map((code) => numberOf(code, "granted")) : [],
      }, fromMqttPacketProperties(mp.properties));
    case "pingreq":
    case "pingresp":
      expectOnlyKeys(mp, []);
      return { type: cmd };
    case "disconnect":
      expectOnlyKeys(mp, v5 ? ["reasonCode", "properties"] : []);
      return withProperties<DisconnectPacket>({
        type: "disconnect",
        reasonCode: v5 ? numberOf(mp.reasonCode, "reasonCode") : 0,
      }, fromMqttPacketProperties(mp.properties));
    case "auth":
      assert.ok(v5, "AUTH parsed outside MQTT 5.0");
      expectOnlyKeys(mp, ["reasonCode", "properties"]);
      return withProperties<AuthPacket>({
        type: "auth",
        reasonCode: numberOf(mp.reasonCode, "reasonCode"),
      }, fromMqttPacketProperties(mp.properties));
    default:
      return assert.fail(`mqtt-packet parsed an unknown cmd ${cmd}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Running mqtt-packet, comparing bytes, reporting
// ---------------------------------------------------------------------------------------------

/** Parse one whole packet with a fresh mqtt-packet parser; an 'error' event fails. */
function parseWithMqttPacket(bytes: Uint8Array, version: ProtocolVersion): MpObject {
  const parser = mqttPacket.parser({ protocolVersion: version });
  const packets: MpObject[] = [];
  const errors: unknown[] = [];
  parser.on("packet", (p) => packets.push(p as unknown as MpObject));
  parser.on("error", (e) => errors.push(e));
  const left = parser.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
  if (errors.length > 0) assert.fail(`mqtt-packet's parser emitted an error: ${errors[0]}`);
  assert.equal(packets.length, 1, "mqtt-packet's parser emitted no packet (or several)");
  assert.equal(left, 0, "mqtt-packet's parser left bytes unconsumed");
  return packets[0];
}

/** Generate with mqtt-packet; the result as a plain Uint8Array view. */
function generateWithMqttPacket(packet: Packet, version: ProtocolVersion): Uint8Array {
  const buffer = mqttPacket.generate(
    toMqttPacket(packet, version) as unknown as MpGenerateInput,
    { protocolVersion: version },
  );
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
}

/** Size of the remaining length field of an encoded packet. */
function remainingLengthBytes(bytes: Uint8Array): number {
  let n = 1;
  while (n < 4 && bytes[n] & 0x80) n++;
  return n;
}

function hex(bytes: Uint8Array, max = 64): string {
  const shown = Array.from(bytes.subarray(0, max), (b) => b.toString(16).padStart(2, "0"));
  return shown.join(" ") + (bytes.length > max ? ` ... (${bytes.length} bytes)` : "");
}

function assertSameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  const n = Math.min(actual.length, expected.length);
  let i = 0;
  while (i < n && actual[i] === expected[i]) i++;
  if (i === n && actual.length === expected.length) return;
  const from = Math.max(0, i - 8);
  assert.fail(
    `${what}: first difference at byte ${i} (${actual.length} vs ${expected.length} bytes)\n` +
      `  actual   [${from}..]: ${hex(actual.subarray(from), 40)}\n` +
      `  expected [${from}..]: ${hex(expected.subarray(from), 40)}`,
  );
}

const ACK_FIRST_BYTE: Readonly<Record<AckType, number>> = {
  puback: 0x40,
  pubrec: 0x50,
  pubrel: 0x62,
  pubcomp: 0x70,
};

/**
 * The bytes mqtt-packet must generate for `packet`, given our encoding `ours`: the same bytes,
 * except in two places where MQTT 5.0 allows a shorter form, we use it (as Mosquitto does) and
 * mqtt-packet does not. There the two forms are written out and both are checked.
 */
function expectedMqttPacketBytes(
  packet: Packet,
  ours: Uint8Array,
  version: ProtocolVersion,
): Uint8Array {
  if (version !== 5 || packet.type === "auth" || !("reasonCode" in packet)) return ours;
  if (packet.properties !== undefined) return ours;
  switch (packet.type) {
    case "puback":
    case "pubrec":
    case "pubrel":
    case "pubcomp": {
      // MQTT 5.0 §3.4.2.2.1: with no properties the Property Length may be left out. A zero
      // reason code may go too (§3.4.2.1), and there both encoders write `4x 02 id id`.
      if (packet.reasonCode === 0) return ours;
      const first = ACK_FIRST_BYTE[packet.type];
      const [hi, lo] = [packet.packetId >> 8, packet.packetId & 0xff];
      assertSameBytes(ours, Uint8Array.of(first, 3, hi, lo, packet.reasonCode), "our short ack");
      return Uint8Array.of(first, 4, hi, lo, packet.reasonCode, 0);
    }
    case "disconnect":
      // MQTT 5.0 §3.14.2.1, §3.14.2.2.1: reason code 0 and no properties may be left out, and
      // the Property Length with no properties. mqtt-packet always writes both.
      assertSameBytes(
        ours,
        packet.reasonCode === 0
          ? Uint8Array.of(0xe0, 0)
          : Uint8Array.of(0xe0, 1, packet.reasonCode),
        "our short DISCONNECT",
      );
      return Uint8Array.of(0xe0, 2, packet.reasonCode, 0);
    default:
      return ours;
  }
}

/** JSON for failure messages, byte arrays as (shortened) hex. */
function describe(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (v instanceof Uint8Array) return `<${hex(v, 32)}>`;
    return v === undefined ? "<undefined>" : v;
  });
}

/** Run `check` on every packet of a run, naming the packet, its seed and bytes on failure. */
function forEachPacket(
  version: ProtocolVersion,
  check: (packet: Packet, note: (bytes: Uint8Array, what: string) => void) => void,
): void {
  for (let index = 0; index < PACKETS_PER_VERSION; index++) {
    const packet = packetAt(BASE_SEED, version, index);
    const notes: string[] = [];
    try {
      check(packet, (bytes, what) => notes.push(`${what}: ${hex(bytes)}`));
    } catch (error) {
      const seed = hex32(packetSeed(BASE_SEED, version, index));
      assert.fail(
        `${VERSION_NAME[version]} packet #${index} (packet seed ${seed}, ` +
          `MIDGE_INTEROP_SEED=${hex32(BASE_SEED)}; rebuild with ` +
          `packetAt(${hex32(BASE_SEED)}, ${version}, ${index}))\n` +
          `packet: ${describe(packet)}\n${notes.join("\n")}\n` +
          (error instanceof Error ? error.message : String(error)),
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Coverage: what the runs must contain, so that a generator change cannot quietly narrow them
// ---------------------------------------------------------------------------------------------

function propertyFeatures(context: Context, props: Properties | undefined): string[] {
  if (props === undefined) return [];
  const out = Object.keys(props).map((key) => `${context} property ${key}`);
  const names = props.userProperties?.map(([name]) => name) ?? [];
  if (new Set(names).size < names.length) out.push("repeated user property name");
  if (names.length > 1) out.push("several user properties");
  if ((props.subscriptionIdentifiers?.length ?? 0) > 1) out.push("several subscription ids");
  return out;
}

function featuresOf(packet: Packet, bytes: Uint8Array): string[] {
  const out = [packet.type, `remaining length of ${remainingLengthBytes(bytes)} bytes`];
  const json = JSON.stringify(packet, (_key, v) => v instanceof Uint8Array ? null : v);
  if (/[^ -~]/.test(json)) out.push("non-ASCII string");
  if (/[\u{10000}-\u{10ffff}]/u.test(json)) out.push("4-byte UTF-8 character");
  if (json.includes('"\ufeff')) out.push("string starting with U+FEFF");
  switch (packet.type) {
    case "connect":
      if (packet.clientId === "") out.push("connect with empty client id");
      if (packet.will !== undefined) {
        out.push(`connect with will at QoS ${packet.will.qos}`);
        if (packet.will.retain) out.push("connect with retained will");
        out.push(...propertyFeatures("will", packet.will.properties));
      } else {
        out.push("connect without will");
      }
      if (packet.username !== undefined) out.push("connect with username");
      if (packet.password !== undefined) out.push("connect with password");
      if (packet.username === undefined) out.push("connect without username");
      out.push(...propertyFeatures("connect", packet.properties));
      break;
    case "connack":
      out.push(`connack reason code ${packet.reasonCode}`);
      if (packet.sessionPresent) out.push("connack with session present");
      out.push(...propertyFeatures("connack", packet.properties));
      break;
    case "publish":
      out.push(`publish at QoS ${packet.qos}`);
      if (packet.retain) out.push("publish retained");
      if (packet.dup) out.push("publish dup");
      if (packet.payload.length === 0) out.push("publish with empty payload");
      if (packet.topic === "") out.push("publish with topic alias only");
      out.push(...propertyFeatures("publish", packet.properties));
      break;
    case "puback":
    case "pubrec":
    case "pubrel":
    case "pubcomp":
      out.push(`${packet.type} ${packet.reasonCode === 0 ? "success" : "failure"}`);
      out.push(...propertyFeatures("ack", packet.properties));
      break;
    case "subscribe":
      for (const s of packet.subscriptions) {
        out.push(`subscribe at QoS ${s.qos}`, `retain handling ${s.retainHandling}`);
        if (s.topicFilter.includes("+")) out.push("filter with +");
        if (s.topicFilter.endsWith("#")) out.push("filter with #");
        if (isShared(s.topicFilter)) out.push("shared subscription");
        if (s.noLocal) out.push("no local");
        if (s.retainAsPublished) out.push("retain as published");
      }
      if (packet.subscriptions.length > 1) out.push("several subscriptions");
      out.push(...propertyFeatures("subscribe", packet.properties));
      break;
    case "suback":
      for (const code of packet.reasonCodes) out.push(`suback code ${code}`);
      out.push(...propertyFeatures("suback", packet.properties));
      break;
    case "unsubscribe":
      if (packet.topicFilters.length > 1) out.push("several unsubscriptions");
      out.push(...propertyFeatures("unsubscribe", packet.properties));
      break;
    case "unsuback":
      if (packet.reasonCodes.length > 1) out.push("several unsuback codes");
      out.push(...propertyFeatures("unsuback", packet.properties));
      break;
    case "disconnect":
      out.push(`disconnect ${packet.reasonCode === 0 ? "normal" : "with reason"}`);
      out.push(...propertyFeatures("disconnect", packet.properties));
      break;
    case "auth":
      out.push(`auth reason code ${packet.reasonCode}`);
      out.push(...propertyFeatures("auth", packet.properties));
      break;
  }
  return out;
}

function requiredFeatures(version: ProtocolVersion): string[] {
  const v5 = version === 5;
  const out: string[] = [...typesOf(version)];
  for (let n = 1; n <= 4; n++) out.push(`remaining length of ${n} bytes`);
  out.push("non-ASCII string", "4-byte UTF-8 character", "string starting with U+FEFF");
  out.push("connect without will", "connect with retained will", "connect with username");
  out.push("connect with password", "connect without username");
  if (version !== 3) out.push("connect with empty client id", "connack with session present");
  for (const level of [0, 1, 2]) {
    out.push(`connect with will at QoS ${level}`, `publish at QoS ${level}`);
    out.push(`subscribe at QoS ${level}`);
  }
  out.push("publish retained", "publish dup", "publish with empty payload");
  out.push("filter with +", "filter with #", "several subscriptions", "several unsubscriptions");
  for (const type of ["puback", "pubrec", "pubrel", "pubcomp"]) out.push(`${type} success`);
  for (const code of v5 ? [0, 0x84, 0x87, 0x9f] : V3_RETURN_CODE_OF.keys()) {
    out.push(`connack reason code ${code}`);
  }
  for (const code of v5 ? SUBACK_CODES_V5 : SUBACK_CODES_V3) out.push(`suback code ${code}`);
  if (!v5) return out;
  out.push("publish with topic alias only", "shared subscription", "no local");
  out.push("retain as published", "retain handling 0", "retain handling 1", "retain handling 2");
  out.push("repeated user property name", "several user properties", "several subscription ids");
  out.push("several unsuback codes", "disconnect normal", "disconnect with reason");
  for (const type of ["puback", "pubrec", "pubrel", "pubcomp"]) out.push(`${type} failure`);
  for (const code of AUTH_CODES) out.push(`auth reason code ${code}`);
  for (const [context, keys] of Object.entries(ALLOWED)) {
    for (const key of keys) out.push(`${context} property ${key}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

const COUNT = PACKETS_PER_VERSION.toLocaleString("en-US");

for (const version of VERSIONS) {
  const name = VERSION_NAME[version];

  Deno.test(`the ${COUNT} random packets cover every packet type and feature (${name})`, () => {
    const seen = new Map<string, number>();
    for (let index = 0; index < PACKETS_PER_VERSION; index++) {
      const packet = packetAt(BASE_SEED, version, index);
      for (const feature of featuresOf(packet, encodePacket(packet, version))) {
        seen.set(feature, (seen.get(feature) ?? 0) + 1);
      }
    }
    const missing = requiredFeatures(version).filter((feature) => !seen.has(feature));
    assert.deepEqual(missing, [], `not generated (MIDGE_INTEROP_SEED=${hex32(BASE_SEED)})`);
    if (version !== 5) assert.equal(seen.get("auth"), undefined, "AUTH generated before 5.0");
  });

  Deno.test(`mqtt-packet parses ${COUNT} packets we encode (${name})`, () => {
    forEachPacket(version, (packet, note) => {
      const ours = encodePacket(packet, version);
      note(ours, "our bytes");
      const parsed = parseWithMqttPacket(ours, version);
      assert.equal(parsed.length, ours.length - 1 - remainingLengthBytes(ours), "remaining length");
      assert.deepStrictEqual(fromMqttPacket(parsed, version), packet);
    });
  });

  Deno.test(`we decode ${COUNT} packets mqtt-packet generates, byte for byte (${name})`, () => {
    forEachPacket(version, (packet, note) => {
      const theirs = generateWithMqttPacket(packet, version);
      note(theirs, "mqtt-packet's bytes");
      assert.deepStrictEqual(decodePacket(theirs, version), packet);
      const ours = encodePacket(packet, version);
      note(ours, "our bytes");
      assertSameBytes(
        theirs,
        expectedMqttPacketBytes(packet, ours, version),
        "mqtt-packet's bytes",
      );
    });
  });
}
