/**
 * Holding answers until the store has what they promise, decided once per packet by the
 * dispatcher (src/broker/dispatch.ts) from what the packet's handling reported to the state
 * observer. The store is made to fail one commit: its changes are tried again a second later,
 * so an answer held for them comes late, and one that promises nothing comes at once.
 */

import assert from "node:assert/strict";
import type { PasswordVerifier } from "../../src/broker/options.ts";
import type { ConnectPacket, Packet } from "../../src/codec/mod.ts";
import { RawClient, sendConnect } from "./harness.ts";
import { type Brokers, type StoredBroker, withBrokers } from "./persistence_helpers.ts";
import { expectAck, pub, receive, sub, subscribe } from "./pubsub_helpers.ts";

const PERSISTENT = { clientId: "keeper", clean: false } as const;
/** Longer than an answer takes, shorter than the store's retry after a failed commit. */
const HELD_MS = 300;
const RETRY_WITHIN_MS = 3000;
const DISK_FULL = new Error("disk full");

/** After `send`, the next packet of `type` comes only once the failed commit is retried. */
async function expectHeld(
  client: RawClient,
  type: Packet["type"],
  send: () => Promise<void>,
): Promise<void> {
  await send();
  await client.expectNothing(HELD_MS);
  await client.expect(type, RETRY_WITHIN_MS);
}

/** A client of `b` with a persistent session, and its CONNACK. */
async function connectPersistent(b: StoredBroker, fields = {}): Promise<RawClient> {
  const client = await RawClient.open(b.port);
  await sendConnect(client, { ...PERSISTENT, ...fields });
  return client;
}

/** A broker over a memory store and a persistent client of it, both closed afterwards. */
async function withPersistentClient(
  body: (a: StoredBroker, client: RawClient) => Promise<void>,
): Promise<void> {
  await withBrokers(async (brokers) => {
    const a = await brokers.start();
    const client = await connectPersistent(a);
    try {
      await body(a, client);
    } finally {
      await client.close();
    }
  });
}

/**
 * A persistent CONNECT (3.1.1, with `fields`) to a broker started with `overrides`, whose next
 * commit fails: its CONNACK must wait for the session to be stored.
 */
async function expectConnackHeld(
  overrides: Parameters<Brokers["start"]>[1],
  fields: Partial<ConnectPacket> = {},
): Promise<void> {
  await withBrokers(async (brokers) => {
    const a = await brokers.start(undefined, overrides);
    a.store.failCommits(1, DISK_FULL);
    const client = await RawClient.open(a.port);
    try {
      await expectHeld(client, "connack", () =>
        client.send({
          type: "connect",
          protocolVersion: 4,
          keepAlive: 60,
          ...fields,
          ...PERSISTENT,
        }));
    } finally {
      await client.close();
    }
  });
}

Deno.test("CONNACK of a new persistent session waits until the session is stored", async () => {
  await expectConnackHeld({});
});

Deno.test("CONNACK after a password check waits until the session is stored", async () => {
  const passwords: PasswordVerifier = {
    verify: (username) => Promise.resolve(username === "ann" ? "ok" : "unknown user"),
  };
  await expectConnackHeld(
    { allowAnonymous: false, passwordFile: passwords },
    { username: "ann", password: new TextEncoder().encode("pw") },
  );
});

Deno.test("SUBACK and UNSUBACK of a persistent session wait for the stored subscription", async () => {
  await withPersistentClient(async (a, client) => {
    a.store.failCommits(1, DISK_FULL);
    await expectHeld(client, "suback", () =>
      client.send({
        type: "subscribe",
        packetId: 1,
        subscriptions: [sub("t/#", 1)],
      }));
    a.store.failCommits(1, DISK_FULL);
    await expectHeld(
      client,
      "unsuback",
      () => client.send({ type: "unsubscribe", packetId: 2, topicFilters: ["t/#"] }),
    );
  });
});

Deno.test("PUBREC and PUBCOMP to a persistent publisher wait for its stored packet id", async () => {
  await withPersistentClient(async (a, client) => {
    a.store.failCommits(1, DISK_FULL);
    await expectHeld(client, "pubrec", () => client.send(pub("t", "x", { qos: 2, packetId: 3 })));
    a.store.failCommits(1, DISK_FULL);
    await expectHeld(
      client,
      "pubcomp",
      () => client.send({ type: "pubrel", packetId: 3, reasonCode: 0 }),
    );
  });
});

Deno.test("PUBREL to a persistent subscriber waits until its PUBREC is stored", async () => {
  await withPersistentClient(async (a, s) => {
    await subscribe(s, sub("t", 2));
    const p = await a.connect({ clientId: "pub" });
    await p.send(pub("t", "x", { qos: 2, packetId: 1 }));
    await expectAck(p, "pubrec");
    await p.send({ type: "pubrel", packetId: 1, reasonCode: 0 });
    const [m] = await receive(s, 1);
    a.store.failCommits(1, DISK_FULL);
    await expectHeld(
      s,
      "pubrel",
      () => s.send({ type: "pubrec", packetId: m.packetId!, reasonCode: 0 }),
    );
  });
});

Deno.test("a subscriber's PUBACK promises nothing: the next queued message is not held", async () => {
  await withBrokers(async (brokers) => {
    const a = await brokers.start(undefined, { maxInflightMessages: 1 });
    const s = await connectPersistent(a);
    try {
      await subscribe(s, sub("t", 1));
      const p = await a.connect({ clientId: "pub" });
      for (const [i, text] of ["one", "two"].entries()) {
        await p.send(pub("t", text, { qos: 1, packetId: i + 1 }));
        await expectAck(p, "puback");
      }
      const [first] = await receive(s, 1);
      a.store.failCommits(1, DISK_FULL);
      await s.send({ type: "puback", packetId: first.packetId!, reasonCode: 0 });
      const [second] = await receive(s, 1, HELD_MS);
      assert.equal(new TextDecoder().decode(second.payload), "two");
    } finally {
      await s.close();
    }
  });
});

Deno.test("a clean session's SUBACK is not held while the store fails", async () => {
  await withBrokers(async (brokers) => {
    const a = await brokers.start();
    const client = await a.connect({ clientId: "passing" });
    a.store.failCommits(1, DISK_FULL);
    await client.send({ type: "subscribe", packetId: 1, subscriptions: [sub("t", 1)] });
    await client.expect("suback", HELD_MS);
  });
});
