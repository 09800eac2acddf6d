/**
 * A Midge bridge to Debian's Mosquitto 2.0.11 when things go wrong: the remote broker killed
 * (SIGKILL) mid-stream and started again, several times; the remote down from the start (store
 * and forward, and its bound); Midge itself killed and restarted with persistence, both ways.
 * Every message carries its sequence number: QoS 1 must arrive at least once with the first
 * arrivals in order, QoS 2 exactly once in order.
 */

import assert from "node:assert/strict";
import type { QoS } from "../../src/codec/mod.ts";
import { MOSQUITTO_BROKER } from "../auth/mosquitto_tools.ts";
import { freePort } from "../fixtures/net.ts";
import { interopTest, sleep, until } from "../interop/helpers.ts";
import { awaitCount, bridgeFigures, connectTo, httpListener, occurrences } from "./fixtures.ts";
import {
  assertSequence,
  awaitAll,
  type BridgeScene,
  type Collector,
  firstArrivals,
  publishNumbered,
  range,
  withBridgeScene,
} from "./remote_fixtures.ts";

/** A test over `withBridgeScene(options, fn)`, needing Mosquitto. */
function sceneTest(
  name: string,
  options: { cut?: boolean },
  fn: (scene: BridgeScene) => Promise<void>,
): void {
  interopTest({ name, needs: [MOSQUITTO_BROKER], fn: () => withBridgeScene(options, fn) });
}

/**
 * Stream QoS 1 and 2 messages through Midge's bridge to a Mosquitto subscriber while the link
 * is broken three times (cut by the scene's relay if it has one, else Mosquitto restarted:
 * stopped with SIGTERM, so it saves its state, and started again), each time while it is up
 * with messages in flight; then check every message arrived, QoS 1 at least once with first
 * arrivals in order, QoS 2 exactly once in order, and that the bridge linked again after each
 * break.
 */
async function streamThroughBreaks(scene: BridgeScene): Promise<void> {
  const { remote, cutter, port, describe } = scene;
  const collector = scene.collect(remote.port, [["q1/#", 1], ["q2/#", 2]]);
  const m = await scene.startMidge(scene.conf(["topic q1/# out 1", "topic q2/# out 2"]));
  await until(() => collector.subscribed, "the subscriber on the remote broker");
  const links = async () => ((await m.log()).match(/Bridge edge connected to/g) ?? []).length;
  const publisher = await connectTo(port, "source");
  let breaking = true;
  let count = 0;
  const sent: Promise<void>[] = [];
  const publishing = (async () => {
    for (; breaking && count < 100_000; count++) {
      const payload = new TextEncoder().encode(String(count));
      sent.push(publisher.publish("q1/s", payload, { qos: 1 }));
      sent.push(publisher.publish("q2/s", payload, { qos: 2 }));
      if (count % 2 === 1) await sleep(10);
    }
    await Promise.all(sent);
  })();
  for (let link = 1; link <= 3; link++) {
    for (let i = 0; i < 300 && (await links()) < link; i++) await sleep(50);
    assert.equal(await links(), link, await describe());
    await sleep(400);
    if (cutter !== undefined) cutter.cut();
    else await remote.restart();
  }
  breaking = false;
  await publishing;
  await publisher.disconnect();
  await awaitAll(collector, ["q1/s", "q2/s"], count, describe);
  await sleep(500); // late duplicates, if any
  assert.ok(count > 100, `only ${count} messages were sent`);
  const q1 = collector.of("q1/s");
  await assertSequence(firstArrivals(q1), count, q1, describe);
  await assertSequence(collector.of("q2/s"), count, collector.of("q2/s"), describe);
  for (let i = 0; i < 300 && (await links()) < 4; i++) await sleep(50);
  assert.equal(await links(), 4, await describe());
}

sceneTest(
  "bridge: the link to Mosquitto cut mid-stream three times, QoS 1 at least once in " +
    "order, QoS 2 exactly once",
  { cut: true },
  streamThroughBreaks,
);

