/**
 * The ACL on every path a message takes to a reader, beyond a live PUBLISH: wills (checked at
 * CONNECT and again when published, since the ACL may have been reloaded meanwhile), queued and
 * in-flight deliveries (checked against the reading user when they are sent), and a persistent
 * session resumed under another username. 3.1.1 and 5.0, over real sockets.
 */

import assert from "node:assert/strict";
import { AclFile } from "../../src/auth/acl_file.ts";
import type { PasswordVerifier } from "../../src/broker/options.ts";
import type { ProtocolVersion, Will } from "../../src/codec/mod.ts";
import { text } from "../fixtures/packets.ts";
import { connect, type RawClient, startBroker, type TestBroker, waitFor } from "./harness.ts";
import { payloadText, pub, publishAcked, receive, sub, subscribe } from "./pubsub_helpers.ts";

/** Every user's password is `<user>-pw`. */
const PASSWORDS: PasswordVerifier = {
  verify(username, password) {
    const given = password === undefined ? "" : new TextDecoder().decode(password);
    return Promise.resolve(given === `${username}-pw` ? "ok" : "bad password");
  },
};

const ACL_TEXT = [
  "user alice",
  "topic readwrite alice/#",
  "topic read secret/#",
  "user bob",
  "topic readwrite bob/#",
  "topic read public/#",
  "user carol",
  "topic readwrite alice/#",
].join("\n");

function aclBroker(aclText = ACL_TEXT): TestBroker {
  return startBroker({
    allowAnonymous: false,
    passwordFile: PASSWORDS,
    aclFile: AclFile.parse(aclText, "acl"),
  });
}

async function login(
  tb: TestBroker,
  user: string,
  fields: { clientId?: string; version?: ProtocolVersion; clean?: boolean; will?: Will } = {},
) {
  return await connect(tb.port, {
    protocolVersion: fields.version ?? 4,
    clientId: fields.clientId ?? user,
    clean: fields.clean ?? true,
    username: user,
    password: text(`${user}-pw`),
    will: fields.will,
    properties: fields.version === 5 && fields.clean === false
      ? { sessionExpiryInterval: 3600 }
      : undefined,
  });
}

/** alice, subscribed to `secret/#` at QoS 1 (she may read it). */
async function secretReader(tb: TestBroker): Promise<RawClient> {
  const { client, connack } = await login(tb, "alice", { clientId: "reader" });
  assert.equal(connack.reasonCode, 0);
  assert.deepEqual((await subscribe(client, sub("secret/#", 1))).reasonCodes, [1]);
  return client;
}

function secretWill(extra: Partial<Will> = {}): Will {
  return { topic: "secret/will", payload: text("leak"), qos: 1, retain: true, ...extra };
}

for (const version of [4, 5] as ProtocolVersion[]) {
  Deno.test(`a will on a topic the user may not write is accepted at CONNECT and never published, as Mosquitto (v${version})`, async () => {
    const tb = aclBroker();
    try {
      const reader = await secretReader(tb);
      const { client, connack } = await login(tb, "bob", { version, will: secretWill() });
      assert.equal(connack.reasonCode, 0);
      await client.close(); // no DISCONNECT: the will is due
      await reader.expectNothing(300);
      assert.equal(tb.broker.fanOut.retained.get("secret/will"), undefined);
      assert.ok(
        tb.logs.some((l) => l.includes("Will of ") && l.includes("'secret/will' not published")),
        tb.logs.join("\n"),
      );
      // A will on a topic bob may write is accepted and published.
      const ok = await login(tb, "bob", {
        version,
        will: { topic: "bob/will", payload: text("bye"), qos: 0, retain: false },
      });
      assert.equal(ok.connack.reasonCode, 0);
      await ok.client.close();
      await reader.close();
    } finally {
      await tb.stop();
    }
  });

  for (const willDelay of version === 5 ? [0, 1] : [0]) {
    Deno.test(`a will is checked again when published: write access taken away by a reload drops it (v${version}, will delay ${willDelay})`, async () => {
      const tb = aclBroker(ACL_TEXT + "\nuser bob\ntopic write secret/will\n");
      try {
        const reader = await secretReader(tb);
        const { client, connack } = await login(tb, "bob", {
          version,
          clean: willDelay === 0,
          will: secretWill(
            willDelay > 0 ? { properties: { willDelayInterval: willDelay } } : {},
          ),
        });
        assert.equal(connack.reasonCode, 0);
        // SIGHUP: bob loses write access to secret/will while connected.
        tb.broker.reconfigure({
          ...tb.broker.options,
          aclFile: AclFile.parse(ACL_TEXT, "acl-reloaded"),
        });
        await client.close(); // dropped without DISCONNECT: the will is due
        await reader.expectNothing(willDelay * 1000 + 400);
        assert.equal(tb.broker.fanOut.retained.get("secret/will"), undefined);
        await waitFor(
          () => tb.logs.some((l) => l.includes("Will of bob on 'secret/will' not published")),
          "the dropped will logged",
        );
        await reader.close();
      } finally {
        await tb.stop();
      }
    });
  }
}

