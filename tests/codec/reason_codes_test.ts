import assert from "node:assert/strict";
import {
  fromV3ConnackCode,
  isValidReasonCode,
  ReasonCode,
  reasonCodeName,
  toV3ConnackCode,
  toV3SubackCode,
} from "../../src/codec/mod.ts";

Deno.test("every named reason code has the specification's name", () => {
  assert.equal(reasonCodeName(ReasonCode.MalformedPacket), "Malformed Packet");
  assert.equal(reasonCodeName(ReasonCode.SessionTakenOver), "Session taken over");
  assert.equal(reasonCodeName(0x9f), "Connection rate exceeded");
  assert.equal(reasonCodeName(0x03), "Unknown reason code 0x03");
  for (const code of Object.values(ReasonCode)) {
    assert.doesNotMatch(reasonCodeName(code), /Unknown/, `0x${code.toString(16)}`);
  }
});

Deno.test("reason codes are allowed only in the packets the specification lists", () => {
  assert.ok(isValidReasonCode("puback", 0x10));
  assert.ok(!isValidReasonCode("pubrel", 0x10));
  assert.ok(isValidReasonCode("pubcomp", 0x92));
  assert.ok(isValidReasonCode("disconnect", 0x04));
  assert.ok(!isValidReasonCode("connack", 0x04));
  assert.ok(isValidReasonCode("suback", 0xa2));
  assert.ok(!isValidReasonCode("unsuback", 0xa2));
  assert.ok(isValidReasonCode("auth", 0x18));
  assert.ok(!isValidReasonCode("auth", 0x80));
  assert.ok(isValidReasonCode("connack", 0x9f));
  assert.ok(!isValidReasonCode("connack", 0x8e));
});

Deno.test("5.0 CONNACK reasons map to 3.x return codes and back", () => {
  assert.equal(toV3ConnackCode(0x00), 0);
  assert.equal(toV3ConnackCode(0x84), 1);
  assert.equal(toV3ConnackCode(0x85), 2);
  assert.equal(toV3ConnackCode(0x88), 3);
  assert.equal(toV3ConnackCode(0x89), 3);
  assert.equal(toV3ConnackCode(0x86), 4);
  assert.equal(toV3ConnackCode(0x87), 5);
  assert.equal(toV3ConnackCode(0x8a), 5);
  assert.equal(toV3ConnackCode(0x8c), 5);
  assert.equal(toV3ConnackCode(0x95), 5); // a will payload too large, as Mosquitto answers
  assert.equal(toV3ConnackCode(0x97), 3);
  for (let rc = 0; rc <= 5; rc++) assert.equal(toV3ConnackCode(fromV3ConnackCode(rc)), rc);
  assert.equal(fromV3ConnackCode(6), -1);
});

Deno.test("5.0 SUBACK reasons map to 3.x: granted QoS kept, any failure is 0x80", () => {
  assert.deepStrictEqual([0, 1, 2, 0x80, 0x87, 0x8f, 0xa2].map(toV3SubackCode), [
    0,
    1,
    2,
    0x80,
    0x80,
    0x80,
    0x80,
  ]);
});
