/**
 * Fuzzing the decoding contract of the codec: whatever bytes arrive, `decodePacket` and the
 * `FrameReader` either return a packet (a frame) or throw an `MqttError` with a reason code in
 * 0x80..0xA2, and nothing else. A mutated packet that does decode must re-encode, and the
 * re-encoding must decode to the same packet.
 *
 * The inputs are mutations of a corpus of valid packets of every type and version, driven by a
 * seeded PRNG (mulberry32), so a run is deterministic. `MIDGE_FUZZ_SEED=0x1234` picks another
 * run and `MIDGE_FUZZ_CASES=1000000` makes it longer; every failure names the seed of its case
 * and the bytes, shrunk where it can be.
 */

import assert from "node:assert/strict";
import {
  decodePacket,
  encodePacket,
  FrameReader,
  MqttError,
  type Packet,
  PROPERTY_DEFINITIONS,
  type ProtocolVersion,
} from "../../src/codec/mod.ts";
import { SeededRandom } from "../fixtures/random.ts";

const VERSIONS: readonly ProtocolVersion[] = [3, 4, 5];
/** Mutated inputs per version: 3 x 35,000 = 105,000 per run (`MIDGE_FUZZ_CASES` for a soak). */
const CASES_PER_VERSION = envNumber("MIDGE_FUZZ_CASES", 35_000);
/** The run's seed (`MIDGE_FUZZ_SEED` for another run); each case derives its own from it. */
const RUN_SEED = envNumber("MIDGE_FUZZ_SEED", 0x4d494447) >>> 0;
/** Distinct failures spelt out in a failure message. */
const MAX_REPORTED = 6;
const SHRINK_ATTEMPTS = 3_000;
const INTERESTING_BYTES = [
  0x00,
  0x01,
  0x02,
  0x03,
  0x0b,
  0x20,
  0x23,
  0x26,
  0x2b,
  0x2f,
  0x30,
  0x7f,
  0x80,
  0x81,
  0xbf,
  0xc0,
  0xc1,
  0xc2,
  0xe0,
  0xed,
  0xef,
  0xf0,
  0xf4,
  0xf5,
  0xfe,
  0xff,
];
const INTERESTING_LENGTHS = [
  0,
  1,
  2,
  0x7f,
  0x80,
  0xff,
  0x100,
  0x3fff,
  0x4000,
  0x7fff,
  0x8000,
  0xfffe,
  0xffff,
  0x1f_ffff,
  0x20_0000,
  0xfff_ffff,
];

/** Byte strings the decoder gives meaning to, inserted or written whole. */
const DICTIONARY: readonly Uint8Array[] = [
  "$share/",
  "$share//",
  "$share/+/",
  "$SYS/",
  "/",
  "+",
  "#",
  "/#",
  "\u0004MQTT",
  "\u0006MQIsdp",
  "\ufeff",
].map((s) => new TextEncoder().encode(s)).concat([
  Uint8Array.of(0x00), // U+0000
  Uint8Array.of(0xc0, 0x80), // overlong U+0000
  Uint8Array.of(0xe0, 0x80, 0x80), // overlong
  Uint8Array.of(0xed, 0xa0, 0x80), // surrogate U+D800
  Uint8Array.of(0xed, 0xbf, 0xbf), // surrogate U+DFFF
  Uint8Array.of(0xef, 0xbf, 0xbf), // U+FFFF
  Uint8Array.of(0xf4, 0x8f, 0xbf, 0xbf), // U+10FFFF
  Uint8Array.of(0xf4, 0x90, 0x80, 0x80), // above U+10FFFF
  Uint8Array.of(0xf8, 0x88, 0x80, 0x80, 0x80), // 5-byte form
  Uint8Array.of(0x26, 0x00, 0x00, 0x00, 0x00), // empty user property
  Uint8Array.of(0x0b, 0x00), // subscription identifier 0
  Uint8Array.of(0x0b, 0xff, 0xff, 0xff, 0x7f), // subscription identifier 268,435,455
  Uint8Array.of(0x23, 0x00, 0x00), // topic alias 0
  Uint8Array.of(0x01, 0x02), // payload format indicator 2
]);

// ---------------------------------------------------------------------------------------------
// Deterministic randomness

