/**
 * Persistence in the broker, over real sockets and a memory store: what is stored, when
 * acknowledgements are released, and what a broker restored from a crash copy of the store
 * gives back (tests/integration/persistence_helpers.ts explains the crash copy).
 */

import assert from "node:assert/strict";
import { AclFile } from "../../src/auth/acl_file.ts";
import type { PublishPacket } from "../../src/codec/mod.ts";
import { delay, type RawClient, waitFor } from "./harness.ts";
import { Brokers, keysOf, withBrokers } from "./persistence_helpers.ts";
import { expectAck, payloadText, pub, receive, sub, subscribe, sync } from "./pubsub_helpers.ts";

const PERSISTENT = { clientId: "sub", clean: false } as const;

/** Take `n` QoS 1 PUBLISH packets, acknowledging each (the in-flight window refills). */
async function receiveAcking(client: RawClient, n: number): Promise<PublishPacket[]> {
  const got: PublishPacket[] = [];
  for (let i = 0; i < n; i++) {
    const [m] = await receive(client, 1);
    got.push(m);
    await client.send({ type: "puback", packetId: m.packetId!, reasonCode: 0 });
  }
  return got;
}

Deno.test("every acknowledged QoS 1 message is in the store when its PUBACK arrives", async () => {
  await withBrokers(async (brokers) => {
    const a = await brokers.start();
    const s = await a.connect(PERSISTENT);
    await subscribe(s, sub("t/#", 1));
    await s.close();
    const p = await a.connect({ clientId: "pub" });
    const crashes = [];
    for (let i = 1; i <= 30; i++) {
      await p.send(pub("t/x", `m${i}`, { qos: 1, packetId: i }));
      const ack = await expectAck(p, "puback");
      assert.equal(ack.packetId, i);
      if (i % 10 === 0) crashes.push({ acked: i, data: Brokers.crash(a) });
    }
    for (const { acked, data } of crashes) {
      const b = await brokers.start(data);
      assert.equal(b.restored.sessions, 1);
      assert.equal(b.restored.deliveries, acked);
      const back = await b.connect(PERSISTENT);
      const got = await receiveAcking(back, acked);
      assert.deepEqual(got.map(payloadText), Array.from({ length: acked }, (_, i) => `m${i + 1}`));
      await back.expectNothing(100);
    }
  });
});

Deno.test("a PUBACK is held while the store fails, and released once the retry commits", async () => {
  await withBrokers(async (brokers) => {
    const a = await brokers.start();
    const s = await a.connect(PERSISTENT);
    await subscribe(s, sub("t", 1));
    await s.close();
    const p = await a.connect({ clientId: "pub" });
    a.store.failCommits(1, new Error("disk full"));
    await p.send(pub("t", "kept", { qos: 1, packetId: 5 }));
    await p.expectNothing(300);
    assert.ok(
      a.logs.some((l) => l.includes("cannot write to memory: disk full")),
      a.logs.join("\n"),
    );
    assert.equal((await expectAck(p, "puback", 3000)).packetId, 5);
    assert.equal(keysOf(a.data, "d").length, 1);
    assert.ok(a.logs.some((l) => l.includes("writing to memory again")));
  });
});

Deno.test("messages acknowledged by a connected persistent subscriber leave the store", async () => {
  await withBrokers(async (brokers) => {
    const a = await brokers.start();
    const s = await a.connect(PERSISTENT);
    await subscribe(s, sub("t", 2));
    const p = await a.connect({ clientId: "pub" });
    for (let i = 1; i <= 20; i++) {
      const qos = (i % 2 + 1) as 1 | 2;
      await p.send(pub("t", `m${i}`, { qos, packetId: i }));
      const ack = await expectAck(p, qos === 1 ? "puback" : "pubrec");
      if (qos === 2) {
        await p.send({ type: "pubrel", packetId: i, reasonCode: 0 });
        await expectAck(p, "pubcomp");
      }
      assert.equal(ack.packetId, i);
      const [m] = await receive(s, 1);
      if (m.qos === 1) await s.send({ type: "puback", packetId: m.packetId!, reasonCode: 0 });
      else {
        await s.send({ type: "pubrec", packetId: m.packetId!, reasonCode: 0 });
        await expectAck(s, "pubrel");
        await s.send({ type: "pubcomp", packetId: m.packetId!, reasonCode: 0 });
      }
    }
    await sync(s);
    await a.broker.persistence!.flush();
    assert.deepEqual([...a.data.keys()].sort(), ["s/1", "u/1/1"]);
  });
});

