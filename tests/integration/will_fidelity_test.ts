/**
 * Wills where Mosquitto 2.0 decides what the spec leaves open: the will of a connection taken
 * over is dropped when both its session and the new connection are persistent, and a will
 * payload over `message_size_limit` refuses the CONNECT (0x95; 3.x return code 5).
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ProtocolVersion } from "../../src/codec/mod.ts";
import { text } from "../fixtures/packets.ts";
import { lastFrame, subscribe, withBroker } from "./session_helpers.ts";

/** One takeover: the old connection (with a will) and the new one. */
interface Takeover {
  name: string;
  version: ProtocolVersion;
  /** Clean start (clean session) of the old connection. */
  oldClean: boolean;
  /** 5.0 session expiry of the old connection. */
  oldExpiry?: number;
  /** Clean start of the new connection. */
  newClean: boolean;
  /** Whether the old connection's will is published (as Mosquitto 2.0.11 does). */
  published: boolean;
}

const TAKEOVERS: Takeover[] = [
  {
    name: "5.0 persistent by persistent",
    version: 5,
    oldClean: false,
    oldExpiry: 300,
    newClean: false,
    published: false,
  },
  {
    name: "5.0 clean start with expiry by persistent",
    version: 5,
    oldClean: true,
    oldExpiry: 300,
    newClean: false,
    published: false,
  },
  {
    name: "5.0 expiry 0 by persistent",
    version: 5,
    oldClean: false,
    oldExpiry: 0,
    newClean: false,
    published: true,
  },
  {
    name: "5.0 persistent by clean start",
    version: 5,
    oldClean: false,
    oldExpiry: 300,
    newClean: true,
    published: true,
  },
  {
    name: "3.1.1 persistent by persistent",
    version: 4,
    oldClean: false,
    newClean: false,
    published: false,
  },
  {
    name: "3.1.1 clean by persistent",
    version: 4,
    oldClean: true,
    newClean: false,
    published: true,
  },
  {
    name: "3.1.1 persistent by clean",
    version: 4,
    oldClean: false,
    newClean: true,
    published: true,
  },
];

for (const t of TAKEOVERS) {
  Deno.test(`takeover, ${t.name}: the old will is ${t.published ? "published" : "dropped"}`, async () => {
    await withBroker({}, async ({ connect }) => {
      const { client: watcher } = await connect({ clientId: "watcher" });
      await subscribe(watcher, "will/#", 0);
      const expiry = t.oldExpiry === undefined ? undefined : { sessionExpiryInterval: t.oldExpiry };
      const old = await connect({
        clientId: "w",
        protocolVersion: t.version,
        clean: t.oldClean,
        properties: expiry,
        will: { topic: "will/w", payload: text("gone"), qos: 0, retain: false },
      });
      assert.equal(old.connack.reasonCode, 0);
      const properties = t.version === 5 ? { sessionExpiryInterval: 300 } : undefined;
      const taker = await connect({
        clientId: "w",
        protocolVersion: t.version,
        clean: t.newClean,
        properties,
      });
      assert.equal(taker.connack.reasonCode, 0);
      await old.client.expectClosed();
      if (t.published) {
        assert.equal((await watcher.expect("publish")).topic, "will/w");
      } else {
        await watcher.expectNothing(300);
      }
    });
  });
}

Deno.test("a will payload over message_size_limit refuses CONNECT: 5.0 CONNACK 0x95, 3.1.1 return code 5", async () => {
  await withBroker({ messageSizeLimit: 10 }, async ({ connect }) => {
    const expected = { 4: "20 02 00 05", 5: "20 03 00 95 00" } as const;
    for (const protocolVersion of [4, 5] as const) {
      const will = {
        topic: "will/w",
        payload: text("x".repeat(11)),
        qos: 0 as const,
        retain: false,
      };
      const refused = await connect({ clientId: `big${protocolVersion}`, protocolVersion, will });
      assert.equal(lastFrame(refused.client), expected[protocolVersion]);
      await refused.client.expectClosed();
      const fits = { ...will, payload: text("x".repeat(10)) };
      const accepted = await connect({
        clientId: `fits${protocolVersion}`,
        protocolVersion,
        will: fits,
      });
      assert.equal(accepted.connack.reasonCode, 0);
    }
  });
});