/** The seed of one case, mixed from the run's seed, the version and the case number. */
function caseSeed(base: number, version: number, index: number): number {
  let h = (base ^ Math.imul(version, 0x85ebca6b) ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A number from the environment (`0x` hex allowed), or `fallback`. */
function envNumber(name: string, fallback: number): number {
  if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
    return fallback;
  }
  const text = Deno.env.get(name);
  return text === undefined ? fallback : Number(text);
}

// ---------------------------------------------------------------------------------------------
// Bytes

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** `value` as a Variable Byte Integer: minimal, or padded with `extra` needless bytes. */
function varintBytes(value: number, extra = 0): Uint8Array {
  const out: number[] = [];
  do {
    out.push(value % 128);
    value = Math.floor(value / 128);
  } while (value > 0);
  for (let k = 0; k < extra; k++) out.push(0);
  for (let k = 0; k < out.length - 1; k++) out[k] |= 0x80;
  return Uint8Array.from(out);
}

/** Replace `bytes[at, at + count)` with `insert`. */
function replace(bytes: Uint8Array, at: number, count: number, insert: Uint8Array): Uint8Array {
  return concat([bytes.subarray(0, at), insert, bytes.subarray(at + count)]);
}

/** Rewrite the remaining length so that it announces the bytes that follow it. */
function fixRemainingLength(bytes: Uint8Array): Uint8Array {
  if (bytes.length === 0) return bytes;
  let i = 1;
  while (i < bytes.length && i < 4 && (bytes[i] & 0x80) !== 0) i++;
  const body = bytes.subarray(Math.min(i + 1, bytes.length));
  return concat([bytes.subarray(0, 1), varintBytes(body.length), body]);
}

// ---------------------------------------------------------------------------------------------
// The corpus: valid packets of every type, and where their length fields are

const LONG = "sensors/building-42/floor-7/room-311/temperature/celsius";
const UNICODE = "capteurs/température/日本/😀/\uffff";
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const ramp = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i & 0xff);

