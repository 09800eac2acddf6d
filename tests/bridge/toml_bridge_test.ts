/**
 * A bridge written as TOML (`[[bridge]]`, what `midge convert` makes of a `connection` block)
 * runs as the mosquitto.conf one does: messages cross both ways with their prefixes.
 */

import assert from "node:assert/strict";
import { interopTest } from "../interop/helpers.ts";
import { ended, spawnMidge } from "../fixtures/midge_process.ts";
import { freePort } from "../fixtures/net.ts";
import { BRIDGE_PEERS, publishTo, startMosquitto, subscribeTo } from "./fixtures.ts";

interopTest({
  name: "a TOML [[bridge]] table bridges to Mosquitto as a connection block does",
  needs: BRIDGE_PEERS,
  async fn() {
    const mosquitto = await startMosquitto([]);
    const dir = await Deno.makeTempDir();
    const port = freePort();
    const file = `${dir}/midge.toml`;
    await Deno.writeTextFile(
      file,
      [
        "[security]",
        "allow_anonymous = true",
        "[[listener]]",
        `port = ${port}`,
        'bind_address = "127.0.0.1"',
        "[[bridge]]",
        'connection = "cloud"',
        `address = ["127.0.0.1:${mosquitto.port}"]`,
        'topic = ["sensors/# out 1 home/ site1/", "cmd/# in 1 home/ site1/"]',
        'restart_timeout = "1"',
        "",
      ].join("\n"),
    );
    const midge = spawnMidge(file);
    try {
      await mosquitto.logged(/New bridge connected from \S+ as \S+\.cloud \(p2/);
      const there = await subscribeTo(mosquitto.port, "site1/#");
      const here = await subscribeTo(port, "home/#");
      try {
        await publishTo(port, "home/sensors/t", "21", { qos: 1 });
        await publishTo(mosquitto.port, "site1/cmd/go", "now", { qos: 1 });
        await there.receive(2);
        await here.receive(2);
        assert.deepEqual(
          [...there.messages.map((m) => `${m.topic} ${m.payload}`)].sort(),
          ["site1/cmd/go now", "site1/sensors/t 21"],
        );
        assert.deepEqual(
          [...here.messages.map((m) => `${m.topic} ${m.payload}`)].sort(),
          ["home/cmd/go now", "home/sensors/t 21"],
        );
      } finally {
        await there.stop();
        await here.stop();
      }
    } finally {
      await ended(midge);
      await mosquitto.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