for (const version of [4, 5] as ProtocolVersion[]) {
  Deno.test(`a session resumed under another username keeps its subscriptions but delivers only what the new user may read (v${version})`, async () => {
    const tb = aclBroker();
    try {
      // alice's persistent session, subscribed to alice/#, away.
      const first = await login(tb, "alice", { clientId: "alicesess", version, clean: false });
      assert.equal(first.connack.reasonCode, 0);
      await subscribe(first.client, sub("alice/#", 1));
      await first.client.close();
      await waitFor(() => tb.broker.sessions.connectedCount === 0, "alice to be away");
      // Two QoS 1 messages queued for her.
      const carol = (await login(tb, "carol")).client;
      await publishAcked(carol, pub("alice/private", "one", { qos: 1, packetId: 1 }));
      await publishAcked(carol, pub("alice/private", "two", { qos: 1, packetId: 2 }));

      // bob takes the client id: the session is resumed (as Mosquitto does), but nothing of
      // alice's reaches him, queued or live.
      const bob = await login(tb, "bob", { clientId: "alicesess", version, clean: false });
      assert.equal(bob.connack.reasonCode, 0);
      assert.equal(bob.connack.sessionPresent, true);
      await publishAcked(carol, pub("alice/private", "three", { qos: 1, packetId: 3 }));
      await bob.client.expectNothing(300);
      const session = tb.broker.sessions.get("alicesess")!;
      assert.equal(session.queuedCount, 0, "what bob may not read is not kept for him");
      assert.equal(session.inflight.size, 0);
      assert.ok(
        tb.logs.some((l) =>
          l.includes("Client alicesess: session of user 'alice' resumed by user 'bob'")
        ),
        tb.logs.join("\n"),
      );
      // bob's own subscriptions work as usual.
      await subscribe(bob.client, sub("bob/#", 1));
      await publishAcked(carol, pub("bob/x", "nope", { qos: 1, packetId: 4 }));
      await bob.client.expectNothing(200); // carol may not write bob/#
      await bob.client.close();
      await carol.close();
    } finally {
      await tb.stop();
    }
  });

  Deno.test(`in-flight messages are not resent to a user who may not read them (v${version})`, async () => {
    const tb = aclBroker();
    try {
      const first = await login(tb, "alice", { clientId: "alicesess", version, clean: false });
      await subscribe(first.client, sub("alice/#", 1));
      const carol = (await login(tb, "carol")).client;
      await publishAcked(carol, pub("alice/private", "unacked", { qos: 1, packetId: 1 }));
      const [got] = await receive(first.client, 1);
      assert.equal(payloadText(got), "unacked");
      await first.client.close(); // never acknowledged: in flight
      await waitFor(() => tb.broker.sessions.connectedCount === 1, "alice to be away");
      assert.equal(tb.broker.sessions.get("alicesess")!.inflight.size, 1);

      const bob = await login(tb, "bob", { clientId: "alicesess", version, clean: false });
      assert.equal(bob.connack.sessionPresent, true);
      await bob.client.expectNothing(300);
      assert.equal(tb.broker.sessions.get("alicesess")!.inflight.size, 0);
      await bob.client.close();

      // Back under alice, the session's subscription serves her again.
      const back = await login(tb, "alice", { clientId: "alicesess", version, clean: false });
      assert.equal(back.connack.sessionPresent, true);
      await publishAcked(carol, pub("alice/private", "again", { qos: 1, packetId: 2 }));
      const [resent] = await receive(back.client, 1);
      assert.equal(payloadText(resent), "again");
      await back.client.close();
      await carol.close();
    } finally {
      await tb.stop();
    }
  });
}

Deno.test("queued messages are checked against the ACL in force when they are sent, not when queued", async () => {
  const tb = aclBroker();
  try {
    const first = await login(tb, "alice", { clientId: "alicesess", clean: false });
    await subscribe(first.client, sub("alice/#", 1));
    await first.client.close();
    await waitFor(() => tb.broker.sessions.connectedCount === 0, "alice to be away");
    const carol = (await login(tb, "carol")).client;
    await publishAcked(carol, pub("alice/private", "queued", { qos: 1, packetId: 1 }));
    await publishAcked(carol, pub("alice/public", "queued too", { qos: 1, packetId: 2 }));
    assert.equal(tb.broker.sessions.get("alicesess")!.queuedCount, 2);
    // SIGHUP: alice may no longer read alice/private.
    tb.broker.reconfigure({
      ...tb.broker.options,
      aclFile: AclFile.parse(ACL_TEXT + "\nuser alice\ntopic deny alice/private\n", "acl-reloaded"),
    });
    const back = await login(tb, "alice", { clientId: "alicesess", clean: false });
    assert.equal(back.connack.sessionPresent, true);
    const [got] = await receive(back.client, 1);
    assert.equal(got.topic, "alice/public");
    await back.client.expectNothing(200);
    await back.client.close();
    await carol.close();
  } finally {
    await tb.stop();
  }
});
