/**
 * A real bridge seen over HTTP: `midge -c FILE` bridged to a second broker (an in-process
 * Midge), its `/metrics` and `/api/v1/bridges` showing the link up with a message sent over it,
 * then down once the remote broker stops.
 */

import assert from "node:assert/strict";
import { freePort } from "../fixtures/net.ts";
import { ended, readOr, spawnMidge } from "../fixtures/midge_process.ts";
import { connect, startBroker, waitFor } from "../integration/harness.ts";
import { expectAck, pub, sub, subscribe } from "../integration/pubsub_helpers.ts";
import { parseExposition } from "./prometheus_parser.ts";

Deno.test("a running bridge shows up in /metrics and /api/v1/bridges, then down when its remote stops", async () => {
  const remote = startBroker();
  const dir = await Deno.makeTempDir();
  const mqttPort = freePort();
  const httpPort = freePort();
  const logFile = `${dir}/midge.log`;
  const conf = `${dir}/midge.conf`;
  await Deno.writeTextFile(
    conf,
    `allow_anonymous true\nlog_dest file ${logFile}\nlog_type all\n` +
      `listener ${mqttPort} 127.0.0.1\nlistener ${httpPort} 127.0.0.1\nprotocol http\n` +
      `http_open true\n` +
      `connection edge\naddress 127.0.0.1:${remote.port}\ntry_private false\n` +
      `topic sensors/# out 1\n`,
  );
  const child = spawnMidge(conf);
  const base = `http://127.0.0.1:${httpPort}`;
  const metric = async (name: string) => {
    const response = await fetch(`${base}/metrics`);
    const family = parseExposition(await response.text()).get(name);
    return family?.samples.find((s) => s.labels.bridge === "edge")?.value;
  };
  const bridge = async () => {
    const response = await fetch(`${base}/api/v1/bridges`);
    return (await response.json()).bridges[0];
  };
  try {
    await waitFor(async () => (await readOr(logFile)).includes("running"), "midge", 20_000);
    await waitFor(async () => (await metric("midge_bridge_up")) === 1, "the link up", 10_000);
    const { client: watcher } = await connect(remote.port, { clientId: "remote-watcher" });
    const { client: publisher } = await connect(mqttPort, { clientId: "publisher" });
    try {
      await subscribe(watcher, sub("sensors/#", 1));
      await publisher.send(pub("sensors/t", "21.5", { qos: 1, packetId: 1 }));
      await expectAck(publisher, "puback");
      const crossed = await watcher.expect("publish", 5000);
      assert.equal(crossed.topic, "sensors/t");
      await waitFor(
        async () => (await metric("midge_bridge_messages_sent_total")) === 1,
        "the message counted",
        5000,
      );
    } finally {
      await publisher.close();
      await watcher.close();
    }
    const up = await bridge();
    assert.equal(up.name, "edge");
    assert.equal(up.up, true);
    assert.equal(up.address, `127.0.0.1:${remote.port}`);
    assert.ok(Date.parse(up.connectedSince) <= Date.now());
    assert.deepEqual(up.messages, { sent: 1, received: 0 });
    assert.deepEqual(up.bytes, { sent: 4, received: 0 });

    await remote.stop();
    await waitFor(async () => (await metric("midge_bridge_up")) === 0, "the link down", 10_000);
    const down = await bridge();
    assert.equal(down.up, false);
    assert.equal(down.connectedSince, null);
    assert.equal(down.address, `127.0.0.1:${remote.port}`);
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0);
  } finally {
    await ended(child);
    await remote.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
