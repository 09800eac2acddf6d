/**
 * SIGHUP with bridges (Midge bridged to Debian's Mosquitto 2.0.11): a bridge added is started,
 * one removed is stopped, one whose settings changed is restarted with its queue kept, and an
 * unchanged one keeps its connection; each change is logged.
 */

import assert from "node:assert/strict";
import type { MqttClient } from "../../src/client/mqtt_client.ts";
import { MOSQUITTO_BROKER } from "../auth/mosquitto_tools.ts";
import { type LoggedMidge, startLoggedMidge } from "../fixtures/midge_process.ts";
import { accepts, freePort } from "../fixtures/net.ts";
import { interopTest, sleep, Subprocess, until } from "../interop/helpers.ts";
import { awaitCount, connectTo, occurrences } from "./fixtures.ts";

/** A `connection` block for bridge `name` to `port`, sharing `name/#` out at QoS 1. */
function block(name: string, port: number): string[] {
  return [
    `connection ${name}`,
    `address 127.0.0.1:${port}`,
    `remote_clientid ${name}`,
    "cleansession false",
    "restart_timeout 1",
    `topic ${name}/# out 1`,
  ];
}

interopTest({
  name: "bridge reload: SIGHUP adds, removes and restarts changed bridges (queue kept) and " +
    "leaves unchanged ones connected",
  needs: [MOSQUITTO_BROKER],
  async fn() {
    const dir = await Deno.makeTempDir();
    const remotePort = freePort();
    const remoteLog = `${dir}/mosquitto.log`;
    await Deno.writeTextFile(
      `${dir}/mosquitto.conf`,
      [
        "user root",
        `listener ${remotePort} 127.0.0.1`,
        "allow_anonymous true",
        `log_dest file ${remoteLog}`,
        "log_type all",
        "",
      ].join("\n"),
    );
    const remote = new Subprocess("/usr/sbin/mosquitto", ["-c", `${dir}/mosquitto.conf`]);
    const readRemote = () => Deno.readTextFile(remoteLog).catch(() => "");
    const port = freePort();
    const nowhere = freePort(); // nothing listens there: `change` cannot connect at first
    const conf = (blocks: string[][]) =>
      [`listener ${port} 127.0.0.1`, "allow_anonymous true", ...blocks.flat(), ""].join("\n");
    let midge: LoggedMidge | undefined;
    let subscriber: MqttClient | undefined;
    try {
      for (let i = 0; i < 250 && !(await accepts(remotePort)); i++) await sleep(20);
      assert.ok(await accepts(remotePort), remote.describe());
      subscriber = await connectTo(remotePort, "end");
      const received: string[] = [];
      subscriber.onMessage = (m) =>
        received.push(`${m.topic} ${new TextDecoder().decode(m.payload)}`);
      await subscriber.subscribe([{
        topicFilter: "#",
        qos: 1,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0,
      }]);
      midge = await startLoggedMidge(
        conf([block("keep", remotePort), block("change", nowhere), block("gone", remotePort)]),
      );
      const m = midge;
      await awaitCount(readRemote, /New bridge connected from \S+ as keep /);
      await awaitCount(readRemote, /New bridge connected from \S+ as gone /);
      await awaitCount(() => m.log(), /Bridge change: \S+ failed/);
      // Queued for `change` while it cannot connect.
      const publisher = await connectTo(port, "source");
      for (let i = 0; i < 20; i++) {
        await publisher.publish("change/x", new TextEncoder().encode(String(i)), { qos: 1 });
      }
      await publisher.disconnect();

      // The config file is rewritten and midge told to read it again.
      const file = (await m.log()).match(/Config loaded from (\S+)\./)![1];
      await Deno.writeTextFile(
        file,
        (await Deno.readTextFile(file)).replace(
          /listener[\s\S]*$/,
          conf([block("keep", remotePort), block("change", remotePort), block("add", remotePort)]),
        ),
      );
      m.child.kill("SIGHUP");
      await awaitCount(() => m.log(), /Reload: bridge add started\./);
      assert.match(await m.log(), /Reload: bridge gone stopped\./);
      assert.match(await m.log(), /Reload: bridge change restarted with its new settings\./);
      assert.doesNotMatch(await m.log(), /Reload: bridge keep/);
      await awaitCount(readRemote, /New bridge connected from \S+ as change /);
      await awaitCount(readRemote, /New bridge connected from \S+ as add /);
      await awaitCount(readRemote, /Client gone disconnected/);
      await until(() => received.filter((r) => r.startsWith("change/x")).length >= 20, "queue");
      assert.deepEqual(
        received.filter((r) => r.startsWith("change/x")),
        Array.from({ length: 20 }, (_, i) => `change/x ${i}`),
      );
      // `keep` was connected once and never dropped.
      await sleep(1500);
      const remoteText = await readRemote();
      assert.equal(occurrences(remoteText, /New bridge connected from \S+ as keep /), 1);
      assert.equal(occurrences(remoteText, /Client keep (closed|disconnected)/), 0);
      assert.equal(occurrences(await m.log(), /Connecting bridge keep /), 1);
    } finally {
      await subscriber?.disconnect().catch(() => {});
      await midge?.close();
      await remote.kill("SIGTERM");
      await Deno.remove(dir, { recursive: true });
    }
  },
});
