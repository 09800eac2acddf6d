/**
 * `mount_point` over the in-memory transport: a plain listener and one mounted at `mp/` on one
 * broker. What a mounted client publishes, subscribes to (shared or not), unsubscribes from and
 * leaves as a will lands under `mp/`; what it receives (live, retained, queued) comes
 * without it; nothing outside `mp/` reaches it, `$SYS` included; the ACL sees mounted topics.
 */

import assert from "node:assert/strict";
import { AclFile } from "../../src/auth/acl_file.ts";
import type { ListenerOptions } from "../../src/broker/options.ts";
import { type ProtocolVersion, ReasonCode } from "../../src/codec/mod.ts";
import { text } from "../fixtures/packets.ts";
import { type ConnectFields, type RawClient, sendConnect } from "../integration/harness.ts";
import {
  expectAck,
  payloadText,
  pub,
  publishAcked,
  sub,
  subscribe,
} from "../integration/pubsub_helpers.ts";
import { type MemoryEnv, withMemoryBroker } from "./memory_broker.ts";

const MOUNTED: ListenerOptions = { port: 1884, mountPoint: "mp/" };

/** A client of the `mp/` listener, checked to be accepted. */
async function mounted(env: MemoryEnv, fields: ConnectFields): Promise<RawClient> {
  const client = env.open(fields.protocolVersion ?? 4, { listener: MOUNTED });
  const connack = await sendConnect(client, fields);
  assert.equal(connack.reasonCode, 0, `CONNACK of ${fields.clientId}`);
  return client;
}

/** The next PUBLISH of `client` as "topic payload". */
async function received(client: RawClient): Promise<string> {
  const p = await client.expect("publish");
  return `${p.topic} ${payloadText(p)}`;
}

const VERSIONS: [ProtocolVersion, string][] = [[4, "3.1.1"], [5, "5.0"]];

for (const [protocolVersion, name] of VERSIONS) {
  Deno.test(`mount_point (${name}): publishes land under the mount point, deliveries come without it, nothing outside reaches its clients`, async () => {
    await withMemoryBroker({}, async (env) => {
      const plain = await env.client("plain");
      await subscribe(plain, sub("#", 1));
      const inside = await mounted(env, { clientId: "inside", protocolVersion });
      await publishAcked(inside, pub("t", "from-mounted", { qos: 1, packetId: 1 }));
      assert.equal(await received(plain), "mp/t from-mounted");
      await subscribe(inside, sub("#", 1));

      const publisher = await env.client("publisher");
      await publishAcked(publisher, pub("other", "outside", { qos: 1, packetId: 2 }));
      await publishAcked(publisher, pub("mp/t", "from-plain", { qos: 1, packetId: 3 }));
      assert.equal(await received(plain), "other outside");
      assert.equal(await received(plain), "mp/t from-plain");
      // Not "other": the next one it gets is the message under mp/.
      const p = await inside.expect("publish");
      assert.equal(`${p.topic} ${payloadText(p)}`, "t from-plain");
      assert.equal(p.qos, 1);
      await inside.send({ type: "puback", packetId: p.packetId!, reasonCode: 0 });
      await inside.expectNothing();
    });
  });
}

Deno.test("mount_point: retained messages on subscribe come without it, only those under it", async () => {
  await withMemoryBroker({}, async (env) => {
    const plain = await env.client("plain");
    await publishAcked(plain, pub("mp/r", "kept", { retain: true }));
    await publishAcked(plain, pub("other/r", "not-yours", { retain: true }));
    const inside = await mounted(env, { clientId: "inside" });
    await subscribe(inside, sub("#"));
    const p = await inside.expect("publish");
    assert.deepEqual([p.topic, payloadText(p), p.retain], ["r", "kept", true]);
    await inside.expectNothing();
  });
});

Deno.test("mount_point: a mounted client's will is published under the mount point", async () => {
  await withMemoryBroker({}, async (env) => {
    const plain = await env.client("plain");
    await subscribe(plain, sub("#"));
    const dying = await mounted(env, {
      clientId: "dying",
      will: { topic: "will", payload: text("gone"), qos: 0, retain: false },
    });
    await dying.close();
    assert.equal(await received(plain), "mp/will gone");
  });
});