function seedPackets(version: ProtocolVersion): Packet[] {
  const v5 = version === 5;
  const users: [string, string][] = [["a", "1"], ["a", "2"], ["région", "é"]];
  const seeds: Packet[] = [
    { type: "connect", protocolVersion: version, clientId: "", clean: true, keepAlive: 0 },
    {
      type: "connect",
      protocolVersion: version,
      clientId: "midge-client-1",
      clean: false,
      keepAlive: 60,
      username: "user",
      password: utf8("secret"),
      will: {
        topic: "clients/1/status",
        payload: utf8("offline"),
        qos: 1,
        retain: true,
        properties: v5
          ? {
            willDelayInterval: 5,
            payloadFormatIndicator: 1,
            messageExpiryInterval: 120,
            contentType: "text/plain",
            responseTopic: "replies/1",
            correlationData: ramp(4),
            userProperties: [["k", "v"]],
          }
          : undefined,
      },
      properties: v5
        ? {
          sessionExpiryInterval: 3600,
          receiveMaximum: 20,
          maximumPacketSize: 1 << 20,
          topicAliasMaximum: 10,
          requestResponseInformation: 1,
          requestProblemInformation: 0,
          userProperties: users,
          authenticationMethod: "SCRAM-SHA-1",
          authenticationData: ramp(8),
        }
        : undefined,
    },
    {
      type: "connect",
      protocolVersion: version,
      clientId: UNICODE,
      clean: true,
      keepAlive: 0xffff,
      username: LONG,
      will: { topic: LONG, payload: new Uint8Array(0), qos: 2, retain: false },
    },
    // 3.1 has no session present flag.
    { type: "connack", sessionPresent: version !== 3, reasonCode: 0 },
    { type: "connack", sessionPresent: false, reasonCode: 0x87 },
    { type: "publish", topic: "a/b", payload: utf8("hello"), qos: 0, retain: false, dup: false },
    {
      type: "publish",
      topic: LONG,
      payload: ramp(200),
      qos: 1,
      retain: true,
      dup: false,
      packetId: 1,
    },
    {
      type: "publish",
      topic: UNICODE,
      payload: new Uint8Array(0),
      qos: 2,
      retain: false,
      dup: true,
      packetId: 0xffff,
    },
    {
      type: "publish",
      topic: "\ufeffbom/topic",
      payload: utf8("x"),
      qos: 0,
      retain: false,
      dup: false,
    },
    { type: "puback", packetId: 1, reasonCode: 0 },
    { type: "pubrec", packetId: 0xffff, reasonCode: 0 },
    { type: "pubrel", packetId: 2, reasonCode: 0 },
    { type: "pubcomp", packetId: 3, reasonCode: 0 },
    {
      type: "subscribe",
      packetId: 10,
      subscriptions: [
        sub("sensors/+/temperature", 1),
        sub("#", 2),
        sub("$SYS/broker/load/#", 0),
        sub(UNICODE, 1),
      ],
    },
    { type: "suback", packetId: 10, reasonCodes: [0, 1, 2, 0x80] },
    { type: "unsubscribe", packetId: 11, topicFilters: ["a/b", "sensors/#", LONG] },
    { type: "unsuback", packetId: 11, reasonCodes: v5 ? [0x00, 0x11, 0x87] : [] },
    { type: "pingreq" },
    { type: "pingresp" },
    { type: "disconnect", reasonCode: 0 },
  ];
  if (version !== 4) {
    seeds.push({
      type: "connect",
      protocolVersion: version,
      clientId: "password-only",
      clean: true,
      keepAlive: 10,
      password: ramp(3),
    });
  }
  if (!v5) {
    for (const reasonCode of [0x84, 0x85, 0x88, 0x86]) {
      seeds.push({ type: "connack", sessionPresent: false, reasonCode });
    }
    seeds.push({
      type: "subscribe",
      packetId: 1,
      subscriptions: [sub("$share/group/a/b", 0), sub("a/b", 0)],
    });
    return seeds;
  }
  seeds.push(
    {
      type: "connack",
      sessionPresent: false,
      reasonCode: 0,
      properties: {
        sessionExpiryInterval: 0xffffffff,
        receiveMaximum: 100,
        maximumQos: 1,
        retainAvailable: 0,
        maximumPacketSize: 65536,
        assignedClientIdentifier: "auto-5f0c6b3e-9a51-4b7a-8d0e-1c2f3a4b5c6d",
        topicAliasMaximum: 16,
        reasonString: "welcome",
        userProperties: users,
        wildcardSubscriptionAvailable: 1,
        subscriptionIdentifiersAvailable: 0,
        sharedSubscriptionAvailable: 1,
        serverKeepAlive: 30,
        responseInformation: "responses/",
        serverReference: "other.example:1883",
        authenticationMethod: "SCRAM-SHA-1",
        authenticationData: ramp(5),
      },
    },
    {
      type: "publish",
      topic: "requests/service",
      payload: utf8('{"temperature":21.5}'),
      qos: 1,
      retain: false,
      dup: false,
      packetId: 7,
      properties: {
        payloadFormatIndicator: 1,
        messageExpiryInterval: 60,
        contentType: "application/json",
        responseTopic: "replies/client-1",
        correlationData: ramp(16),
        userProperties: users,
        subscriptionIdentifiers: [1, 268_435_455],
        topicAlias: 3,
      },
    },
    {
      type: "publish",
      topic: "",
      payload: utf8("aliased"),
      qos: 0,
      retain: false,
      dup: false,
      properties: { topicAlias: 7 },
    },
    { type: "puback", packetId: 5, reasonCode: 0x10 },
    {
      type: "pubrec",
      packetId: 6,
      reasonCode: 0x80,
      properties: { reasonString: "quota", userProperties: [["x", "y"]] },
    },
    { type: "pubrel", packetId: 7, reasonCode: 0x92, properties: { reasonString: "gone" } },
    { type: "pubcomp", packetId: 8, reasonCode: 0, properties: { userProperties: [["z", ""]] } },
    {
      type: "subscribe",
      packetId: 12,
      subscriptions: [
        { topicFilter: "a/+", qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 1 },
        {
          topicFilter: "$share/group/x/#",
          qos: 2,
          noLocal: false,
          retainAsPublished: false,
          retainHandling: 2,
        },
        sub("c", 0),
      ],
      properties: { subscriptionIdentifiers: [42], userProperties: users },
    },
    {
      type: "suback",
      packetId: 12,
      reasonCodes: [0, 1, 2, 0x80, 0x87, 0x8f, 0x9e, 0xa1, 0xa2],
      properties: { reasonString: "partly", userProperties: [["k", "v"]] },
    },
    {
      type: "unsubscribe",
      packetId: 13,
      topicFilters: ["$share/g/t", "a/#"],
      properties: { userProperties: [["k", "v"]] },
    },
    {
      type: "unsuback",
      packetId: 13,
      reasonCodes: [0x00, 0x11],
      properties: { reasonString: "done", userProperties: [["k", "v"]] },
    },
    { type: "disconnect", reasonCode: 0x04 },
    {
      type: "disconnect",
      reasonCode: 0x9c,
      properties: {
        sessionExpiryInterval: 0,
        reasonString: "moved",
        serverReference: "other.example:1883",
        userProperties: [["k", "v"]],
      },
    },
    { type: "auth", reasonCode: 0 },
    {
      type: "auth",
      reasonCode: 0x18,
      properties: {
        authenticationMethod: "SCRAM-SHA-1",
        authenticationData: ramp(32),
        reasonString: "continue",
        userProperties: [["k", "v"]],
      },
    },
    { type: "auth", reasonCode: 0x19, properties: { authenticationMethod: "SCRAM-SHA-1" } },
  );
  return seeds;
}

