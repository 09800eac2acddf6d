import assert from "node:assert/strict";
import { decodePacket, encodePacket, MqttError, reasonCodeName } from "../../src/codec/mod.ts";
import { hexBytes, PACKET_FIXTURES } from "../fixtures/packets.ts";
import { withoutUndefined } from "./normalize.ts";

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

for (const fixture of PACKET_FIXTURES) {
  const bytes = hexBytes(fixture.hex);
  if (fixture.packet !== undefined) {
    const expected = fixture.packet;
    Deno.test(`decode: ${fixture.name} (v${fixture.version})`, () => {
      const decoded = decodePacket(bytes, fixture.version);
      assert.deepStrictEqual(withoutUndefined(decoded), withoutUndefined(expected));
    });
    if (fixture.canonical !== false) {
      Deno.test(`encode: ${fixture.name} (v${fixture.version})`, () => {
        assert.equal(hex(encodePacket(expected, fixture.version)), hex(bytes));
      });
    }
  } else {
    const code = fixture.error!;
    Deno.test(
      `decode rejects with 0x${code.toString(16)} ${reasonCodeName(code)}: ${fixture.name}` +
        ` (v${fixture.version})`,
      () => {
        assert.throws(
          () => decodePacket(bytes, fixture.version),
          (e: unknown) => {
            assert.ok(e instanceof MqttError, `expected MqttError, got ${e}`);
            assert.equal(
              e.reasonCode,
              code,
              `expected 0x${code.toString(16)}, got 0x${e.reasonCode.toString(16)}: ${e.message}`,
            );
            return true;
          },
        );
      },
    );
  }
}

Deno.test("every fixture name is unique", () => {
  const names = PACKET_FIXTURES.map((f) => `${f.name} v${f.version}`);
  assert.equal(new Set(names).size, names.length);
});

Deno.test("the table covers every packet type in every version it exists in", () => {
  const seen = new Set<string>();
  for (const f of PACKET_FIXTURES) {
    if (f.packet) seen.add(`${f.packet.type}/${f.version === 5 ? 5 : 3}`);
  }
  const types = [
    "connect",
    "connack",
    "publish",
    "puback",
    "pubrec",
    "pubrel",
    "pubcomp",
    "subscribe",
    "suback",
    "unsubscribe",
    "unsuback",
    "pingreq",
    "disconnect",
  ];
  for (const t of types) {
    assert.ok(seen.has(`${t}/3`) || t === "pubrec", `no 3.x fixture for ${t}`);
    assert.ok(seen.has(`${t}/5`) || ["pingreq", "pubrec"].includes(t), `no 5.0 fixture for ${t}`);
  }
  assert.ok(seen.has("auth/5"));
});
