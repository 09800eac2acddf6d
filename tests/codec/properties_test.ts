import assert from "node:assert/strict";
import { ByteReader } from "../../src/codec/reader.ts";
import { ByteWriter } from "../../src/codec/writer.ts";
import {
  isPropertyAllowed,
  orderWithout,
  propertiesSize,
  PROPERTY_DEFINITIONS,
  propertyById,
  type PropertyContext,
  readProperties,
  writeProperties,
} from "../../src/codec/properties.ts";
import { MqttError, type Properties } from "../../src/codec/mod.ts";
import { varintSize } from "../../src/codec/writer.ts";

const CONTEXTS: PropertyContext[] = [
  "connect",
  "connack",
  "publish",
  "will",
  "puback",
  "pubrec",
  "pubrel",
  "pubcomp",
  "subscribe",
  "suback",
  "unsubscribe",
  "unsuback",
  "disconnect",
  "auth",
];

/** Where each property may appear, from the table in MQTT 5.0 §2.2.2.2. */
const SPEC_TABLE: Record<number, PropertyContext[]> = {
  0x01: ["publish", "will"],
  0x02: ["publish", "will"],
  0x03: ["publish", "will"],
  0x08: ["publish", "will"],
  0x09: ["publish", "will"],
  0x0b: ["publish", "subscribe"],
  0x11: ["connect", "connack", "disconnect"],
  0x12: ["connack"],
  0x13: ["connack"],
  0x15: ["connect", "connack", "auth"],
  0x16: ["connect", "connack", "auth"],
  0x17: ["connect"],
  0x18: ["will"],
  0x19: ["connect"],
  0x1a: ["connack"],
  0x1c: ["connack", "disconnect"],
  0x1f: [
    "connack",
    "puback",
    "pubrec",
    "pubrel",
    "pubcomp",
    "suback",
    "unsuback",
    "disconnect",
    "auth",
  ],
  0x21: ["connect", "connack"],
  0x22: ["connect", "connack"],
  0x23: ["publish"],
  0x24: ["connack"],
  0x25: ["connack"],
  0x26: CONTEXTS,
  0x27: ["connect", "connack"],
  0x28: ["connack"],
  0x29: ["connack"],
  0x2a: ["connack"],
};

function sampleValue(key: keyof Properties): unknown {
  switch (key) {
    case "userProperties":
      return [["name", "välue"], ["name", "second"]];
    case "subscriptionIdentifiers":
      return [268_435_455];
    case "correlationData":
    case "authenticationData":
      return Uint8Array.of(0, 1, 255);
    default:
      break;
  }
  const def = PROPERTY_DEFINITIONS.find((d) => d.key === key)!;
  switch (def.wireType) {
    case "byte":
      return 1;
    case "u16":
      return 0xfffe;
    case "u32":
      return 0xfffffffe;
    case "utf8":
      return `${key} ✓`;
    default:
      throw new Error(`no sample for ${key}`);
  }
}

function roundTrip(props: Properties, context: PropertyContext): Properties | undefined {
  const size = propertiesSize(props, context);
  const w = new ByteWriter(new Uint8Array(varintSize(size) + size));
  writeProperties(w, props, size);
  assert.equal(w.pos, w.buf.length, "sized exactly");
  const r = new ByteReader(w.buf, 0, w.buf.length);
  const out = readProperties(r, context);
  assert.equal(r.pos, r.end);
  return out;
}

Deno.test("the property table matches MQTT 5.0 §2.2.2.2: identifiers and packets", () => {
  assert.deepStrictEqual(
    PROPERTY_DEFINITIONS.map((d) => d.id),
    Object.keys(SPEC_TABLE).map(Number),
  );
  for (const def of PROPERTY_DEFINITIONS) {
    for (const context of CONTEXTS) {
      assert.equal(
        isPropertyAllowed(def, context),
        SPEC_TABLE[def.id].includes(context),
        `${def.key} in ${context}`,
      );
    }
  }
});

Deno.test("every property round-trips in every packet it may appear in", () => {
  for (const def of PROPERTY_DEFINITIONS) {
    for (const context of SPEC_TABLE[def.id]) {
      const props = { [def.key]: sampleValue(def.key) } as Properties;
      assert.deepStrictEqual(roundTrip(props, context), props, `${def.key} in ${context}`);
    }
  }
});

Deno.test("all properties of a context at once round-trip in the object's order", () => {
  for (const context of CONTEXTS) {
    const props: Record<string, unknown> = {};
    for (const def of [...PROPERTY_DEFINITIONS].reverse()) {
      if (SPEC_TABLE[def.id].includes(context) && !(def.id === 0x0b && context !== "publish")) {
        props[def.key] = sampleValue(def.key);
      }
    }
    const out = roundTrip(props as Properties, context);
    assert.deepStrictEqual(out, props, context);
    assert.deepStrictEqual(Object.keys(out!), Object.keys(props), `order in ${context}`);
  }
});

Deno.test("a property outside its packets is malformed on decode and a TypeError on encode", () => {
  for (const def of PROPERTY_DEFINITIONS) {
    for (const context of CONTEXTS.filter((c) => !SPEC_TABLE[def.id].includes(c))) {
      const props = { [def.key]: sampleValue(def.key) } as Properties;
      assert.throws(() => propertiesSize(props, context), TypeError);
      const home = SPEC_TABLE[def.id][0];
      const size = propertiesSize(props, home);
      const w = new ByteWriter(new Uint8Array(varintSize(size) + size));
      writeProperties(w, props, size);
      assert.throws(
        () => readProperties(new ByteReader(w.buf, 0, w.buf.length), context),
        (e: unknown) => e instanceof MqttError && e.reasonCode === 0x81,
        `${def.key} in ${context}`,
      );
    }
  }
});