function sub(topicFilter: string, qos: 0 | 1 | 2) {
  return { topicFilter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 } as const;
}

/** A length field of a valid frame: a Two Byte Integer length or a Variable Byte Integer. */
interface LengthField {
  offset: number;
  /** Bytes the field takes. */
  size: number;
  varint: boolean;
  value: number;
}

interface Seed {
  bytes: Uint8Array;
  fields: LengthField[];
}

const WIRE_TYPE = new Map(PROPERTY_DEFINITIONS.map((d) => [d.id, d.wireType]));

/** Where the remaining length, property lengths and string/binary lengths of a valid frame are. */
function lengthFields(frame: Uint8Array, version: ProtocolVersion): LengthField[] {
  const fields: LengthField[] = [];
  let pos = 1;
  const varint = (record: boolean): number => {
    const offset = pos;
    let value = 0;
    let multiplier = 1;
    for (let k = 0; k < 4; k++) {
      const b = frame[pos++];
      value += (b & 0x7f) * multiplier;
      multiplier *= 128;
      if ((b & 0x80) === 0) break;
    }
    if (record) fields.push({ offset, size: pos - offset, varint: true, value });
    return value;
  };
  const prefixed = (): void => {
    const value = (frame[pos] << 8) | frame[pos + 1];
    fields.push({ offset: pos, size: 2, varint: false, value });
    pos += 2 + value;
  };
  const properties = (): void => {
    const end = pos + varint(true);
    while (pos < end) {
      const type = WIRE_TYPE.get(varint(false));
      if (type === "byte") pos += 1;
      else if (type === "u16") pos += 2;
      else if (type === "u32") pos += 4;
      else if (type === "varint") varint(false);
      else if (type === "pair") (prefixed(), prefixed());
      else prefixed();
    }
  };
  const type = frame[0] >> 4;
  const end = varint(true) + pos;
  const v5 = version === 5;
  switch (type) {
    case 1: {
      prefixed();
      const level = frame[pos];
      const flags = frame[pos + 1];
      pos += 4;
      if (level === 5) properties();
      prefixed();
      if (flags & 0x04) {
        if (level === 5) properties();
        prefixed();
        prefixed();
      }
      if (flags & 0x80) prefixed();
      if (flags & 0x40) prefixed();
      break;
    }
    case 2:
      pos += 2;
      if (v5) properties();
      break;
    case 3:
      prefixed();
      if (frame[0] & 0x06) pos += 2;
      if (v5) properties();
      break;
    case 8:
      pos += 2;
      if (v5) properties();
      while (pos < end) (prefixed(), pos++);
      break;
    case 9:
    case 11:
      pos += 2;
      if (v5) properties();
      break;
    case 10:
      pos += 2;
      if (v5) properties();
      while (pos < end) prefixed();
      break;
    case 4:
    case 5:
    case 6:
    case 7:
    case 14:
    case 15:
      if (type <= 7) pos += 2;
      if (v5 && pos < end) pos++;
      if (v5 && pos < end) properties();
      break;
  }
  return fields;
}

function buildCorpus(version: ProtocolVersion): Seed[] {
  return seedPackets(version).map((packet) => {
    const bytes = encodePacket(packet, version);
    return { bytes, fields: lengthFields(bytes, version) };
  });
}

// ---------------------------------------------------------------------------------------------
// Mutations

type Mutation = (rng: SeededRandom, bytes: Uint8Array, corpus: Seed[]) => Uint8Array;

