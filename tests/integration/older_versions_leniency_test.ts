/**
 * What the older protocol versions do not forbid, over real sockets, answered as Mosquitto
 * 2.0.11 answers it: a 3.1 client's SUBACK, UNSUBACK or PINGRESP is ignored (3.1 sets no rule
 * for them; 3.1.1 and 5.0 close the connection), and a remaining length in more bytes than it
 * needs is read in 3.1 and 3.1.1 (only 5.0 requires the fewest [MQTT-1.5.5-1]).
 *
 * @module
 */

import assert from "node:assert/strict";
import { hexBytes } from "../fixtures/packets.ts";
import { sync, withBroker } from "./pubsub_helpers.ts";

const SERVER_PACKETS = {
  SUBACK: "90 03 00 01 00",
  UNSUBACK: "b0 02 00 01",
  PINGRESP: "d0 00",
};

for (const [name, bytes] of Object.entries(SERVER_PACKETS)) {
  Deno.test(`3.1: a ${name} from the client is ignored, the connection stays open`, async () => {
    await withBroker({}, async ({ client }) => {
      const c = await client("old", { protocolVersion: 3 });
      await c.sendBytes(hexBytes(bytes));
      await sync(c);
      await c.expectNothing(50);
    });
  });
}

Deno.test("3.1.1: a SUBACK from the client still closes the connection", async () => {
  await withBroker({}, async ({ client }) => {
    const c = await client("v4", { protocolVersion: 4 });
    await c.sendBytes(hexBytes(SERVER_PACKETS.SUBACK));
    await c.expectClosed();
  });
});

for (const v of [3, 4] as const) {
  Deno.test(`${v === 3 ? "3.1" : "3.1.1"}: a remaining length in more bytes than needed is read`, async () => {
    await withBroker({}, async ({ client }) => {
      const c = await client(`long${v}`, { protocolVersion: v });
      // PINGREQ, length 0 in two bytes, then in four, the second split across writes.
      await c.sendBytes(hexBytes("c0 80 00 c0 80"));
      await c.sendBytes(hexBytes("80 80 00"));
      assert.equal((await c.next()).type, "pingresp");
      assert.equal((await c.next()).type, "pingresp");
      await sync(c);
    });
  });
}

Deno.test("5.0: a remaining length in more bytes than needed closes the connection [MQTT-1.5.5-1]", async () => {
  await withBroker({}, async ({ client }) => {
    const c = await client("long5", { protocolVersion: 5 });
    await c.sendBytes(hexBytes("c0 80 00"));
    await c.expectClosed();
    assert.equal(c.takeAll().some((p) => p.type === "pingresp"), false);
  });
});
