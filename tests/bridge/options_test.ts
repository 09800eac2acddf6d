/**
 * Four bridge options against real peers: `bridge_max_packet_size` and
 * `bridge_attempt_unsubscribe` with Debian's Mosquitto 2.0.11 as the remote broker (its log
 * shows what it was sent), `bridge_bind_address` by the address Mosquitto sees the bridge
 * connect from, and `bridge_alpn` by the protocol a TLS listener of ours negotiates.
 */

import assert from "node:assert/strict";
import { makeCertificates } from "../fixtures/certs.ts";
import { freePort } from "../fixtures/net.ts";
import { sleep, until } from "../interop/helpers.ts";
import {
  awaitCount,
  bridgeFigures,
  bridgeTest,
  connectedTo,
  connection,
  httpListener,
  publishTo,
  scene,
  startMidge,
  startMosquitto,
  subscribeTo,
} from "./fixtures.ts";

/** How long a test waits, after the messages it expects, for any that must not come. */
const QUIET_MS = 500;

bridgeTest(
  "bridge_max_packet_size: 5.0 and 3.1.1 bridges send smaller messages out and keep larger " +
    "ones back, counted as dropped; what comes in is not limited, as in Mosquitto",
  async (own) => {
    const mosquitto = own(await startMosquitto([]));
    const http = freePort();
    const limited = (name: string, version: string, topics: string[]) =>
      connection(name, [mosquitto.port], [
        `bridge_protocol_version ${version}`,
        "bridge_max_packet_size 1000",
        ...topics,
      ]);
    const midge = own(
      await startMidge(
        [...httpListener(http), ""].join("\n") +
          limited("v5", "mqttv50", ["topic out/# out 1", "topic in/# in 1"]) +
          limited("v3", "mqttv311", ["topic v3/# out 1"]),
      ),
    );
    await midge.logged(connectedTo("v5", mosquitto.port));
    await midge.logged(connectedTo("v3", mosquitto.port));
    const there = own(await subscribeTo(mosquitto.port, "out/#"));
    const thereV3 = own(await subscribeTo(mosquitto.port, "v3/#"));
    const here = own(await subscribeTo(midge.port, "in/#"));
    // Packets of about 110 and 2010 bytes, well either side of the limit.
    const small = "s".repeat(100);
    const large = "L".repeat(2000);
    for (const [topic, payload] of [["small", small], ["large", large], ["after", small]]) {
      await publishTo(midge.port, `out/${topic}`, payload, { qos: 1 });
      await publishTo(midge.port, `v3/${topic}`, payload, { qos: 1 });
      await publishTo(mosquitto.port, `in/${topic}`, payload, { qos: 1 });
    }
    // A bridge keeps the order of each direction: once "after" is in, "large" had its turn.
    for (const subscriber of [there, thereV3]) await subscriber.receive(2);
    await here.receive(3);
    await sleep(QUIET_MS);
    assert.deepEqual(there.messages.map((m) => m.topic), ["out/small", "out/after"]);
    assert.deepEqual(thereV3.messages.map((m) => m.topic), ["v3/small", "v3/after"]);
    assert.deepEqual(here.messages.map((m) => m.topic), ["in/small", "in/large", "in/after"]);
    const figures = await bridgeFigures(http);
    assert.deepEqual(
      figures.map((b) => [b.name, b.dropped, b.messages.sent, b.messages.received]),
      [["v5", 1, 2, 3], ["v3", 1, 2, 0]],
    );
  },
);

