/**
 * Authentication and topic access over real sockets: a password check (any verifier), and an
 * ACL file applied on connect, publish (write) and delivery (read, retained too; subscribing is
 * never refused, as in Mosquitto 2.0.11),
 * for 3.1.1 and 5.0 clients.
 */

import assert from "node:assert/strict";
import { AclFile } from "../../src/auth/acl_file.ts";
import type { PasswordVerifier } from "../../src/broker/options.ts";
import { type ProtocolVersion, ReasonCode } from "../../src/codec/mod.ts";
import { connect, startBroker, waitFor } from "./harness.ts";
import {
  expectAck,
  payloadText,
  pub,
  publishAcked,
  receive,
  sub,
  subscribe,
  sync,
} from "./pubsub_helpers.ts";

const PASSWORDS: PasswordVerifier = {
  verify(username, password) {
    const text = password === undefined ? undefined : new TextDecoder().decode(password);
    if (username === "alice" || username === "bob") {
      return Promise.resolve(text === `${username}-pw` ? "ok" : "bad password");
    }
    return Promise.resolve("unknown user");
  },
};

const pw = (user: string) => new TextEncoder().encode(`${user}-pw`);

for (const version of [4, 5] as ProtocolVersion[]) {
  const refusedCode = version === 5 ? ReasonCode.NotAuthorized : 0x87; // harness maps 3.x codes
  Deno.test(`password_file: right password in, wrong or unknown user refused, reason logged (v${version})`, async () => {
    const tb = startBroker({ allowAnonymous: false, passwordFile: PASSWORDS });
    try {
      const ok = await connect(tb.port, {
        protocolVersion: version,
        clientId: "c1",
        username: "alice",
        password: pw("alice"),
      });
      assert.equal(ok.connack.reasonCode, 0);
      await ok.client.close();
      const wrong = await connect(tb.port, {
        protocolVersion: version,
        clientId: "c2",
        username: "alice",
        password: new TextEncoder().encode("guess"),
      });
      assert.equal(wrong.connack.reasonCode, refusedCode);
      if (version === 4) assert.deepEqual([...wrong.client.frames[0]], [0x20, 2, 0, 5]);
      await wrong.client.close();
      const unknown = await connect(tb.port, {
        protocolVersion: version,
        clientId: "c3",
        username: "mallory",
        password: pw("mallory"),
      });
      assert.equal(unknown.connack.reasonCode, refusedCode);
      await unknown.client.close();
      const anonymous = await connect(tb.port, { protocolVersion: version, clientId: "c4" });
      assert.equal(anonymous.connack.reasonCode, refusedCode);
      await anonymous.client.close();
      assert.ok(
        tb.logs.some((l) =>
          /^Client c2 from 127\.0\.0\.1:\d+ refused: not authorised \(bad password\)\.$/.test(l)
        ),
      );
      assert.ok(tb.logs.some((l) => l.includes("Client c3 from") && l.endsWith("(unknown user).")));
      assert.ok(
        !tb.logs.some((l) => l.includes("guess") || l.includes("alice-pw")),
        "no password in the log",
      );
    } finally {
      await tb.stop();
    }
  });
}

Deno.test("password_file with allow_anonymous true: clients without a username get in, a wrong password does not", async () => {
  const tb = startBroker({ allowAnonymous: true, passwordFile: PASSWORDS });
  try {
    const anonymous = await connect(tb.port, { clientId: "anon" });
    assert.equal(anonymous.connack.reasonCode, 0);
    await anonymous.client.close();
    const wrong = await connect(tb.port, { clientId: "w", username: "bob", password: pw("alice") });
    assert.equal(wrong.connack.reasonCode, 0x87);
    await wrong.client.close();
  } finally {
    await tb.stop();
  }
});