Deno.test("QoS 2 from a publisher: a retransmission after a crash is not delivered twice", async () => {
  await withBrokers(async (brokers) => {
    const a = await brokers.start();
    const s = await a.connect(PERSISTENT);
    await subscribe(s, sub("t", 2));
    await s.close();
    const p = await a.connect({ clientId: "pub", clean: false });
    await p.send(pub("t", "once", { qos: 2, packetId: 7 }));
    await expectAck(p, "pubrec");
    const b = await brokers.start(Brokers.crash(a));
    const p2 = await b.connect({ clientId: "pub", clean: false });
    await p2.send(pub("t", "once", { qos: 2, packetId: 7, dup: true }));
    assert.equal((await expectAck(p2, "pubrec")).packetId, 7);
    await p2.send({ type: "pubrel", packetId: 7, reasonCode: 0 });
    assert.equal((await expectAck(p2, "pubcomp")).packetId, 7);
    const s2 = await b.connect(PERSISTENT);
    const [m] = await receive(s2, 1);
    assert.equal(payloadText(m), "once");
    await s2.expectNothing(200);
    // PUBCOMP came only once the id was forgotten in the store.
    assert.deepEqual(keysOf(b.data, "i"), []);
  });
});

Deno.test("QoS 2 to a subscriber: resent under its stored id, and as PUBREL once PUBREC came", async () => {
  await withBrokers(async (brokers) => {
    const a = await brokers.start();
    const s = await a.connect(PERSISTENT);
    await subscribe(s, sub("t", 2));
    const p = await a.connect({ clientId: "pub" });
    await p.send(pub("t", "x", { qos: 2, packetId: 1 }));
    await expectAck(p, "pubrec");
    await p.send({ type: "pubrel", packetId: 1, reasonCode: 0 });
    const [first] = await receive(s, 1);
    const b = await brokers.start(Brokers.crash(a));
    const s2 = await b.connect(PERSISTENT);
    const [again] = await receive(s2, 1);
    assert.equal(again.dup, true);
    assert.equal(again.packetId, first.packetId);
    await s2.send({ type: "pubrec", packetId: again.packetId!, reasonCode: 0 });
    assert.equal((await expectAck(s2, "pubrel")).packetId, first.packetId);
    const c = await brokers.start(Brokers.crash(b));
    const s3 = await c.connect(PERSISTENT);
    assert.equal((await expectAck(s3, "pubrel")).packetId, first.packetId);
    await s3.send({ type: "pubcomp", packetId: first.packetId!, reasonCode: 0 });
    await s3.expectNothing(200);
    await c.broker.persistence!.flush();
    assert.deepEqual(keysOf(c.data, "d"), []);
    assert.deepEqual(keysOf(c.data, "m"), []);
  });
});

Deno.test("in flight and queued messages come back in order after a crash", async () => {
  await withBrokers(async (brokers) => {
    const a = await brokers.start(new Map(), { maxInflightMessages: 3 });
    const s = await a.connect(PERSISTENT);
    await subscribe(s, sub("t", 1));
    const p = await a.connect({ clientId: "pub" });
    for (let i = 1; i <= 10; i++) {
      await p.send(pub("t", `m${i}`, { qos: 1, packetId: i }));
      await expectAck(p, "puback");
    }
    const firstThree = await receive(s, 3); // in flight, never acknowledged
    assert.deepEqual(firstThree.map(payloadText), ["m1", "m2", "m3"]);
    const b = await brokers.start(Brokers.crash(a), { maxInflightMessages: 3 });
    const s2 = await b.connect(PERSISTENT);
    const got = await receiveAcking(s2, 10);
    assert.deepEqual(got.map(payloadText), Array.from({ length: 10 }, (_, i) => `m${i + 1}`));
    assert.deepEqual(got.map((m) => m.dup), [true, true, true, ...Array(7).fill(false)]);
  });
});

