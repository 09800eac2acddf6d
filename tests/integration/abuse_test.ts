/**
 * What a hostile or broken client can throw at the broker: wrong passwords in a loop, a
 * connect flood from one address, oversize packets, huge client ids, use_username_as_clientid.
 * The broker stays up and keeps serving a well-behaved client through all of it.
 */

import assert from "node:assert/strict";
import type { PasswordVerifier } from "../../src/broker/options.ts";
import { ReasonCode } from "../../src/codec/mod.ts";
import { connect, RawClient, startBroker } from "./harness.ts";
import { payloadText, pub, publishAcked, receive, sub, subscribe } from "./pubsub_helpers.ts";

const PASSWORDS: PasswordVerifier = {
  verify: (username, password) =>
    Promise.resolve(
      username !== "ann"
        ? "unknown user"
        : new TextDecoder().decode(password) === "right"
        ? "ok"
        : "bad password",
    ),
};

/** A subscriber that must keep getting messages while the abuse goes on. */
async function bystander(port: number) {
  const watcher = await connect(port, { protocolVersion: 5, clientId: "bystander" });
  await subscribe(watcher.client, sub("calm/#", 1));
  const talker = await connect(port, { protocolVersion: 5, clientId: "talker" });
  return {
    async stillServed(text: string): Promise<void> {
      await publishAcked(talker.client, pub("calm/t", text, { qos: 1, packetId: 1 }));
      const [got] = await receive(watcher.client, 1, 3000);
      assert.equal(payloadText(got), text);
    },
    async close(): Promise<void> {
      await watcher.client.close();
      await talker.client.close();
    },
  };
}

Deno.test("200 wrong passwords in a row: each refused and logged, the broker serves the others", async () => {
  const tb = startBroker({ allowAnonymous: true, passwordFile: PASSWORDS });
  try {
    const others = await bystander(tb.port);
    for (let i = 0; i < 200; i++) {
      const { client, connack } = await connect(tb.port, {
        protocolVersion: 5,
        clientId: `guess-${i}`,
        username: "ann",
        password: new TextEncoder().encode(`wrong-${i}`),
      });
      assert.equal(connack.reasonCode, ReasonCode.NotAuthorized);
      await client.close();
    }
    await others.stillServed("after the guesses");
    assert.equal(
      tb.logs.filter((l) => l.endsWith("refused: not authorised (bad password).")).length,
      200,
    );
    await others.close();
  } finally {
    await tb.stop();
  }
});

/** Whether the broker closes a fresh socket within `ms` (true) or keeps it open (false). */
async function closedAtOnce(conn: { read(b: Uint8Array): Promise<number | null> }, ms: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const open = new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), ms));
  const closed = conn.read(new Uint8Array(1)).then(() => true, () => true);
  const result = await Promise.race([closed, open]);
  clearTimeout(timer);
  return { result, closed };
}

Deno.test("max_connection_rate 50: of 1,000 connection attempts from one address in a burst, at most two one-second windows' worth get in; the refusal is logged once a second; another address gets in", async () => {
  const tb = startBroker({ listeners: [{ host: "127.0.0.1", port: 0, maxConnectionRate: 50 }] });
  const sockets: Deno.TcpConn[] = [];
  try {
    for (let i = 0; i < 1000; i++) {
      sockets.push(await Deno.connect({ hostname: "127.0.0.1", port: tb.port }));
    }
    const outcomes = await Promise.all(sockets.map((s) => closedAtOnce(s, 500)));
    const admitted = outcomes.filter((o) => !o.result).length;
    assert.ok(admitted >= 50 && admitted <= 100, `${admitted} let in`);
    assert.equal(tb.logs.filter((l) => l.includes("(max_connection_rate)")).length <= 2, true);
    assert.ok(
      tb.logs.some((l) =>
        l ===
          "Client connection from 127.0.0.1 denied: more than 50 new connections in a second (max_connection_rate)."
      ),
    );
    for (const s of sockets) s.close();
    await Promise.all(outcomes.map((o) => o.closed));
    sockets.length = 0;
    // Another address is not held back by the flood.
    const { default: net } = await import("node:net");
    const other = net.connect({ host: "127.0.0.1", port: tb.port, localAddress: "127.0.0.2" });
    await new Promise<void>((resolve, reject) => {
      other.once("connect", () => resolve());
      other.once("error", reject);
    });
    const stays = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(true), 300);
      other.once("close", () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    assert.ok(stays, "127.0.0.2 is let in");
    await new Promise<void>((resolve) => {
      other.once("close", () => resolve());
      other.destroy();
    });
  } finally {
    for (const s of sockets) s.close();
    await tb.stop();
  }
});

Deno.test("an oversize packet closes only its sender (0x95); a huge client id is taken or refused, never a crash", async () => {
  const tb = startBroker({ maxPacketSize: 1024 });
  try {
    const others = await bystander(tb.port);
    const big = await connect(tb.port, { protocolVersion: 5, clientId: "big" });
    await big.client.send(pub("calm/t", new Uint8Array(4096)));
    const disconnect = await big.client.expect("disconnect");
    assert.equal(disconnect.reasonCode, ReasonCode.PacketTooLarge);
    await big.client.expectClosed();
    await big.client.close();
    // A 60,000-character client id: over max_packet_size here, so closed; the broker lives on.
    const huge = await RawClient.open(tb.port, 4);
    await huge.send({
      type: "connect",
      protocolVersion: 4,
      clientId: "x".repeat(60_000),
      clean: true,
      keepAlive: 60,
    });
    await huge.expectClosed();
    await huge.close();
    await others.stillServed("after the big ones");
    await others.close();
  } finally {
    await tb.stop();
  }
  // Without a packet size limit a 65,535-byte client id is a valid one.
  const tb2 = startBroker();
  try {
    const { client, connack } = await connect(tb2.port, { clientId: "y".repeat(65_535) });
    assert.equal(connack.reasonCode, 0);
    await client.close();
  } finally {
    await tb2.stop();
  }
});

Deno.test("use_username_as_clientid: the username becomes the client id; no username, refused", async () => {
  const tb = startBroker({
    listeners: [{ host: "127.0.0.1", port: 0, useUsernameAsClientId: true }],
  });
  try {
    const named = await connect(tb.port, {
      protocolVersion: 5,
      clientId: "whatever",
      username: "ann",
    });
    assert.equal(named.connack.reasonCode, 0);
    assert.ok(tb.broker.sessions.has("ann") && !tb.broker.sessions.has("whatever"));
    await named.client.close();
    const anonymous = await connect(tb.port, { protocolVersion: 5, clientId: "c" });
    assert.equal(anonymous.connack.reasonCode, ReasonCode.NotAuthorized);
    await anonymous.client.close();
  } finally {
    await tb.stop();
  }
});