bridgeTest(
  "bridge_attempt_unsubscribe: a topic turned from in to out is unsubscribed on the remote " +
    "broker (the default), and left subscribed with false",
  async (own) => {
    const mosquitto = own(await startMosquitto([]));
    // Sessions kept on the remote broker: a subscription outlives the bridge's connection.
    const bridges = (direction: string, keepLines: string[]) =>
      connection("unsub", [mosquitto.port], ["cleansession false", `topic x/# ${direction} 1`]) +
      connection("keep", [mosquitto.port], [
        "cleansession false",
        `topic x/# ${direction} 1`,
        ...keepLines,
      ]);
    const subscriber = own(await startMidge(bridges("in", [])));
    await awaitCount(mosquitto.log, /\n\d+: (unsub|keep) 1 x\/#/, 2);
    await subscriber.kill("SIGTERM");

    const midge = own(await startMidge(bridges("out", ["bridge_attempt_unsubscribe false"])));
    await midge.logged(connectedTo("unsub", mosquitto.port));
    await midge.logged(connectedTo("keep", mosquitto.port));
    await mosquitto.logged(/Received UNSUBSCRIBE from unsub/);
    await publishTo(mosquitto.port, "x/1", "still subscribed?", { qos: 1 });
    await mosquitto.logged(/Sending PUBLISH to keep \(.*'x\/1'/);
    await sleep(QUIET_MS);
    const log = await mosquitto.log();
    assert.doesNotMatch(log, /Received UNSUBSCRIBE from keep/);
    assert.doesNotMatch(log, /Sending PUBLISH to unsub \(.*'x\/1'/);
  },
);

bridgeTest(
  "bridge_bind_address: the bridge connects to the remote broker from that local address",
  async (own) => {
    const mosquitto = own(await startMosquitto([]));
    const midge = own(
      await startMidge(
        connection("bound", [mosquitto.port], [
          "bridge_bind_address 127.0.0.2",
          "topic bound/# out 1",
        ]) + connection("unbound", [mosquitto.port], ["topic unbound/# out 1"]),
      ),
    );
    await midge.logged(connectedTo("bound", mosquitto.port));
    await midge.logged(connectedTo("unbound", mosquitto.port));
    const log = await mosquitto.log();
    assert.match(log, /New bridge connected from 127\.0\.0\.2:\d+ as bound /);
    assert.match(log, /New bridge connected from 127\.0\.0\.1:\d+ as unbound /);
    const there = own(await subscribeTo(mosquitto.port, "bound/#"));
    await publishTo(midge.port, "bound/x", "from 127.0.0.2", { qos: 1 });
    assert.deepEqual((await there.receive(1)).map((m) => m.payload), ["from 127.0.0.2"]);
  },
);

/**
 * A TLS listener on 127.0.0.1 offering the ALPN protocols `offered`, noting what each
 * connection negotiated (null: none) and closing it after the handshake.
 */
function alpnRecorder(
  cert: string,
  key: string,
  offered: string[],
): { port: number; negotiated: (string | null)[]; stop(): Promise<void> } {
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert,
    key,
    alpnProtocols: offered,
  });
  const negotiated: (string | null)[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      try {
        negotiated.push((await conn.handshake()).alpnProtocol);
      } catch {
        // a handshake that failed offers nothing to note
      } finally {
        conn.close();
      }
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    negotiated,
    async stop() {
      listener.close();
      await accepting.catch(() => {});
    },
  };
}

Deno.test("bridge_alpn: a TLS bridge offers that ALPN protocol, and none without it", async () => {
  const certs = await makeCertificates();
  try {
    await scene(async (own) => {
      const [cert, key] = await Promise.all(
        [certs.server.cert, certs.server.key].map((f) => Deno.readTextFile(f)),
      );
      const withAlpn = own(alpnRecorder(cert, key, ["mqtt", "x-other"]));
      const without = own(alpnRecorder(cert, key, ["mqtt", "x-other"]));
      own(
        await startMidge(
          connection("alpn", [withAlpn.port], [`bridge_cafile ${certs.ca}`, "bridge_alpn mqtt"]) +
            connection("plain", [without.port], [`bridge_cafile ${certs.ca}`]),
        ),
      );
      await until(
        () => withAlpn.negotiated.length > 0 && without.negotiated.length > 0,
        "a TLS handshake with each listener",
        { timeoutMs: 10_000 },
      );
      assert.equal(withAlpn.negotiated[0], "mqtt");
      assert.equal(without.negotiated[0], null);
    });
  } finally {
    await Deno.remove(certs.dir, { recursive: true });
  }
});
