/**
 * SUBSCRIBE under an ACL as Mosquitto 2.0.11 answers it, checked against the real binary: every
 * filter is granted its QoS whatever the ACL says (plain topic, wildcard, pattern, `$share`);
 * read access is checked per message, so a shared subscriber that may not read a topic takes
 * its turn in the group and the message is dropped, as Mosquitto drops it.
 */

import assert from "node:assert/strict";
import { AclFile } from "../../src/auth/acl_file.ts";
import {
  payloadText,
  pub,
  publishAcked,
  receive,
  sub,
  subscribe,
  sync,
  versionName,
  VERSIONS,
  withBroker,
} from "./pubsub_helpers.ts";

const ACL = AclFile.parse(
  [
    "topic write no/#",
    "user alice",
    "topic read ok/#",
    "topic deny ok/secret",
    "user bob",
    "topic read no/#",
    "pattern read pat/%c/#",
  ].join("\n"),
  "acl",
);

const FILTERS = ["no/x", "no/#", "#", "ok/secret", "pat/ca/x", "pat/zz/x", "$share/g/no/x"];

for (const version of VERSIONS) {
  Deno.test(`ACL: every SUBSCRIBE is granted its QoS, readable or not, as by Mosquitto 2.0.11 (${versionName(version)})`, async () => {
    await withBroker({ aclFile: ACL }, async ({ client }) => {
      const alice = await client("ca", { protocolVersion: version, username: "alice" });
      const suback = await subscribe(alice, FILTERS.map((f) => sub(f, 1)));
      assert.deepEqual(suback.reasonCodes, FILTERS.map(() => 1));
      const raw = alice.frames.at(-1)!;
      assert.deepEqual([...raw.subarray(raw.length - FILTERS.length)], FILTERS.map(() => 1));
      // Granted, yet nothing alice may not read reaches her.
      const publisher = await client("cp", { protocolVersion: version });
      await publishAcked(publisher, pub("no/x", "not for alice", { qos: 1, packetId: 1 }));
      await sync(alice);
      assert.deepEqual(alice.takeAll(), []);
    });
  });
}

Deno.test("ACL: a $share member that may not read takes its turn and the message is dropped, as by Mosquitto 2.0.11", async () => {
  await withBroker({ aclFile: ACL }, async ({ client }) => {
    const alice = await client("ca", { protocolVersion: 5, username: "alice" });
    assert.deepEqual((await subscribe(alice, sub("$share/g/no/x"))).reasonCodes, [0]);
    const bob = await client("cb", { protocolVersion: 5, username: "bob" });
    assert.deepEqual((await subscribe(bob, sub("$share/g/no/x"))).reasonCodes, [0]);
    const publisher = await client("cp", { protocolVersion: 5 });
    for (let i = 0; i < 4; i++) {
      await publishAcked(publisher, pub("no/x", `${i}`, { qos: 1, packetId: i + 1 }));
    }
    const got = await receive(bob, 2);
    assert.deepEqual(got.map(payloadText), ["1", "3"]); // Mosquitto 2.0.11 sends bob the same
    await sync(bob);
    await sync(alice);
    assert.deepEqual([alice.takeAll(), bob.takeAll()], [[], []]);
  });
});
