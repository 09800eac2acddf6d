/**
 * Midge's `$SYS` tree next to the real Mosquitto 2.0's: both run with `sys_interval 1` and the
 * same traffic, and every topic Mosquitto publishes must be published by Midge too, with a
 * payload of the same shape; only bridges' `$SYS/broker/connection/...` are left out (Midge has
 * none). Needs /usr/sbin/mosquitto (fails under `CI` without it).
 */

import assert from "node:assert/strict";
import { interopTest } from "../interop/helpers.ts";
import { MOSQUITTO_BROKER } from "../auth/mosquitto_tools.ts";
import { startMosquitto } from "../tools/brokers.ts";
import { connect, startBroker } from "../integration/harness.ts";
import { pub, publishAcked, sub, subscribe } from "../integration/pubsub_helpers.ts";
import { drainPublishes, type SysMessages } from "./helpers.ts";

/** What a payload looks like, without its value. */
function shape(payload: string): string {
  if (/^[0-9]+$/.test(payload)) return "integer";
  if (/^[0-9]+\.[0-9]{2}$/.test(payload)) return "number with two decimals";
  if (/^[0-9]+ seconds$/.test(payload)) return "N seconds";
  if (/^[a-z]+ version [0-9]+\.[0-9]+\.[0-9]+$/.test(payload)) return "NAME version X.Y.Z";
  return `other: ${JSON.stringify(payload)}`;
}

/**
 * Run the same traffic against the broker on `port` and collect what a `$SYS/#` subscriber
 * gets over 2.5 s (Mosquitto 2.0.11 with `sys_interval 1` updates every 2 s).
 */
async function sysTree(port: number): Promise<SysMessages> {
  const { client: watcher } = await connect(port, { clientId: "watcher" });
  const { client: s } = await connect(port, { clientId: "s", protocolVersion: 5 });
  const { client: p } = await connect(port, { clientId: "p", protocolVersion: 3 });
  try {
    await subscribe(watcher, sub("$SYS/#"));
    await subscribe(s, [sub("sys/test/#", 1), sub("$share/g/sys/x", 0)]);
    await publishAcked(p, pub("sys/test/r", "kept", { qos: 1, packetId: 1, retain: true }));
    const seen = await drainPublishes(watcher, 2500, 2500);
    await publishAcked(p, pub("sys/test/r", "", { retain: true })); // leave no retained message
    return seen;
  } finally {
    await watcher.close();
    await s.close();
    await p.close();
  }
}

interopTest({
  name:
    "every $SYS topic Mosquitto 2.0 publishes, Midge publishes with a payload of the same shape",
  needs: [MOSQUITTO_BROKER],
  async fn() {
    const mosquitto = await startMosquitto({ mosquittoLines: ["sys_interval 1"] });
    let theirs: SysMessages;
    try {
      theirs = await sysTree(mosquitto.port);
    } finally {
      await mosquitto.stop();
    }
    const midge = startBroker({ sysInterval: 1 });
    let ours: SysMessages;
    try {
      ours = await sysTree(midge.port);
    } finally {
      await midge.stop();
    }
    assert.ok(theirs.size >= 50, `Mosquitto published ${theirs.size} $SYS topics`);
    const problems: string[] = [];
    for (const [topic, { payload }] of theirs) {
      if (topic.startsWith("$SYS/broker/connection/")) continue;
      const mine = ours.get(topic);
      if (mine === undefined) problems.push(`${topic}: not published by Midge`);
      else if (shape(mine.payload) !== shape(payload)) {
        problems.push(`${topic}: Mosquitto ${shape(payload)}, Midge ${shape(mine.payload)}`);
      }
    }
    assert.deepEqual(problems, []);
  },
});