Deno.test("retained messages survive, and so does their removal", async () => {
  await withBrokers(async (brokers) => {
    const a = await brokers.start();
    const p = await a.connect({ clientId: "pub" });
    for (const [topic, body] of [["r/1", "one"], ["r/2", "two"], ["r/1", "uno"]]) {
      await p.send(pub(topic, body, { qos: 1, packetId: 1, retain: true }));
      await expectAck(p, "puback");
    }
    const b = await brokers.start(Brokers.crash(a));
    assert.equal(b.restored.retained, 2);
    const s = await b.connect({ clientId: "s" });
    await subscribe(s, sub("r/#", 1));
    const got = await receive(s, 2);
    assert.deepEqual(got.map((m) => `${m.topic}=${payloadText(m)}`).sort(), ["r/1=uno", "r/2=two"]);
    assert.ok(got.every((m) => m.retain));
    const p2 = await b.connect({ clientId: "pub" });
    await p2.send(pub("r/1", "", { qos: 1, packetId: 2, retain: true }));
    await expectAck(p2, "puback");
    const c = await brokers.start(Brokers.crash(b));
    assert.equal(c.restored.retained, 1);
    assert.equal(keysOf(c.data, "m").length, 1);
  });
});

Deno.test("only sessions that outlive their connection are stored", async () => {
  await withBrokers(async (brokers) => {
    const a = await brokers.start();
    const clean = await a.connect({ clientId: "clean" });
    await subscribe(clean, sub("t", 1));
    const v5 = await a.connect({ clientId: "v5", protocolVersion: 5 }); // expiry 0
    await subscribe(v5, sub("t", 1));
    await a.broker.persistence!.flush();
    assert.deepEqual([...a.data.keys()], []);
    await v5.close();
    // Stored while it has an expiry, with its subscription (SUBACK waits for the store).
    const expiring = { clientId: "v5", protocolVersion: 5, clean: false } as const;
    const v5b = await a.connect({ ...expiring, properties: { sessionExpiryInterval: 60 } });
    await subscribe(v5b, sub("u", 1));
    assert.deepEqual([...a.data.keys()].sort(), ["s/1", "u/1/1"]);
    await v5b.close();
    // Resumed with expiry 0: it ends with this connection, so its records go now.
    const v5c = await a.connect({ ...expiring, properties: { sessionExpiryInterval: 0 } });
    await sync(v5c);
    assert.deepEqual([...a.data.keys()], []);
    await v5c.close();
    // A 3.1.1 persistent session ended by clean start: its records go.
    const kept = await a.connect({ clientId: "k", clean: false });
    await subscribe(kept, sub("k", 1));
    await kept.close();
    await a.connect({ clientId: "k", clean: true });
    await waitFor(() => a.data.size === 0, "the session removed");
  });
});