sceneTest(
  "bridge: Mosquitto stopped and restarted mid-stream three times, QoS 1 at least once " +
    "in order, QoS 2 exactly once",
  {},
  streamThroughBreaks,
);

/**
 * A subscriber `end` with a persistent session on the scene's remote broker, which is then
 * stopped: the subscriber gets what the bridge sends once the remote is started again.
 */
async function subscribedThenDown(
  scene: BridgeScene,
  filters: [string, QoS][],
): Promise<Collector> {
  const collector = scene.collect(scene.remote.port, filters);
  await until(() => collector.subscribed, "the subscriber on the remote broker");
  await scene.remote.stop("SIGTERM");
  return collector;
}

sceneTest(
  "bridge: store and forward, 20000 QoS 1 messages published while the remote is down " +
    "arrive in order once it is up",
  {},
  async (scene) => {
    const collector = await subscribedThenDown(scene, [["q1/#", 1]]);
    const count = 20_000;
    await scene.startMidge(scene.conf(["topic q1/# out 1"]));
    await publishNumbered(scene.port, [["q1/s", 1]], count);
    const started = Date.now();
    await scene.remote.start();
    await awaitAll(collector, ["q1/s"], count, scene.describe);
    console.log(`${count} queued QoS 1 messages delivered in ${Date.now() - started} ms`);
    assert.deepEqual(firstArrivals(collector.of("q1/s")), range(count));
  },
);

sceneTest(
  "bridge: bridge_max_queued_messages 100 keeps the first 100 while the remote is down " +
    "and counts the rest as dropped",
  {},
  async (scene) => {
    const collector = await subscribedThenDown(scene, [["q1/#", 1]]);
    const http = freePort();
    const m = await scene.startMidge(
      scene.conf(["topic q1/# out 1", "bridge_max_queued_messages 100"], httpListener(http)),
    );
    await publishNumbered(scene.port, [["q1/s", 1]], 1000);
    const [before] = await bridgeFigures(http);
    assert.equal(before.queued, 100);
    assert.equal(before.dropped, 900);
    await scene.remote.start();
    await awaitAll(collector, ["q1/s"], 100, scene.describe);
    await sleep(1000); // nothing more may come
    assert.deepEqual(firstArrivals(collector.of("q1/s")), range(100));
    const [after] = await bridgeFigures(http);
    assert.equal(after.queued, 0);
    assert.equal(after.dropped, 900);
    assert.match(await m.log(), /Outgoing messages are being dropped for client local\.edge\./);
  },
);

/** `conf` of a bridge with `topics`, and persistence in the scene's folder (made here). */
async function persistentConf(scene: BridgeScene, topics: string[]): Promise<string> {
  await Deno.mkdir(`${scene.dir}/midge`);
  return scene.conf(topics, ["persistence true", `persistence_location ${scene.dir}/midge/`]);
}

sceneTest(
  "bridge: Midge killed with SIGKILL and restarted with persistence delivers what it had " +
    "queued for the remote, in order, QoS 2 exactly once",
  {},
  async (scene) => {
    const collector = await subscribedThenDown(scene, [["q1/#", 1], ["q2/#", 2]]);
    const count = 500;
    const conf = await persistentConf(scene, ["topic q1/# out 1", "topic q2/# out 2"]);
    await scene.startMidge(conf);
    await publishNumbered(scene.port, [["q1/s", 1], ["q2/s", 2]], count);
    await scene.killMidge();
    await scene.startMidge(conf);
    await scene.remote.start();
    await awaitAll(collector, ["q1/s", "q2/s"], count, scene.describe);
    await sleep(500); // late duplicates, if any
    assert.deepEqual(firstArrivals(collector.of("q1/s")), range(count));
    assert.deepEqual(collector.of("q2/s"), range(count));
  },
);

