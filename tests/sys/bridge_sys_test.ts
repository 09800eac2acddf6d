/**
 * Bridges in `$SYS`: Midge's own per-bridge figures under `$SYS/broker/bridge/NAME/...`, read
 * from the provider the bridges' owner sets on the broker, retained for a late subscriber, and
 * no longer retained once a bridge is gone. (Mosquitto 2.0.11 publishes only the notification
 * `$SYS/broker/connection/<client id>/state` for a bridge, which the bridge sends itself.)
 */

import assert from "node:assert/strict";
import { Broker } from "../../src/broker/broker.ts";
import { defaultBrokerOptions } from "../../src/broker/options.ts";
import { sysValues } from "../../src/broker/sys_tree.ts";
import { type BridgeFigures, takeStats } from "../../src/broker/stats.ts";
import { sub, subscribe } from "../integration/pubsub_helpers.ts";
import { CountingClients, drainPublishes, fakeBridge, startClockedBroker } from "./helpers.ts";

const B = "$SYS/broker/bridge/";

Deno.test("$SYS: each bridge's figures under $SYS/broker/bridge/NAME, the name one topic level", () => {
  const broker = new Broker(defaultBrokerOptions());
  broker.bridgeStats = () => [
    fakeBridge(),
    fakeBridge({ name: "a/b+c", up: false, address: "", connectedSince: 0, reconnects: 0 }),
  ];
  const values = new Map(sysValues(takeStats(broker)));
  const bridged = [...values].filter(([topic]) => topic.startsWith(B));
  assert.deepEqual(bridged, [
    [`${B}to-cloud/connected`, "1"],
    [`${B}to-cloud/address`, "broker.example:1883"],
    [`${B}to-cloud/messages/sent`, "12"],
    [`${B}to-cloud/messages/received`, "5"],
    [`${B}to-cloud/bytes/sent`, "340"],
    [`${B}to-cloud/bytes/received`, "67"],
    [`${B}to-cloud/messages/queued`, "3"],
    [`${B}to-cloud/messages/dropped`, "1"],
    [`${B}to-cloud/reconnects`, "2"],
    [`${B}a%2Fb%2Bc/connected`, "0"],
    [`${B}a%2Fb%2Bc/address`, ""],
    [`${B}a%2Fb%2Bc/messages/sent`, "12"],
    [`${B}a%2Fb%2Bc/messages/received`, "5"],
    [`${B}a%2Fb%2Bc/bytes/sent`, "340"],
    [`${B}a%2Fb%2Bc/bytes/received`, "67"],
    [`${B}a%2Fb%2Bc/messages/queued`, "3"],
    [`${B}a%2Fb%2Bc/messages/dropped`, "1"],
    [`${B}a%2Fb%2Bc/reconnects`, "0"],
  ]);
  assert.ok(![...values.keys()].some((t) => t.startsWith("$SYS/broker/connection/")));
});

Deno.test("$SYS: a broker without bridges publishes no bridge topic", () => {
  const topics = sysValues(takeStats(new Broker(defaultBrokerOptions()))).map(([t]) => t);
  assert.ok(!topics.some((t) => t.startsWith(B)));
});

Deno.test("$SYS: a bridge's values reach subscribers, change with it, and stop being retained when it is gone", async () => {
  const tb = startClockedBroker({ sysInterval: 3600 });
  const c = new CountingClients(tb.port);
  let bridges: BridgeFigures[] = [fakeBridge()];
  tb.broker.bridgeStats = () => bridges;
  try {
    tb.broker.sysTree.update();
    const { client: w } = await c.connect("watcher");
    await subscribe(w, sub(`${B}#`));
    const first = await drainPublishes(w);
    assert.equal(first.get(`${B}to-cloud/connected`)?.payload, "1");
    assert.equal(first.get(`${B}to-cloud/connected`)?.retain, true);
    assert.equal(first.size, 9);

    // The link goes down: only what changed is published again.
    bridges = [fakeBridge({ up: false, connectedSince: 0, queued: 4 })];
    tb.broker.sysTree.update();
    const changed = await drainPublishes(w);
    assert.deepEqual([...changed.keys()].sort(), [
      `${B}to-cloud/connected`,
      `${B}to-cloud/messages/queued`,
    ]);
    assert.equal(changed.get(`${B}to-cloud/connected`)?.payload, "0");

    // Removed by a reload: a late subscriber gets nothing of it.
    bridges = [];
    tb.broker.sysTree.update();
    const { client: late } = await c.connect("late");
    await subscribe(late, sub(`${B}#`));
    assert.equal((await drainPublishes(late)).size, 0);
  } finally {
    await c.closeAll();
    await tb.stop();
  }
});
