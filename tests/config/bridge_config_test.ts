import assert from "node:assert/strict";
import { validateConfig } from "../../src/config/validate.ts";
import { FACTS, parse, problemsOf } from "./mosquitto_helpers.ts";

Deno.test("a bridge's problems name their line: no address, a bad port, a name used twice", () => {
  const text = [
    "listener 1883",
    "connection a",
    "topic x/# out",
    "connection a",
    "address h:99999",
    "bridge_certfile /c.pem",
    "",
  ].join("\n");
  assert.deepEqual(problemsOf(() => validateConfig(parse(text), FACTS)), [
    "m.conf:2: address: is required (the remote broker)",
    'm.conf:4: connection: "a" is already the name of bridge 1',
    'm.conf:5: address: port of "h:99999" must be a number from 1 to 65535',
    "m.conf:6: bridge_certfile: needs bridge_keyfile too",
    "m.conf:6: bridge_certfile: needs bridge_cafile or bridge_capath (TLS)",
  ]);
});

Deno.test("TLS-PSK and OCSP for a bridge are refused, not ignored", () => {
  const text = "connection a\naddress h\nbridge_identity me\nbridge_psk 00ff\n";
  const problems = problemsOf(() => validateConfig(parse(text), FACTS));
  assert.equal(problems.length, 2);
  assert.match(problems[0], /^m\.conf:3: bridge_identity: not supported: TLS-PSK/);
  assert.match(problems[1], /^m\.conf:4: bridge_psk: not supported: TLS-PSK/);
});