const MUTATIONS: readonly Mutation[] = [
  function flipBits(rng, bytes) {
    if (bytes.length === 0) return bytes;
    const out = bytes.slice();
    for (let n = 1 + rng.below(4); n > 0; n--) out[rng.below(out.length)] ^= 1 << rng.below(8);
    return out;
  },
  function interestingBytes(rng, bytes) {
    if (bytes.length === 0) return bytes;
    const out = bytes.slice();
    for (let n = 1 + rng.below(3); n > 0; n--) {
      out[rng.below(out.length)] = rng.pick(INTERESTING_BYTES);
    }
    return out;
  },
  function interestingU16(rng, bytes) {
    if (bytes.length < 2) return bytes;
    const out = bytes.slice();
    const at = rng.below(out.length - 1);
    const value = rng.chance(0.5)
      ? rng.pick(INTERESTING_LENGTHS)
      : out.length - at - 2 + rng.below(5) - 2;
    out[at] = (value >>> 8) & 0xff;
    out[at + 1] = value & 0xff;
    return out;
  },
  function insertRandom(rng, bytes) {
    const insert = Uint8Array.from({ length: 1 + rng.below(8) }, () => {
      return rng.chance(0.5) ? rng.pick(INTERESTING_BYTES) : rng.below(256);
    });
    return replace(bytes, rng.below(bytes.length + 1), 0, insert);
  },
  function deleteRange(rng, bytes) {
    const at = rng.below(bytes.length + 1);
    return replace(
      bytes,
      at,
      1 + rng.below(Math.min(16, bytes.length - at + 1)),
      new Uint8Array(0),
    );
  },
  function duplicateRange(rng, bytes) {
    const at = rng.below(bytes.length + 1);
    const range = bytes.slice(at, at + 1 + rng.below(16));
    return replace(bytes, rng.below(bytes.length + 1), 0, range);
  },
  function truncate(rng, bytes) {
    return bytes.subarray(0, rng.below(bytes.length + 1));
  },
  function extend(rng, bytes) {
    const tail = Uint8Array.from({ length: 1 + rng.below(32) }, () => rng.below(256));
    return concat([bytes, tail]);
  },
  function spliceTwo(rng, bytes, corpus) {
    const other = rng.pick(corpus).bytes;
    return concat([
      bytes.subarray(0, rng.below(bytes.length + 1)),
      other.subarray(rng.below(other.length + 1)),
    ]);
  },
  function dictionaryToken(rng, bytes) {
    const token = rng.pick(DICTIONARY);
    const at = rng.below(bytes.length + 1);
    return replace(
      bytes,
      at,
      rng.chance(0.5) ? 0 : Math.min(token.length, bytes.length - at),
      token,
    );
  },
  function varintAt(rng, bytes) {
    const at = rng.below(bytes.length + 1);
    const encoded = varintBytes(rng.pick(INTERESTING_LENGTHS), rng.chance(0.1) ? 1 : 0);
    return replace(bytes, at, Math.min(encoded.length, bytes.length - at), encoded);
  },
];

/** Give one length field of a valid frame another value, in a right or wrong encoding. */
function overwriteLengthField(rng: SeededRandom, seed: Seed): Uint8Array {
  const field = rng.pick(seed.fields);
  const after = seed.bytes.length - field.offset - field.size;
  const choices = [
    0,
    1,
    field.value - 1,
    field.value + 1,
    field.value + 2,
    after,
    after + 1,
    after - 1,
  ];
  let value = rng.chance(0.6) ? rng.pick(choices) : rng.pick(INTERESTING_LENGTHS);
  if (rng.chance(0.15)) value = rng.below(field.varint ? 0x1000_0000 : 0x10000);
  value = Math.max(0, value);
  let encoded: Uint8Array;
  if (field.varint) {
    const style = rng.below(10);
    if (style === 0) encoded = varintBytes(value, 1 + rng.below(3)); // not minimal
    else if (style === 1) encoded = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x7f); // 5 bytes
    else encoded = varintBytes(Math.min(value, 0xfff_ffff));
  } else {
    encoded = Uint8Array.of((value >>> 8) & 0xff, value & 0xff);
  }
  const out = replace(seed.bytes, field.offset, field.size, encoded);
  return field.offset !== 1 && rng.chance(0.7) ? fixRemainingLength(out) : out;
}

function randomPacket(rng: SeededRandom): Uint8Array {
  const body = Uint8Array.from({ length: rng.below(48) }, () => {
    return rng.chance(0.3) ? rng.pick(INTERESTING_BYTES) : rng.below(rng.chance(0.5) ? 8 : 256);
  });
  if (rng.chance(0.4)) return body;
  const first = rng.pick([
    0x10,
    0x20,
    0x30,
    0x32,
    0x3d,
    0x40,
    0x50,
    0x62,
    0x70,
    0x82,
    0x90,
    0xa2,
    0xb0,
    0xc0,
    0xd0,
    0xe0,
    0xf0,
  ]);
  return concat([Uint8Array.of(first), varintBytes(body.length), body]);
}