const ACL = AclFile.parse(
  [
    "topic read public/#",
    "user alice",
    "topic readwrite alice/#",
    "topic read shared/#",
    "topic deny shared/secret",
    "topic write shared/inbox",
    "user bob",
    "topic readwrite shared/#",
    "pattern readwrite clients/%c/#",
  ].join("\n"),
  "acl",
);

function aclBroker() {
  return startBroker({ allowAnonymous: true, passwordFile: PASSWORDS, aclFile: ACL });
}

async function login(port: number, user: string, version: ProtocolVersion = 5, clientId = user) {
  const { client, connack } = await connect(port, {
    protocolVersion: version,
    clientId,
    username: user,
    password: pw(user),
  });
  assert.equal(connack.reasonCode, 0);
  return client;
}

for (const version of [4, 5] as ProtocolVersion[]) {
  Deno.test(`acl_file: every subscription is granted, as by Mosquitto 2.0.11; read access decides what arrives (v${version})`, async () => {
    const tb = aclBroker();
    try {
      const alice = await login(tb.port, "alice", version);
      const suback = await subscribe(alice, [
        sub("alice/#", 1),
        sub("bob/#", 1),
        sub("shared/+", 0),
        sub("public/#", 1),
        sub("clients/bob/#", 1),
      ]);
      // public/# is granted to anonymous clients only: a user has just their own rules.
      assert.deepEqual(suback.reasonCodes, [1, 1, 0, 1, 1]);
      if (version === 4) {
        const raw = alice.frames.at(-1)!;
        assert.deepEqual([...raw.subarray(raw.length - 5)], [1, 1, 0, 1, 1]);
      }
      const bob = await login(tb.port, "bob");
      await publishAcked(bob, pub("clients/bob/x", "not for alice", { qos: 1, packetId: 1 }));
      await publishAcked(bob, pub("shared/news", "for alice", { qos: 1, packetId: 2 }));
      const [got] = await receive(alice, 1);
      assert.deepEqual([got.topic, payloadText(got)], ["shared/news", "for alice"]);
      await sync(alice);
      assert.deepEqual(alice.takeAll(), [], "clients/bob/x never reached alice");
      await alice.close();
      await bob.close();
    } finally {
      await tb.stop();
    }
  });

  Deno.test(`acl_file: a denied publish is acknowledged ${version === 5 ? "with 0x87" : "normally"} and goes nowhere (v${version})`, async () => {
    const tb = aclBroker();
    try {
      const bob = await login(tb.port, "bob");
      assert.deepEqual((await subscribe(bob, sub("shared/#", 1))).reasonCodes, [1]);
      const alice = await login(tb.port, "alice", version);
      const denied = await publishAcked(alice, pub("shared/news", "no", { qos: 1, packetId: 1 }));
      assert.equal(
        (denied as { reasonCode: number }).reasonCode,
        version === 5 ? ReasonCode.NotAuthorized : 0,
      );
      const allowed = await publishAcked(
        alice,
        pub("shared/inbox", "yes", { qos: 1, packetId: 2 }),
      );
      assert.equal((allowed as { reasonCode: number }).reasonCode, 0);
      const [got] = await receive(bob, 1);
      assert.equal(got.topic, "shared/inbox");
      assert.equal(payloadText(got), "yes");
      await expectAck(bob, "puback", 200).then(
        () => assert.fail("nothing else expected"),
        () => {},
      );
      await alice.close();
      await bob.close();
    } finally {
      await tb.stop();
    }
  });
}

