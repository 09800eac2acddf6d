/**
 * `mount_point` over real sockets: one broker with a plain listener and one mounted at `mp/`,
 * and the midge process refusing a mount point with a wildcard, in mosquitto.conf and TOML.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { runMidge } from "../fixtures/midge_process.ts";
import { connect, startBroker } from "./harness.ts";
import { payloadText, pub, publishAcked, sub, subscribe } from "./pubsub_helpers.ts";

Deno.test("mount_point: a mounted listener and a plain one on one broker, over TCP", async () => {
  const plainListener = { host: "127.0.0.1", port: 0 };
  const mountedListener = { host: "127.0.0.1", port: 0, mountPoint: "mp/" };
  const tb = startBroker({ listeners: [plainListener, mountedListener] });
  const [plainPort, mountedPort] = tb.broker.ports;
  const publisher = await connect(plainPort, { clientId: "publisher" });
  const plain = await connect(plainPort, { clientId: "plain" });
  const inside = await connect(mountedPort, { clientId: "inside", protocolVersion: 5 });
  try {
    await subscribe(plain.client, sub("#"));
    await subscribe(inside.client, sub("#", 1));
    await publishAcked(publisher.client, pub("other", "outside", { qos: 1, packetId: 1 }));
    await publishAcked(publisher.client, pub("mp/t", "from-plain", { qos: 1, packetId: 2 }));
    const got = await inside.client.expect("publish");
    assert.deepEqual([got.topic, payloadText(got)], ["t", "from-plain"]);
    await inside.client.send({ type: "puback", packetId: got.packetId!, reasonCode: 0 });
    const seen = [await plain.client.expect("publish"), await plain.client.expect("publish")];
    assert.deepEqual(seen.map((p) => p.topic), ["other", "mp/t"]);

    await inside.client.send(pub("u", "from-mounted"));
    const mounted = await plain.client.expect("publish");
    assert.deepEqual([mounted.topic, payloadText(mounted)], ["mp/u", "from-mounted"]);
    assert.equal((await inside.client.expect("publish")).topic, "u");
    await inside.client.expectNothing();
  } finally {
    for (const c of [publisher, plain, inside]) await c.client.close();
    await tb.stop();
  }
});

for (
  const [file, text, expected] of [
    ["m.conf", "listener 1883\nmount_point a/+/\n", "m.conf:2: mount_point: 'a/+/'"],
    [
      "m.toml",
      '[[listener]]\nport = 1883\nmount_point = "a/#"\n',
      "m.toml:3: listener[1].mount_point: 'a/#'",
    ],
  ]
) {
  Deno.test(`mount_point: a wildcard in it stops midge at start (exit 3) with file:line:key (${file})`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const path = join(dir, file);
      await Deno.writeTextFile(path, text);
      const out = await runMidge(["-c", path]);
      assert.equal(out.code, 3);
      assert.ok(
        out.stderr.includes(`${join(dir, expected)} has a wildcard (+ or #)`),
        out.stderr,
      );
      assert.match(out.stderr, /not starting/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