Deno.test("subscriptions: a replaced one keeps one record, an unsubscribed one goes", async () => {
  await withBrokers(async (brokers) => {
    const a = await brokers.start();
    const s = await a.connect(PERSISTENT);
    await subscribe(s, [sub("a", 0), sub("b", 1)]);
    await subscribe(s, sub("a", 2));
    await a.broker.persistence!.flush();
    assert.deepEqual(keysOf(a.data, "u"), ["u/1/1", "u/1/2"]);
    await s.send({ type: "unsubscribe", packetId: 9, topicFilters: ["b"] });
    await s.expect("unsuback");
    assert.deepEqual(keysOf(a.data, "u"), ["u/1/1"], "UNSUBACK waits for the store");
    const b = await brokers.start(Brokers.crash(a));
    const s2 = await b.connect(PERSISTENT);
    const p = await b.connect({ clientId: "p" });
    await p.send(pub("a", "x", { qos: 2, packetId: 1 }));
    await p.send({ type: "pubrel", packetId: 1, reasonCode: 0 });
    await p.send(pub("b", "y", { qos: 1, packetId: 2 }));
    const [m] = await receive(s2, 1);
    assert.equal(m.topic, "a");
    assert.equal(m.qos, 2);
    await s2.expectNothing(200);
  });
});

Deno.test("after a restart, session expiry still runs from the disconnect", async () => {
  await withBrokers(async (brokers) => {
    const a = await brokers.start(new Map(), { persistentClientExpiration: 1 });
    const s = await a.connect(PERSISTENT);
    await subscribe(s, sub("t", 1));
    await s.close();
    await waitFor(() => a.data.get("s/1") !== undefined, "stored");
    const v5 = await a.connect({
      clientId: "v5",
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 3600 },
    });
    await v5.close();
    await delay(100);
    const b = await brokers.start(Brokers.crash(a), { persistentClientExpiration: 1 });
    assert.equal(b.restored.sessions, 2);
    await waitFor(() => b.broker.metrics.clientsExpired === 1, "the 3.1.1 session expired", 3000);
    assert.ok(b.broker.sessions.has("v5"));
    assert.ok(b.logs.includes("Expiring client sub."));
    await waitFor(() => keysOf(b.data, "s").length === 1, "its records removed");
  });
});

Deno.test("the will of a client connected at the crash is published after the restart", async () => {
  await withBrokers(async (brokers) => {
    const a = await brokers.start();
    const s = await a.connect(PERSISTENT);
    await subscribe(s, sub("wills", 1));
    await s.close();
    await a.connect({
      clientId: "device",
      clean: false,
      will: { topic: "wills", payload: new TextEncoder().encode("gone"), qos: 1, retain: false },
    });
    await a.broker.persistence!.flush();
    const b = await brokers.start(Brokers.crash(a));
    const s2 = await b.connect(PERSISTENT);
    const [m] = await receiveAcking(s2, 1);
    assert.equal(payloadText(m), "gone");
    await sync(s2);
    // Published once: the restored session's will is gone from the store too.
    const c = await brokers.start(Brokers.crash(b));
    const s3 = await c.connect(PERSISTENT);
    await s3.expectNothing(200);
  });
});

Deno.test("unreadable records are skipped with a warning naming their key, and kept", async () => {
  await withBrokers(async (brokers) => {
    const a = await brokers.start();
    const s = await a.connect(PERSISTENT);
    await subscribe(s, sub("t", 1));
    await s.close();
    await waitFor(() => a.data.size === 2, "stored");
    const data = Brokers.crash(a);
    data.set("s/9", new Uint8Array([1, 0, 200])); // cut short
    data.set("d/1/77", new Uint8Array([1, 5, 1, 0])); // message m/5 does not exist
    data.set("zz", new Uint8Array([1]));
    const b = await brokers.start(data);
    assert.equal(b.restored.sessions, 1);
    assert.equal(b.restored.skipped, 3);
    const warnings = b.logs.filter((l) => l.includes("skipped record"));
    assert.equal(warnings.length, 3, b.logs.join("\n"));
    assert.ok(warnings.some((l) => l.includes("s/9")));
    assert.ok(warnings.some((l) => l.includes("d/1/77") && l.includes("m/5 is missing")));
    assert.ok(b.data.has("s/9") && b.data.has("d/1/77") && b.data.has("zz"));
    // The readable session is fine.
    const s2 = await b.connect(PERSISTENT);
    const p = await b.connect({ clientId: "p" });
    await p.send(pub("t", "still here", { qos: 1, packetId: 1 }));
    assert.equal(payloadText((await receive(s2, 1))[0]), "still here");
  });
});