/** One fuzz input: a mutated seed, or random bytes. */
function mutate(rng: SeededRandom, corpus: Seed[]): Uint8Array {
  if (rng.chance(0.05)) return randomPacket(rng);
  const seed = rng.pick(corpus);
  let bytes = seed.bytes;
  if (rng.chance(0.35)) bytes = overwriteLengthField(rng, seed);
  const rounds = rng.chance(0.5) ? 1 : 1 + rng.below(4);
  for (let k = 0; k < rounds; k++) bytes = rng.pick(MUTATIONS)(rng, bytes, corpus);
  if (bytes.length !== seed.bytes.length && rng.chance(0.6)) bytes = fixRemainingLength(bytes);
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Checks

interface Failure {
  /** Groups failures of one cause. */
  kind: string;
  detail: string;
}

function isContractError(e: unknown): boolean {
  return e instanceof MqttError && typeof e.reasonCode === "number" &&
    Number.isInteger(e.reasonCode) && e.reasonCode >= 0x80 && e.reasonCode <= 0xa2;
}

function describe(e: unknown): string {
  if (e instanceof MqttError) return `MqttError 0x${e.reasonCode.toString(16)}: ${e.message}`;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return `non-Error thrown: ${String(e)}`;
}

function kindOf(stage: string, e: unknown): string {
  const name = e instanceof Error ? e.name : typeof e;
  const message = e instanceof Error ? e.message : String(e);
  return `${stage}: ${name}: ${message.replace(/\d+/g, "N").slice(0, 60)}`;
}

/** The packet as plain data: no undefined keys, bytes as hex. */
function normalise(value: unknown): unknown {
  if (value instanceof Uint8Array) return `bytes ${hex(value)}`;
  if (Array.isArray(value)) return value.map(normalise);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) if (v !== undefined) out[key] = normalise(v);
    return out;
  }
  return value;
}

/**
 * Decode one frame; if it decodes, re-encode it and decode that again. Returns what broke the
 * contract, or undefined.
 */
function checkFrame(frame: Uint8Array, version: ProtocolVersion): Failure | undefined {
  let packet: Packet;
  try {
    packet = decodePacket(frame, version);
  } catch (e) {
    if (isContractError(e)) return undefined;
    return { kind: kindOf("decodePacket", e), detail: `decodePacket threw ${describe(e)}` };
  }
  if (packet === null || typeof packet !== "object" || typeof packet.type !== "string") {
    return { kind: "decodePacket: no packet", detail: `decodePacket returned ${String(packet)}` };
  }
  let again: Uint8Array;
  try {
    again = encodePacket(packet, version);
  } catch (e) {
    return {
      kind: kindOf("re-encode", e),
      detail: `the decoded ${packet.type} does not re-encode: ${describe(e)}`,
    };
  }
  let back: Packet;
  try {
    back = decodePacket(again, version);
  } catch (e) {
    return {
      kind: kindOf("re-decode", e),
      detail: `the re-encoded ${packet.type} (${hex(again)}) does not decode: ${describe(e)}`,
    };
  }
  try {
    assert.deepStrictEqual(normalise(back), normalise(packet));
  } catch (e) {
    return {
      kind: `round trip changes a ${packet.type}`,
      detail: `the re-encoded ${packet.type} (${hex(again)}) decodes differently: ${
        e instanceof Error ? e.message : e
      }`,
    };
  }
  return undefined;
}

/** Delete bytes (fixing the remaining length or not) while the same kind of failure remains. */
function shrink(input: Uint8Array, version: ProtocolVersion, kind: string): Uint8Array {
  let best = input;
  let attempts = 0;
  const stillFails = (candidate: Uint8Array): boolean => {
    attempts++;
    return checkFrame(candidate, version)?.kind === kind;
  };
  let progress = true;
  while (progress && attempts < SHRINK_ATTEMPTS) {
    progress = false;
    for (let size = best.length >> 1; size >= 1 && !progress; size >>= 1) {
      for (let at = 0; at + size <= best.length && attempts < SHRINK_ATTEMPTS; at++) {
        const cut = replace(best, at, size, new Uint8Array(0));
        const fixed = fixRemainingLength(cut);
        if (stillFails(fixed)) best = fixed;
        else if (stillFails(cut)) best = cut;
        else continue;
        progress = true;
        break;
      }
    }
  }
  return best;
}

interface StreamOutcome {
  frames: Uint8Array[];
  /** Reason code of the MqttError that stopped the reader, if one did. */
  error?: number;
  partial: boolean;
  failure?: Failure;
}

function readStream(chunks: Uint8Array[], maxPacketSize: number | undefined): StreamOutcome {
  const reader = new FrameReader({ maxPacketSize });
  const frames: Uint8Array[] = [];
  let budget = chunks.reduce((n, c) => n + c.length + 2, 8);
  for (const chunk of chunks) {
    try {
      reader.push(chunk);
      for (let frame = reader.next(); frame !== null; frame = reader.next()) {
        frames.push(frame);
        if (--budget < 0) {
          const detail = "FrameReader.next() kept returning frames";
          return { frames, partial: true, failure: { kind: detail, detail } };
        }
      }
    } catch (e) {
      if (isContractError(e)) return { frames, error: (e as MqttError).reasonCode, partial: false };
      const failure = {
        kind: kindOf("FrameReader", e),
        detail: `FrameReader threw ${describe(e)}`,
      };
      return { frames, partial: false, failure };
    }
  }
  return { frames, partial: reader.hasPartialPacket };
}

