/**
 * The edits of `midge passwd` on a file's text: set, delete, hash plain-text passwords; what
 * is kept as it is; and where a corrupt line stops them.
 */

import assert from "node:assert/strict";
import {
  binaryToBytes,
  bytesToBinary,
  deleteUser,
  type EditOutcome,
  hashPlainPasswords,
  scanPasswordFile,
  setPassword,
  utf8ToBinary,
} from "../../src/auth/password_edit.ts";
import { PasswordFile } from "../../src/auth/password_file.ts";

const encoder = new TextEncoder();
const bytes = (s: string) => encoder.encode(s);

function textOf(outcome: EditOutcome): string {
  assert.equal(outcome.kind, "ok", JSON.stringify(outcome));
  return (outcome as { text: string }).text;
}

async function verifies(text: string, username: string, password: string): Promise<boolean> {
  const file = PasswordFile.parse(new TextDecoder().decode(binaryToBytes(text)), "pw");
  return await file.verify(username, bytes(password)) === "ok";
}

Deno.test("scanPasswordFile: comments and blank lines kept, users split, the first corrupt line found", () => {
  assert.deepStrictEqual(scanPasswordFile("# c\n\n a : x \r\n"), {
    lines: [{ raw: "# c" }, { raw: "" }, { raw: " a : x \r", username: "a", password: "x" }],
  });
  for (const [text, line] of [["a:x\nb\n", 2], ["a:x\nb:\n", 2], [":x\n", 1], ["a:x\n  :y\n", 2]]) {
    const scan = scanPasswordFile(text as string);
    assert.equal(scan.corruptLine, line, JSON.stringify(text));
    assert.equal(scan.lines.length, (line as number) - 1);
  }
});

Deno.test("setPassword replaces the user's lines in place, or appends; other lines stay byte for byte", async () => {
  const before = "# users\r\nalice:old\n\nbob:x\nalice:older\n";
  const updated = textOf(await setPassword(before, { username: "alice", password: bytes("new") }));
  const lines = updated.split("\n");
  assert.equal(lines.length, 6);
  assert.deepStrictEqual([lines[0], lines[2], lines[3], lines[5]], ["# users\r", "", "bob:x", ""]);
  assert.match(lines[1], /^alice:\$7\$101\$/);
  assert.match(lines[4], /^alice:\$7\$101\$/);
  assert.notEqual(lines[1], lines[4]); // each gets its own salt
  assert.ok(await verifies(updated, "alice", "new"));

  const added = textOf(
    await setPassword("bob:x", { username: "carol", password: bytes("pw") }, { type: "sha512" }),
  );
  assert.match(added, /^bob:x\ncarol:\$6\$[^\n]+\n$/); // the missing newline is added
  assert.ok(await verifies(added, "carol", "pw"));
  assert.match(
    textOf(await setPassword("", { username: "u", password: bytes("p") }, { iterations: 7 })),
    /^u:\$7\$7\$/,
  );
});

Deno.test("setPassword and deleteUser compare usernames byte for byte", async () => {
  const name = utf8ToBinary("jürgen");
  const text = textOf(
    await setPassword(`${name}:x\njurgen:y\n`, { username: name, password: bytes("pw") }),
  );
  assert.ok(await verifies(text, "jürgen", "pw"));
  assert.match(text, /\njurgen:y\n$/);
  assert.equal(textOf(deleteUser(text, name)), "jurgen:y\n");
  const latin1 = bytesToBinary(Uint8Array.of(0xe9, 0x3a, 0x78, 0x0a)); // "\xe9:x\n", not UTF-8
  assert.deepStrictEqual(
    binaryToBytes(textOf(deleteUser(latin1 + "b:y\n", "b"))),
    binaryToBytes(latin1),
  );
});

Deno.test("deleteUser removes every line of the user; a missing user is 'not found'", () => {
  assert.equal(textOf(deleteUser("a:1\nb:2\na:3\n# a:4\n", "a")), "b:2\n# a:4\n");
  assert.equal(textOf(deleteUser("a:1\n", "a")), "");
  assert.deepStrictEqual(deleteUser("a:1\n", "b"), { kind: "not found" });
  assert.deepStrictEqual(deleteUser("", "b"), { kind: "not found" });
});

Deno.test("a corrupt line stops every edit, saying whether the user came before it", async () => {
  assert.deepStrictEqual(deleteUser("a:1\nbad\nb:2\n", "a"), {
    kind: "corrupt",
    line: 2,
    found: true,
  });
  assert.deepStrictEqual(deleteUser("a:1\nbad\nb:2\n", "b"), {
    kind: "corrupt",
    line: 2,
    found: false,
  });
  assert.deepStrictEqual(await setPassword("a:1\nb:\n", { username: "c", password: bytes("p") }), {
    kind: "corrupt",
    line: 2,
    found: false,
  });
  assert.deepStrictEqual(await hashPlainPasswords("x\n"), {
    kind: "corrupt",
    line: 1,
    found: false,
  });
});

Deno.test("hashPlainPasswords hashes each field (cut at a second colon, trimmed) and keeps comments", async () => {
  const text = textOf(await hashPlainPasswords("# c\nalice:pa ss\n bob : p:q\n"));
  const lines = text.split("\n");
  assert.equal(lines[0], "# c");
  assert.match(lines[1], /^alice:\$7\$101\$/);
  assert.match(lines[2], /^bob:\$7\$101\$/);
  assert.ok(await verifies(text, "alice", "pa ss"));
  assert.ok(await verifies(text, "bob", "p"));
  assert.match(textOf(await hashPlainPasswords("a:b\n", { type: "sha512" })), /^a:\$6\$/);
  assert.deepStrictEqual(await hashPlainPasswords(""), { kind: "no users" });
  assert.deepStrictEqual(await hashPlainPasswords("# only\n\n"), { kind: "no users" });
});