Deno.test("a message for one session is stored inside its delivery; one for several, once", async () => {
  await withBrokers(async (brokers) => {
    const a = await brokers.start();
    for (const clientId of ["s1", "s2"]) {
      const s = await a.connect({ clientId, clean: false });
      await subscribe(s, sub(clientId === "s1" ? "#" : "both", 1));
      await s.close();
    }
    const p = await a.connect({ clientId: "pub" });
    await p.send(pub("one", "x".repeat(1000), { qos: 1, packetId: 1 }));
    await expectAck(p, "puback");
    await p.send(pub("both", "y".repeat(1000), { qos: 1, packetId: 2 }));
    await expectAck(p, "puback");
    assert.deepEqual(keysOf(a.data, "m"), ["m/1"]);
    assert.equal(keysOf(a.data, "d").length, 3);
    const stored = [...a.data.values()].reduce((n, v) => n + v.length, 0);
    assert.ok(stored < 2 * 1000 + 400, `${stored} bytes: each payload once`);
    const b = await brokers.start(Brokers.crash(a));
    const s1 = await b.connect({ clientId: "s1", clean: false });
    assert.deepEqual((await receiveAcking(s1, 2)).map((m) => m.topic), ["one", "both"]);
    const s2 = await b.connect({ clientId: "s2", clean: false });
    assert.deepEqual((await receiveAcking(s2, 1)).map(payloadText), ["y".repeat(1000)]);
    await sync(s1);
    await sync(s2);
    await b.broker.persistence!.flush();
    assert.deepEqual(keysOf(b.data, "m"), []);
    assert.deepEqual(keysOf(b.data, "d"), []);
  });
});

Deno.test("queue_qos0_messages: QoS 0 messages queued for a persistent session are stored too", async () => {
  await withBrokers(async (brokers) => {
    const a = await brokers.start(new Map(), { queueQos0Messages: true });
    const s = await a.connect(PERSISTENT);
    await subscribe(s, sub("t", 0));
    await s.close();
    const p = await a.connect({ clientId: "pub" });
    await p.send(pub("t", "zero"));
    await sync(p); // the publisher's output waits for the store: PINGRESP means stored
    const b = await brokers.start(Brokers.crash(a), { queueQos0Messages: true });
    const s2 = await b.connect(PERSISTENT);
    const [m] = await receive(s2, 1);
    assert.equal(payloadText(m), "zero");
    assert.equal(m.qos, 0);
    await sync(s2);
    await b.broker.persistence!.flush();
    assert.deepEqual(keysOf(b.data, "d"), [], "delivered QoS 0 leaves the store");
  });
});

Deno.test("check_retain_source after a restart: the publisher of a retained message is remembered", async () => {
  await withBrokers(async (brokers) => {
    const acl = (text: string) => ({ aclFile: AclFile.parse(text, "acl") });
    const a = await brokers.start(new Map(), acl("user alice\ntopic readwrite r/alice\n"));
    const p = await a.connect({ clientId: "a1", username: "alice" });
    await p.send(pub("r/alice", "mine", { qos: 1, packetId: 1, retain: true }));
    await expectAck(p, "puback");
    // Restarted with alice's write access gone: the retained message is not sent.
    const b = await brokers.start(Brokers.crash(a), acl("user alice\ntopic read r/alice\n"));
    const s = await b.connect({ clientId: "a2", username: "alice" });
    await subscribe(s, sub("r/alice", 1));
    await s.expectNothing(200);
    // With it back, it is.
    const c = await brokers.start(Brokers.crash(a), acl("user alice\ntopic readwrite r/alice\n"));
    const s2 = await c.connect({ clientId: "a3", username: "alice" });
    await subscribe(s2, sub("r/alice", 1));
    assert.equal(payloadText((await receive(s2, 1))[0]), "mine");
  });
});