Deno.test("mount_point: $share/GROUP/FILTER takes the mount point on its filter", async () => {
  await withMemoryBroker({}, async (env) => {
    const plain = await env.client("plain");
    const shared = await mounted(env, { clientId: "shared" });
    await subscribe(shared, sub("$share/g/t"));
    await publishAcked(plain, pub("t", "plain-t"));
    await publishAcked(plain, pub("mp/t", "mounted-t"));
    assert.equal(await received(shared), "t mounted-t");
    await shared.expectNothing();
    assert.equal(env.broker.fanOut.sharedSubscriptionCount, 1);
  });
});

Deno.test("mount_point: UNSUBSCRIBE removes the mounted subscription", async () => {
  await withMemoryBroker({}, async (env) => {
    const plain = await env.client("plain");
    const inside = await mounted(env, { clientId: "inside", protocolVersion: 5 });
    await subscribe(inside, sub("t"));
    await inside.send({ type: "unsubscribe", packetId: 9, topicFilters: ["t"] });
    const unsuback = await inside.expect("unsuback");
    assert.deepEqual(unsuback.reasonCodes, [0]); // it existed, as mp/t
    await publishAcked(plain, pub("mp/t", "after"));
    await inside.expectNothing();
  });
});

Deno.test("mount_point: a 5.0 client that accepts topic aliases gets the topic it knows, never an alias", async () => {
  await withMemoryBroker({}, async (env) => {
    const plain = await env.client("plain");
    const inside = await mounted(env, {
      clientId: "inside",
      protocolVersion: 5,
      properties: { topicAliasMaximum: 5 },
    });
    await subscribe(inside, sub("t"));
    await publishAcked(plain, pub("mp/t", "one"));
    await publishAcked(plain, pub("mp/t", "two"));
    const first = await inside.expect("publish");
    const second = await inside.expect("publish");
    assert.deepEqual([first.topic, first.properties?.topicAlias], ["t", undefined]);
    assert.deepEqual([second.topic, second.properties?.topicAlias], ["t", undefined]);
  });
});

Deno.test("mount_point: messages queued for an offline session go out without it", async () => {
  await withMemoryBroker({}, async (env) => {
    const plain = await env.client("plain");
    const away = await mounted(env, { clientId: "away", clean: false });
    await subscribe(away, sub("t", 1));
    await away.close();
    await publishAcked(plain, pub("mp/t", "queued", { qos: 1, packetId: 1 }));
    const back = await mounted(env, { clientId: "away", clean: false });
    const p = await back.expect("publish");
    assert.deepEqual([p.topic, payloadText(p), p.qos], ["t", "queued", 1]);
  });
});

Deno.test("mount_point: $SYS stays outside, for subscriptions and retained values", async () => {
  await withMemoryBroker({ options: { sysInterval: 1 } }, async (env) => {
    const plain = await env.client("plain");
    await subscribe(plain, sub("$SYS/broker/version"));
    assert.match(await received(plain), /^\$SYS\/broker\/version midge version/);
    const inside = await mounted(env, { clientId: "inside" });
    await subscribe(inside, sub("$SYS/#"));
    await inside.expectNothing();
  });
});

Deno.test("mount_point: the ACL sees the mounted topic (a %c pattern under mp/)", async () => {
  const aclFile = AclFile.parse("pattern readwrite mp/%c/#\n", "acl");
  await withMemoryBroker({ options: { aclFile } }, async (env) => {
    const dev = await mounted(env, { clientId: "dev1", protocolVersion: 5 });
    const suback = await subscribe(dev, [sub("dev1/#"), sub("dev2/#")]);
    assert.deepEqual(suback.reasonCodes, [0, 0]); // granted: delivery is what is checked
    await dev.send(pub("dev2/x", "no", { qos: 1, packetId: 1 }));
    assert.equal((await expectAck(dev, "puback")).reasonCode, ReasonCode.NotAuthorized);
    await dev.send(pub("dev1/x", "yes", { qos: 1, packetId: 2 }));
    assert.equal(await received(dev), "dev1/x yes"); // routed before the PUBACK is sent
    assert.equal((await expectAck(dev, "puback")).reasonCode, 0);
    const dev2 = await mounted(env, { clientId: "dev2", protocolVersion: 5 });
    await publishAcked(dev2, pub("dev2/y", "not for dev1", { qos: 1, packetId: 1 }));
    await dev.expectNothing();
  });
});