Deno.test("every property but user property and PUBLISH's subscription identifier is single", () => {
  for (const def of PROPERTY_DEFINITIONS) {
    if (def.key === "userProperties") continue;
    for (const context of SPEC_TABLE[def.id]) {
      if (def.id === 0x0b && context === "publish") continue;
      const props = { [def.key]: sampleValue(def.key) } as Properties;
      const size = propertiesSize(props, context);
      const one = new ByteWriter(new Uint8Array(varintSize(size) + size));
      writeProperties(one, props, size);
      const body = one.buf.subarray(varintSize(size));
      const twice = Uint8Array.of(size * 2, ...body, ...body);
      assert.ok(size * 2 < 128);
      assert.throws(
        () => readProperties(new ByteReader(twice, 0, twice.length), context),
        (e: unknown) => e instanceof MqttError && e.reasonCode === 0x82,
        `${def.key} twice in ${context}`,
      );
    }
  }
});

Deno.test("flag properties accept only 0 and 1; zero-forbidden ones refuse 0 as malformed", () => {
  for (const def of PROPERTY_DEFINITIONS) {
    const context = SPEC_TABLE[def.id][0];
    if (def.flag) {
      for (const [value, ok] of [[0, true], [1, true], [2, false], [255, false]] as const) {
        const bytes = Uint8Array.of(2, def.id, value);
        const read = () => readProperties(new ByteReader(bytes, 0, 3), context);
        if (ok) assert.equal(read()![def.key], value);
        else assert.throws(read, (e: unknown) => e instanceof MqttError && e.reasonCode === 0x82);
      }
    }
    if (def.nonZero) {
      const body = def.wireType === "varint"
        ? [def.id, 0]
        : def.wireType === "u16"
        ? [def.id, 0, 0]
        : [def.id, 0, 0, 0, 0];
      const bytes = Uint8Array.of(body.length, ...body);
      assert.throws(
        () => readProperties(new ByteReader(bytes, 0, bytes.length), context),
        (e: unknown) => e instanceof MqttError && e.reasonCode === 0x81, // as Mosquitto
        `${def.key} = 0`,
      );
    }
  }
  // The payload format indicator is no flag: any value is kept and forwarded, as Mosquitto does.
  const indicator = Uint8Array.of(2, 0x01, 7);
  assert.equal(
    readProperties(new ByteReader(indicator, 0, 3), "publish")!.payloadFormatIndicator,
    7,
  );
  assert.deepStrictEqual(
    PROPERTY_DEFINITIONS.filter((d) => d.nonZero).map((d) => d.key),
    ["subscriptionIdentifiers", "receiveMaximum", "topicAlias", "maximumPacketSize"],
  );
});

Deno.test("an unknown property identifier is malformed", () => {
  for (const id of [0x00, 0x04, 0x0a, 0x14, 0x20, 0x2b, 0x7f]) {
    assert.equal(propertyById(id), undefined);
    const bytes = Uint8Array.of(2, id, 0);
    assert.throws(
      () => readProperties(new ByteReader(bytes, 0, 3), "publish"),
      (e: unknown) => e instanceof MqttError && e.reasonCode === 0x81,
    );
  }
});

function written(props: Properties, context: PropertyContext): string {
  const size = propertiesSize(props, context);
  const w = new ByteWriter(new Uint8Array(varintSize(size) + size));
  writeProperties(w, props, size);
  assert.equal(w.pos, w.buf.length, "sized exactly");
  return Array.from(w.buf, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

Deno.test("readProperties keeps the order only of user properties interleaved with others", () => {
  const read = (hex: string) => {
    const bytes = Uint8Array.from(hex.split(" "), (h) => parseInt(h, 16));
    return readProperties(new ByteReader(bytes, 0, bytes.length), "publish");
  };
  // Together, before or after the others: the keys' order says it all.
  assert.equal(read("0e 26 00 01 6b 00 01 31 26 00 01 6b 00 01 32")?.order, undefined);
  assert.equal(read("10 01 01 26 00 01 6b 00 01 31 26 00 01 6b 00 01 32")?.order, undefined);
  assert.deepEqual(read("10 26 00 01 6b 00 01 31 01 01 26 00 01 6b 00 01 32"), {
    userProperties: [["k", "1"], ["k", "2"]],
    payloadFormatIndicator: 1,
    order: [0x26, 0x01, 0x26],
  });
});

Deno.test("writeProperties writes the listed ones in order, the others in key order, none left out", () => {
  const interleaved: Properties = {
    subscriptionIdentifiers: [7], // not listed: first, at its place
    userProperties: [["k", "1"], ["k", "2"], ["k", "3"]], // the third is beyond the order
    payloadFormatIndicator: 1,
    messageExpiryInterval: 9, // not listed: after the run
    order: orderWithout([0x26, 0x02, 0x01, 0x26], ["messageExpiryInterval"]),
  };
  assert.equal(
    written(interleaved, "publish"),
    "1e 0b 07 26 00 01 6b 00 01 31 01 01 26 00 01 6b 00 01 32 26 00 01 6b 00 01 33 02 00 00 00 09",
  );
  assert.deepEqual(roundTrip(interleaved, "publish")?.userProperties?.length, 3);
});
