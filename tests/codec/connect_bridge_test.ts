import assert from "node:assert/strict";
import { decodePacket, encodePacket } from "../../src/codec/mod.ts";

Deno.test("encodeConnect leaves the bridge bit out of a 5.0 CONNECT, which Mosquitto refuses", () => {
  const bytes = encodePacket({
    type: "connect",
    protocolVersion: 5,
    clientId: "b",
    clean: true,
    keepAlive: 60,
    bridge: true,
  }, 5);
  assert.equal(bytes[8], 5); // the protocol level, after the name "MQTT"
  const decoded = decodePacket(bytes, 5);
  assert.equal(decoded.type === "connect" && decoded.bridge, undefined);
});
