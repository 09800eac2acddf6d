import assert from "node:assert/strict";
import { bridgeSettings } from "../../src/bridge/settings.ts";
import { validateConfig } from "../../src/config/validate.ts";
import { FACTS, parse } from "../config/mosquitto_helpers.ts";

function settingsOf(lines: string[]) {
  const config = validateConfig(parse(["connection cloud", ...lines, ""].join("\n")), FACTS);
  return bridgeSettings(config.bridges[0], "pi4");
}

Deno.test("bridge settings: Mosquitto's defaults for client ids, notification topic, timing", () => {
  const s = settingsOf(["address broker.example.com"]);
  assert.equal(s.name, "cloud");
  assert.deepEqual(s.addresses, [{ host: "broker.example.com", port: 1883 }]);
  assert.equal(s.remoteClientId, "pi4.cloud");
  assert.equal(s.localClientId, "local.pi4.cloud");
  assert.equal(s.notificationTopic, "$SYS/broker/connection/pi4.cloud/state");
  assert.deepEqual(s.restart, { kind: "backoff", base: 5, cap: 30 });
  assert.equal(s.protocolVersion, 4);
  assert.equal(s.cleanSession, false);
  assert.equal(s.localCleanSession, false);
  assert.equal(s.keepAlive, 60);
  assert.equal(s.queueLimit, 100_000);
  assert.equal(s.tls, undefined);
  assert.equal(s.localUsername, undefined);
});

Deno.test("bridge settings: several addresses, on one line or many, IPv6 in brackets", () => {
  const s = settingsOf(["address a.example:1884 b.example", "addresses [::1]:1885 10.0.0.2:1886"]);
  assert.deepEqual(s.addresses, [
    { host: "a.example", port: 1884 },
    { host: "b.example", port: 1883 },
    { host: "::1", port: 1885 },
    { host: "10.0.0.2", port: 1886 },
  ]);
});

Deno.test("bridge settings: the old names, the local session and TLS", () => {
  const s = settingsOf([
    "address h",
    "clientid edge",
    "username u",
    "password p",
    "cleansession true",
    "local_cleansession false",
    "bridge_protocol_version mqttv50",
    "bridge_cafile /ca.pem",
    "bridge_tls_version tlsv1.3",
    "bridge_max_queued_messages 5",
  ]);
  assert.equal(s.remoteClientId, "edge");
  assert.equal(s.localClientId, "local.edge");
  assert.equal(s.remoteUsername, "u");
  assert.equal(s.remotePassword, "p");
  assert.equal(s.cleanSession, true);
  assert.equal(s.localCleanSession, false);
  assert.equal(s.protocolVersion, 5);
  assert.deepEqual(s.tls, {
    cafile: "/ca.pem",
    capath: undefined,
    certfile: undefined,
    keyfile: undefined,
    insecure: false,
    version: "TLSv1.3",
    alpn: undefined,
  });
  assert.equal(s.queueLimit, 5);
});
