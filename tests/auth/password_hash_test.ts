/**
 * The `$6$` and `$7$` hashes: known answers from Mosquitto 2.0.11's mosquitto_passwd, the
 * decoding rules of its broker, and a round trip through formatHash.
 */

import assert from "node:assert/strict";
import {
  decodeBase64,
  DEFAULT_ITERATIONS,
  digestPassword,
  encodeBase64,
  formatHash,
  hashPassword,
  parseHash,
  type PasswordHash,
} from "../../src/auth/password_hash.ts";
import { MOSQUITTO_VECTORS } from "./vectors.ts";

const encoder = new TextEncoder();

Deno.test("digestPassword gives mosquitto_passwd 2.0.11's hashes ($6$, $7$ with 101 and 1000 iterations, empty)", async () => {
  for (const v of MOSQUITTO_VECTORS) {
    const parsed = parseHash(v.field);
    assert.equal(typeof parsed, "object", v.username);
    const h = parsed as PasswordHash;
    const digest = await digestPassword(encoder.encode(v.password), h);
    assert.deepStrictEqual(digest, h.hash, v.username);
    const wrong = await digestPassword(encoder.encode(v.password + "x"), h);
    assert.notDeepStrictEqual(wrong, h.hash, v.username);
  }
});

Deno.test("parseHash reads the type, iterations, 12-byte salt and 64-byte hash", () => {
  const [alice, bob, carol] = MOSQUITTO_VECTORS;
  const a = parseHash(alice.field) as PasswordHash;
  assert.equal(a.type, "sha512-pbkdf2");
  assert.equal(a.iterations, 101);
  assert.equal(a.salt.length, 12);
  assert.equal(a.hash.length, 64);
  const b = parseHash(bob.field) as PasswordHash;
  assert.equal(b.type, "sha512");
  assert.equal(b.iterations, 1);
  assert.equal((parseHash(carol.field) as PasswordHash).iterations, 1000);
});

Deno.test("parseHash follows the broker's rules for odd fields, as Mosquitto 2.0.11 was seen to", () => {
  const alice = MOSQUITTO_VECTORS[0].field; // $7$101$SALT$HASH
  const [, , iterations, salt, hash] = alice.split("$");
  const cases: [string, string, string | number][] = [
    ["without the leading $", alice.slice(1), 101],
    ["with empty tokens ($$7$$...)", `$$7$$${iterations}$${salt}$$${hash}`, 101],
    ["with something after the hash", `${alice}$more`, 101],
    ["iterations read as atoi (0101x)", `$7$0101x$${salt}$${hash}`, 101],
    ["empty", "", "invalid password hash"],
    ["only dollars", "$$$", "invalid password hash"],
    ["plain text", "secret", "invalid password hash type"],
    ["$5$", `$5$${salt}$${hash}`, "invalid password hash type"],
    ["$7$ alone", "$7$", "invalid password hash"],
    ["iterations abc", `$7$abc$${salt}$${hash}`, "invalid hash iterations"],
    ["iterations 0", `$7$0$${salt}$${hash}`, "invalid hash iterations"],
    ["iterations -5", `$7$-5$${salt}$${hash}`, "invalid hash iterations"],
    ["iterations past INT_MAX", `$7$4294967296$${salt}$${hash}`, "invalid hash iterations"],
    ["no salt", `$7$101`, "invalid password hash"],
    ["no hash", `$7$101$${salt}`, "invalid password hash"],
    ["an 8-byte salt", `$7$101$${salt.slice(0, 12)}$${hash}`, "unable to decode password salt"],
    ["$6$ with iterations", `$6$101$${salt}$${hash}`, "unable to decode password salt"],
    ["a hash without padding", `$7$101$${salt}$${hash.slice(0, -2)}`, "unable to decode password"],
    ["a short hash", `$7$101$${salt}$${hash.slice(0, 64)}`, "unable to decode password"],
    [
      "a hash with a space",
      `$7$101$${salt}$${hash.slice(0, 40)} ${hash.slice(40)}`,
      "unable to decode password",
    ],
  ];
  for (const [name, field, expected] of cases) {
    const parsed = parseHash(field);
    if (typeof expected === "number") {
      assert.equal(typeof parsed, "object", name);
      assert.equal((parsed as PasswordHash).iterations, expected, name);
    } else {
      assert.equal(parsed, expected, name);
    }
  }
});

Deno.test("formatHash writes what parseHash reads; hashPassword salts each hash afresh", async () => {
  const password = encoder.encode("secret");
  const h7 = await hashPassword(password);
  assert.equal(h7.iterations, DEFAULT_ITERATIONS);
  assert.match(formatHash(h7), /^\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/);
  assert.deepStrictEqual(parseHash(formatHash(h7)), h7);
  const h6 = await hashPassword(password, { type: "sha512", iterations: 7 });
  assert.match(formatHash(h6), /^\$6\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/);
  assert.deepStrictEqual(parseHash(formatHash(h6)), h6);
  const again = await hashPassword(password);
  assert.notDeepStrictEqual(again.salt, h7.salt);
  assert.deepStrictEqual(await digestPassword(password, again), again.hash);
});

Deno.test("base64: standard alphabet with padding, nothing else", () => {
  const bytes = Uint8Array.from({ length: 64 }, (_, i) => i * 4 + 3);
  assert.deepStrictEqual(decodeBase64(encodeBase64(bytes)), bytes);
  assert.deepStrictEqual(decodeBase64("YWJj"), encoder.encode("abc"));
  assert.deepStrictEqual(decodeBase64("YWI="), encoder.encode("ab"));
  for (const bad of ["YWI", "YW=I", "YW I=", "YW-_", "Y===", "YWJj\n"]) {
    assert.equal(decodeBase64(bad), undefined, bad);
  }
});