function chunksOf(rng: SeededRandom, stream: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  const style = rng.below(10);
  for (let pos = 0; pos < stream.length;) {
    const size = style === 0 ? 1 : style < 4 ? rng.below(5) : rng.below(stream.length - pos + 2);
    chunks.push(stream.subarray(pos, pos + size));
    pos += size;
  }
  return chunks;
}

function sameOutcome(a: StreamOutcome, b: StreamOutcome): boolean {
  return a.error === b.error && a.partial === b.partial && a.frames.length === b.frames.length &&
    a.frames.every((f, i) => hex(f) === hex(b.frames[i]));
}

/** Run one case; returns its failures. */
function runCase(seed: number, version: ProtocolVersion, corpus: Seed[]): Failure[] {
  const rng = new SeededRandom(seed);
  const input = mutate(rng, corpus);
  const failures: Failure[] = [];
  const where = `seed 0x${seed.toString(16).padStart(8, "0")}, version ${version}`;
  const direct = checkFrame(input, version);
  if (direct !== undefined) {
    const small = shrink(input, version, direct.kind);
    failures.push({
      kind: direct.kind,
      detail: `${direct.detail}\n    ${where}\n    input:  ${hex(input)}\n    shrunk: ${
        hex(small)
      }`,
    });
  }
  // The frame reader: the input alone or followed by more packets, whole or in random chunks.
  const parts = [input];
  if (rng.chance(0.3)) {
    for (let n = 1 + rng.below(3); n > 0; n--) {
      parts.push(rng.chance(0.5) ? rng.pick(corpus).bytes : mutate(rng, corpus));
    }
  }
  const stream = concat(parts);
  const maxPacketSize = rng.chance(0.05) ? undefined : rng.pick([64, 256, 4096, 65536]);
  const chunks = chunksOf(rng, stream);
  const whole = readStream([stream], maxPacketSize);
  const split = readStream(chunks, maxPacketSize);
  const streamWhere = `${where}, maxPacketSize ${maxPacketSize}\n    stream: ${hex(stream)}\n` +
    `    chunks: ${chunks.map((c) => c.length).join(",")}`;
  for (const outcome of [whole, split]) {
    if (outcome.failure !== undefined) {
      failures.push({
        kind: outcome.failure.kind,
        detail: `${outcome.failure.detail}\n    ${streamWhere}`,
      });
      return failures;
    }
  }
  const framed = concat(whole.frames);
  if (hex(framed) !== hex(stream.subarray(0, framed.length))) {
    const detail = "FrameReader frames are not the stream's bytes in order";
    failures.push({ kind: detail, detail: `${detail}\n    ${streamWhere}` });
  }
  if (!sameOutcome(whole, split)) {
    const detail = "FrameReader gives other frames when the stream is chunked";
    const show = (o: StreamOutcome) =>
      `${o.frames.length} frames, error ${o.error}, partial ${o.partial}`;
    failures.push({
      kind: detail,
      detail: `${detail}: ${show(whole)} vs ${show(split)}\n    ${streamWhere}`,
    });
  }
  split.frames.forEach((frame, i) => {
    if (parts.length === 1 && frame.length === input.length) return; // decoded above
    const failure = checkFrame(frame, version);
    if (failure !== undefined) {
      failures.push({
        kind: failure.kind,
        detail: `${failure.detail}\n    frame ${i} of the stream: ${
          hex(frame)
        }\n    ${streamWhere}`,
      });
    }
  });
  return failures;
}

