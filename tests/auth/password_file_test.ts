/**
 * The password file as Mosquitto 2.0's broker reads it: which lines give a usable user, which
 * are reported (with file:line) and left out, and the verdicts of verify.
 */

import assert from "node:assert/strict";
import { PasswordFile } from "../../src/auth/password_file.ts";
import { ConfigError, formatProblem } from "../../src/config/errors.ts";
import { MOSQUITTO_FILE, MOSQUITTO_VECTORS } from "./vectors.ts";

const encoder = new TextEncoder();
const bytes = (s: string) => encoder.encode(s);
const ALICE = MOSQUITTO_VECTORS[0].field; // password "secret"
const BOB = MOSQUITTO_VECTORS[1].field; // password "p@ss wörd"

Deno.test("PasswordFile.verify: mosquitto_passwd's users with the right password, a wrong one, none, and strangers", async () => {
  const file = PasswordFile.parse(MOSQUITTO_FILE, "passwd");
  assert.deepStrictEqual(file.problems, []);
  assert.equal(file.size, 4);
  for (const v of MOSQUITTO_VECTORS) {
    assert.equal(await file.verify(v.username, bytes(v.password)), "ok", v.username);
    assert.equal(await file.verify(v.username, bytes(v.password + "!")), "bad password");
    assert.equal(
      await file.verify(v.username, bytes(v.password.toUpperCase() + "X")),
      "bad password",
    );
  }
  assert.equal(await file.verify("alice", undefined), "bad password");
  assert.equal(await file.verify("empty", undefined), "bad password");
  assert.equal(await file.verify("empty", bytes("")), "ok");
  assert.equal(await file.verify("mallory", bytes("secret")), "unknown user");
  assert.equal(await file.verify("mallory", undefined), "unknown user");
  assert.equal(await file.verify("Alice", bytes("secret")), "unknown user");
  assert.equal(await file.verify("__proto__", bytes("x")), "unknown user");
});

/** [name, file text, users that can log in as alice's password, problems as "line: message"]. */
const PARSE_CASES: [string, string, string[], string[]][] = [
  [
    "comments, blank and blank-ish lines are skipped",
    `# header\n\n   \n\t\nalice:${ALICE}\n# x:${ALICE}\n`,
    ["alice"],
    [],
  ],
  ["a comment is only a line starting with #", ` #alice:${ALICE}\n`, ["#alice"], []],
  ["CRLF line endings", `alice:${ALICE}\r\nbob:${ALICE}\r\n`, ["alice", "bob"], []],
  ["blanks around the fields are trimmed", `  alice \t:  ${ALICE} \t\n`, ["alice"], []],
  ["leading colons are skipped, as strtok does", `::alice:${ALICE}\n`, ["alice"], []],
  ["anything after a second colon is ignored", `alice:${ALICE}:extra:stuff\n`, ["alice"], []],
  ["no newline at the end", `alice:${ALICE}`, ["alice"], []],
  ["a line without a colon", `alice:${ALICE}\njustauser\n`, ["alice"], [
    "2: No ':' after the username, ignoring line.",
  ]],
  ["a line of colons", `:::\n`, [], ["1: No username, ignoring line."]],
  ["a user without a hash", `alice:\n`, [], ["1: No password hash for user alice, ignoring line."]],
  ["a blank hash", `alice:   \n`, [], ["1: Invalid password hash for user alice, removing entry."]],
  ["a plain-text password", `alice:secret\n`, [], [
    "1: Invalid password hash type for user alice, removing entry.",
  ]],
  ["bad iterations", `alice:$7$x$abc\n`, [], [
    "1: Invalid hash iterations for user alice, removing entry.",
  ]],
  ["a bad salt", `alice:$7$101$abc$def\n`, [], [
    "1: Unable to decode password salt for user alice, removing entry.",
  ]],
  ["a bad hash", `alice:${ALICE.slice(0, -4)}\n`, [], [
    "1: Unable to decode password for user alice, removing entry.",
  ]],
  ["a long username", `${"u".repeat(65536)}:${ALICE}\n`, [], [
    "1: Invalid line in password file, username too long.",
  ]],
  ["a username of 65535 bytes", `${"u".repeat(65535)}:${ALICE}\n`, ["u".repeat(65535)], []],
];

Deno.test("PasswordFile.parse: which lines count, and the problems of the others with file:line", async () => {
  for (const [name, text, users, problems] of PARSE_CASES) {
    const file = PasswordFile.parse(text, "pw");
    assert.equal(file.size, users.length, name);
    for (const user of users) {
      assert.equal(await file.verify(user, bytes("secret")), "ok", `${name}: ${user}`);
    }
    assert.deepStrictEqual(
      file.problems.map((p) => `${p.origin.line}: ${p.message}`),
      problems,
      name,
    );
    for (const p of file.problems) assert.equal(p.origin.file, "pw");
  }
});

Deno.test("PasswordFile.parse: the last usable line of a user counts, and the repeat is reported", async () => {
  const file = PasswordFile.parse(`alice:${ALICE}\nalice:${BOB}\nbob:${BOB}\nbob:junk\n`, "pw");
  assert.equal(await file.verify("alice", bytes("p@ss wörd")), "ok");
  assert.equal(await file.verify("alice", bytes("secret")), "bad password");
  // bob's second line is unusable: the first one stays.
  assert.equal(await file.verify("bob", bytes("p@ss wörd")), "ok");
  assert.deepStrictEqual(file.problems.map(formatProblem), [
    "pw:2: User alice is also on line 1; using this line.",
    "pw:4: Invalid password hash type for user bob, removing entry.",
  ]);
  assert.deepStrictEqual(file.problems.map((p) => p.level), ["warning", "error"]);
});

Deno.test("PasswordFile.verify: a password is all of its bytes, a NUL included", async () => {
  const file = PasswordFile.parse(`alice:${ALICE}\nbob:${BOB}\n`, "pw");
  assert.equal(await file.verify("alice", bytes("sec\0ret")), "bad password");
  assert.equal(await file.verify("alice", bytes("secre")), "bad password");
  assert.equal(await file.verify("bob", bytes("p@ss wörd\0")), "bad password");
  // HMAC pads its key with zero bytes, so for PBKDF2 trailing NULs make no difference (nor do
  // they for Mosquitto, which stops reading a password at its first NUL).
  assert.equal(await file.verify("alice", bytes("secret\0")), "ok");
});

Deno.test("PasswordFile.load reads a file; one that cannot be read is a ConfigError naming it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/pw`, MOSQUITTO_FILE);
    const file = await PasswordFile.load(`${dir}/pw`);
    assert.equal(file.file, `${dir}/pw`);
    assert.equal(await file.verify("carol", bytes("hunter2")), "ok");
    await assert.rejects(() => PasswordFile.load(`${dir}/missing`), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /missing: cannot read: No such file or directory/);
      return true;
    });
    await assert.rejects(() => PasswordFile.load(dir), ConfigError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("PasswordFile.verify is quick: 200 checks of a $7$ user in well under a second", async () => {
  const file = PasswordFile.parse(MOSQUITTO_FILE, "pw");
  const start = performance.now();
  for (let i = 0; i < 100; i++) {
    await file.verify("alice", bytes("secret"));
    await file.verify("nobody", bytes("secret"));
  }
  assert.ok(performance.now() - start < 1000, `${performance.now() - start} ms`);
});
