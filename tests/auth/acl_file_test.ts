/**
 * The ACL file as Mosquitto 2.0 reads and applies it: a table of rules, clients, topics and
 * actions, with the expected answer for each.
 */

import assert from "node:assert/strict";
import { AclFile, filterMatches } from "../../src/auth/acl_file.ts";
import { ConfigError } from "../../src/config/errors.ts";

const FILE = `# anonymous clients
topic read public/#
topic deny public/secret

user roger
topic foo/bar
topic write logs/roger
topic read $SYS/broker/#

user sue
topic readwrite sue/#
topic deny sue/private/#

pattern write sensor/%u/data
pattern readwrite clients/%c/#
`;

const acl = AclFile.parse(FILE, "acl");
const anon = { clientId: "a1" };
const roger = { clientId: "r1", username: "roger" };
const sue = { clientId: "s1", username: "sue" };
const stranger = { clientId: "x1", username: "nobody" };

const CASES: [
  string,
  { clientId: string; username?: string },
  string,
  "read" | "write",
  boolean,
][] = [
  ["anonymous reads public topics", anon, "public/news", "read", true],
  ["anonymous cannot write public topics", anon, "public/news", "write", false],
  ["deny beats a broader grant", anon, "public/secret", "read", false],
  ["anonymous rules are not roger's", roger, "public/news", "read", false],
  ["roger reads and writes foo/bar (no access word)", roger, "foo/bar", "write", true],
  ["roger reads foo/bar", roger, "foo/bar", "read", true],
  ["write-only topic cannot be read", roger, "logs/roger", "read", false],
  ["$SYS read granted by a $ rule", roger, "$SYS/broker/uptime", "read", true],
  ["a $SYS read rule does not grant writing", roger, "$SYS/broker/uptime", "write", false],
  ["sue's wildcard grant", sue, "sue/a/b", "write", true],
  ["sue's deny under her grant", sue, "sue/private/x", "read", false],
  ["a user the file does not name gets patterns only", stranger, "foo/bar", "read", false],
  ["%u pattern for the user", sue, "sensor/sue/data", "write", true],
  ["%u pattern is not another user's", sue, "sensor/roger/data", "write", false],
  ["%u pattern needs a username", anon, "sensor/a1/data", "write", false],
  ["%c pattern for the client id", anon, "clients/a1/status", "read", true],
  ["%c pattern, another client", anon, "clients/a2/status", "read", false],
  ["a + in the client id defeats patterns", { clientId: "+" }, "clients/+/x", "read", false],
  [
    "a # in the username defeats patterns",
    { clientId: "c", username: "#" },
    "sensor/#/data",
    "write",
    false,
  ],
];

for (const [name, client, topic, action, expected] of CASES) {
  Deno.test(`acl_file: ${name}`, () => {
    assert.equal(acl.allows(client, topic, action), expected);
  });
}

Deno.test("acl_file: topic filters match topic names", () => {
  assert.ok(filterMatches("a/#", "a"));
  assert.ok(filterMatches("a/+/c", "a/b/c"));
  assert.ok(!filterMatches("a/+", "a/b/c"));
});

Deno.test("acl_file: bad lines are refused with file:line", () => {
  assert.throws(
    () => AclFile.parse("topic read a\nallow b\nuser\ntopic deny\n", "acl.conf"),
    (e) => {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(e.message.split("\n"), [
        'acl.conf:2: unknown keyword "allow": use topic, pattern or user',
        "acl.conf:3: user needs a name",
        "acl.conf:4: topic needs a topic",
      ]);
      return true;
    },
  );
});