for (const version of [4, 5] as ProtocolVersion[]) {
  Deno.test(`acl_file: delivery checks read access per message; retained messages on subscribe too (v${version})`, async () => {
    const tb = aclBroker();
    try {
      const bob = await login(tb.port, "bob");
      await publishAcked(bob, pub("shared/secret", "s", { qos: 1, packetId: 1, retain: true }));
      await publishAcked(bob, pub("shared/open", "o", { qos: 1, packetId: 2, retain: true }));
      const alice = await login(tb.port, "alice", version);
      const suback = await subscribe(alice, sub("shared/#", 0));
      assert.deepEqual(suback.reasonCodes, [0]);
      const retained = await receive(alice, 1);
      assert.equal(retained[0].topic, "shared/open");
      await publishAcked(bob, pub("shared/secret", "s2", { qos: 1, packetId: 3 }));
      await publishAcked(bob, pub("shared/open", "o2", { qos: 1, packetId: 4 }));
      const [live] = await receive(alice, 1);
      assert.equal(payloadText(live), "o2");
      await sync(alice);
      assert.deepEqual(alice.takeAll(), [], "shared/secret never reached alice");
      await alice.close();
      await bob.close();
    } finally {
      await tb.stop();
    }
  });
}

Deno.test("acl_file: anonymous rules and %c patterns", async () => {
  const tb = aclBroker();
  try {
    const { client } = await connect(tb.port, { protocolVersion: 5, clientId: "dev7" });
    const suback = await subscribe(client, [
      sub("public/#"),
      sub("clients/dev7/#"),
      sub("clients/dev8/#"),
      sub("alice/#"),
    ]);
    assert.deepEqual(suback.reasonCodes, [0, 0, 0, 0]); // granted; delivery is checked
    const other = (await connect(tb.port, { protocolVersion: 5, clientId: "dev8" })).client;
    await publishAcked(other, pub("clients/dev8/x", "dev8's", { qos: 1, packetId: 1 }));
    await client.send(pub("clients/dev7/x", "dev7's"));
    const [got] = await receive(client, 1);
    assert.deepEqual([got.topic, payloadText(got)], ["clients/dev7/x", "dev7's"]);
    await sync(client);
    assert.deepEqual(client.takeAll(), [], "clients/dev8/x never reached dev7");
    await other.close();
    await client.close();
    await waitFor(() => tb.broker.sessions.connectedCount === 0, "the client to go");
  } finally {
    await tb.stop();
  }
});

Deno.test("clientid_prefixes: other client ids are refused as not authorised", async () => {
  const tb = startBroker({ clientIdPrefixes: "sensor-" });
  try {
    const ok = await connect(tb.port, { clientId: "sensor-7" });
    assert.equal(ok.connack.reasonCode, 0);
    await ok.client.close();
    const no = await connect(tb.port, { clientId: "laptop" });
    assert.deepEqual([...no.client.frames[0]], [0x20, 2, 0, 5]);
    await no.client.close();
    assert.ok(tb.logs.some((l) => l.includes("refused: not authorised (client id prefix).")));
  } finally {
    await tb.stop();
  }
});

for (const check of [true, false]) {
  Deno.test(`check_retain_source ${check}: a retained message whose publisher lost write access is ${check ? "not sent" : "sent"} (CVE-2018-12546)`, async () => {
    const tb = startBroker({
      checkRetainSource: check,
      aclFile: AclFile.parse("topic readwrite test/topic\n", "acl-1"),
    });
    try {
      const { client: publisher } = await connect(tb.port, { clientId: "publisher" });
      await publishAcked(
        publisher,
        pub("test/topic", "kept", { qos: 1, packetId: 1, retain: true }),
      );
      await publisher.close();
      // The ACL is reloaded: the publisher may only read now.
      tb.broker.reconfigure({
        ...tb.broker.options,
        aclFile: AclFile.parse("topic read test/topic\n", "acl-2"),
      });
      const { client } = await connect(tb.port, { clientId: "late" });
      await subscribe(client, sub("test/topic", 1));
      if (check) {
        await client.expectNothing(200);
        assert.ok(tb.logs.some((l) => l.includes("may no longer write there")), tb.logs.join("\n"));
      } else {
        assert.equal(payloadText((await receive(client, 1))[0]), "kept");
      }
      await client.close();
    } finally {
      await tb.stop();
    }
  });
}