sceneTest(
  "bridge: what the remote keeps for the bridge while Midge is down (cleansession false) " +
    "reaches Midge after a SIGKILL and restart, in order, QoS 2 exactly once",
  {},
  async (scene) => {
    const { remote } = scene;
    const count = 500;
    const conf = await persistentConf(scene, ["topic q1/# in 1", "topic q2/# in 2"]);
    await scene.startMidge(conf);
    const collector = scene.collect(scene.port, [["q1/#", 1], ["q2/#", 2]]);
    await until(() => collector.subscribed, "the subscriber on Midge");
    for (let i = 0; i < 200 && !(await remote.log()).includes("edge 2 q2/#"); i++) {
      await sleep(50);
    }
    assert.match(await remote.log(), /edge 2 q2\/#/);
    await sleep(500); // the subscriber's session is in Midge's store
    await scene.killMidge();
    // Mosquitto takes 20 unreleased QoS 2 messages from a client at a time.
    await publishNumbered(remote.port, [["q1/s", 1], ["q2/s", 2]], count, 10);
    await scene.startMidge(conf);
    await awaitAll(collector, ["q1/s", "q2/s"], count, scene.describe);
    await sleep(500); // late duplicates, if any
    assert.deepEqual(firstArrivals(collector.of("q1/s")), range(count));
    assert.deepEqual(collector.of("q2/s"), range(count));
  },
);

const CONNECTING = /Connecting bridge edge/;
const CONNECTED = /Bridge edge connected to/;

sceneTest(
  "bridge: start_type once does not connect again after the link drops",
  { cut: true },
  async (scene) => {
    const m = await scene.startMidge(scene.conf(["start_type once", "topic q1/# out 1"]));
    await awaitCount(m.log, CONNECTED);
    scene.cutter?.cut();
    await awaitCount(m.log, /Bridge edge: start_type once, not connecting again\./);
    await sleep(2500); // restart_timeout is 1 s
    assert.equal(occurrences(await m.log(), CONNECTING), 1);
  },
);

sceneTest(
  "bridge: start_type lazy connects when threshold messages wait and disconnects after " +
    "idle_timeout",
  {},
  async (scene) => {
    const { port } = scene;
    const collector = scene.collect(scene.remote.port, [["q1/#", 1]]);
    await until(() => collector.subscribed, "the subscriber on the remote broker");
    const m = await scene.startMidge(scene.conf([
      "start_type lazy",
      "threshold 5",
      "idle_timeout 2",
      "topic q1/# out 1",
    ]));
    await publishNumbered(port, [["q1/s", 1]], 4);
    await sleep(2000); // the bridge looks at its queue every second
    assert.equal(occurrences(await m.log(), CONNECTING), 0, await m.log());
    const fifth = await connectTo(port, "fifth");
    await fifth.publish("q1/s", new TextEncoder().encode("4"), { qos: 1 });
    await fifth.disconnect();
    await awaitCount(m.log, CONNECTED);
    await awaitAll(collector, ["q1/s"], 5, () => m.log());
    assert.deepEqual(collector.of("q1/s"), range(5));
    const linked = Date.now();
    await awaitCount(
      m.log,
      /Bridge edge: link to \S+ ended: no message for idle_timeout \(2 s\)\./,
    );
    const idle = Date.now() - linked;
    assert.ok(idle >= 1500 && idle < 5000, `closed after ${idle} ms idle`);
  },
);

sceneTest(
  "bridge: start_type automatic with a constant restart_timeout tries again at that pace",
  {},
  async (scene) => {
    const m = await scene.startMidge(
      scene.conf(["topic q1/# out 1"]).replace("restart_timeout 1", "restart_timeout 2"),
    );
    await awaitCount(m.log, CONNECTED);
    await scene.remote.stop("SIGTERM");
    await awaitCount(m.log, /Bridge edge: link to \S+ ended/);
    const down = Date.now();
    await sleep(7000);
    // Attempts at 2, 4 and 6 s (each refused at once); backoff would have made fewer.
    const attempts = occurrences(await m.log(), CONNECTING) - 1;
    assert.ok(attempts >= 3 && attempts <= 4, `${attempts} attempts in 7 s`);
    await scene.remote.start();
    await awaitCount(m.log, CONNECTED, 2, 5000);
    assert.ok(Date.now() - down < 12_000);
  },
);