function fuzzVersion(version: ProtocolVersion): void {
  const base = RUN_SEED;
  const corpus = buildCorpus(version);
  const reported = new Map<string, string>();
  let count = 0;
  for (let i = 0; i < CASES_PER_VERSION; i++) {
    for (const failure of runCase(caseSeed(base, version, i), version, corpus)) {
      count++;
      if (!reported.has(failure.kind) && reported.size < MAX_REPORTED) {
        reported.set(failure.kind, failure.detail);
      }
    }
  }
  assert.equal(
    count,
    0,
    `${count} contract violations in ${CASES_PER_VERSION} inputs (MIDGE_FUZZ_SEED=0x${
      base.toString(16)
    }, version ${version}); distinct ones:\n\n${[...reported.values()].join("\n\n")}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Tests

for (const version of VERSIONS) {
  Deno.test(`fuzz: ${CASES_PER_VERSION} mutated v${version} packets only decode or throw MqttError`, () => {
    fuzzVersion(version);
  });
}

Deno.test("every fuzz seed decodes to the packet it was encoded from, and frames whole", () => {
  const problems: string[] = [];
  for (const version of VERSIONS) {
    for (const packet of seedPackets(version)) {
      const bytes = encodePacket(packet, version);
      try {
        assert.deepStrictEqual(normalise(decodePacket(bytes, version)), normalise(packet));
        const reader = new FrameReader();
        reader.push(bytes);
        assert.equal(hex(reader.next() ?? new Uint8Array(0)), hex(bytes));
        assert.equal(reader.next(), null);
      } catch (e) {
        problems.push(`v${version} ${packet.type} ${hex(bytes)}: ${describe(e)}`);
      }
    }
  }
  assert.deepStrictEqual(problems, []);
});

Deno.test("decoding keeps a leading U+FEFF (BOM) in a string [MQTT-1.5.4-3]", () => {
  // 0x30, 6, topic length 4: EF BB BF 'a', no payload.
  const frame = Uint8Array.of(0x30, 0x06, 0x00, 0x04, 0xef, 0xbb, 0xbf, 0x61);
  const packet = decodePacket(frame, 4);
  assert.equal(packet.type, "publish");
  assert.equal(packet.type === "publish" && packet.topic, "\ufeffa");
});

Deno.test("FrameReader rejects a 5-byte remaining length with 0x81 [MQTT-1.5.5]", () => {
  const frame = Uint8Array.of(0x30, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00);
  const whole = new FrameReader();
  whole.push(frame);
  assert.throws(() => whole.next(), (e) => e instanceof MqttError && e.reasonCode === 0x81);
  // The same header arriving byte by byte fails on its fifth byte.
  const bytewise = new FrameReader();
  for (let i = 0; i < 4; i++) {
    bytewise.push(frame.subarray(i, i + 1));
    assert.equal(bytewise.next(), null);
  }
  bytewise.push(frame.subarray(4, 5));
  assert.throws(() => bytewise.next(), (e) => e instanceof MqttError && e.reasonCode === 0x81);
  assert.throws(
    () => decodePacket(frame, 4),
    (e) => e instanceof MqttError && e.reasonCode === 0x81,
  );
});

/** Sizes of the Uint8Arrays of at least `min` bytes constructed while `fn` runs. */
function bigAllocations(min: number, fn: () => void): number[] {
  const sizes: number[] = [];
  const original = globalThis.Uint8Array;
  globalThis.Uint8Array = new Proxy(original, {
    construct(target, args, newTarget) {
      const view = Reflect.construct(target, args, newTarget) as Uint8Array;
      if (view.length >= min) sizes.push(view.length);
      return view;
    },
  });
  try {
    fn();
  } finally {
    globalThis.Uint8Array = original;
  }
  return sizes;
}

Deno.test("FrameReader with maxPacketSize 100 rejects a 1,000,000-byte packet from its header alone (0x95)", () => {
  // Remaining length 1,000,000 is C0 84 3D: the whole fixed header is these 4 bytes.
  const header = Uint8Array.of(0x30, 0xc0, 0x84, 0x3d);
  const isTooLarge = (e: unknown) => e instanceof MqttError && e.reasonCode === 0x95;
  // Control: without the limit the reader buffers the 1,000,004-byte packet on its header.
  assert.deepStrictEqual(
    bigAllocations(101, () => {
      const unlimited = new FrameReader();
      unlimited.push(header);
      assert.equal(unlimited.next(), null);
      assert.equal(unlimited.hasPartialPacket, true);
    }),
    [1_000_004],
  );
  // With the limit: rejected on the header alone, in one chunk or byte by byte, and no buffer
  // for the body was ever allocated.
  const allocated = bigAllocations(101, () => {
    const whole = new FrameReader({ maxPacketSize: 100 });
    whole.push(header);
    assert.throws(() => whole.next(), isTooLarge);
    const bytewise = new FrameReader({ maxPacketSize: 100 });
    for (let i = 0; i < header.length - 1; i++) {
      bytewise.push(header.subarray(i, i + 1));
      assert.equal(bytewise.next(), null);
    }
    bytewise.push(header.subarray(header.length - 1));
    assert.throws(() => bytewise.next(), isTooLarge);
    // A 5-byte fixed header (remaining length 268,435,455) fails the same way.
    const longest = new FrameReader({ maxPacketSize: 100 });
    longest.push(Uint8Array.of(0x30, 0xff, 0xff, 0xff, 0x7f));
    assert.throws(() => longest.next(), isTooLarge);
  });
  assert.deepStrictEqual(allocated, []);
});
