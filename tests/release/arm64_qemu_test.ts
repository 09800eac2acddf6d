/**
 * The aarch64 release folder, proven under `qemu-aarch64-static` (user-mode emulation with
 * Debian's arm64 libc: `dpkg --add-architecture arm64`, `qemu-user-static libc6:arm64
 * libgcc-s1:arm64`). binfmt_misc is not mounted here, so the folder's `deno` is wrapped in a
 * script that runs the arm64 binary through qemu; the launcher, the links and lib/ are the
 * release's own. qemu is about 20x slower than native: one broker start serves the tools and
 * the QoS 0/1/2 messages, and every wait is bounded. Without qemu the test is ignored, or fails
 * when CI is set.
 *
 * @module
 */

import assert from "node:assert/strict";
import { freePort } from "../fixtures/net.ts";
import { type ConnectFields, RawClient } from "../integration/harness.ts";
import type { ConnackPacket } from "../../src/codec/mod.ts";
import { payloadText, pub, sub, utf8 } from "../integration/pubsub_helpers.ts";
import { interopTest, type Peer, Subprocess, until } from "../interop/helpers.ts";
import { makeRelease, releaseConf, type TestRelease } from "./release_fixture.ts";

const QEMU = "qemu-aarch64-static";
/** The arm64 dynamic loader that libc6:arm64 installs, which qemu runs the binary with. */
const ARM64_LOADER = "/lib/ld-linux-aarch64.so.1";
/** A bound on any one emulated command (one start of Deno under qemu takes about 10 s here). */
const STEP_MS = 150_000;

function findQemu(): Peer {
  const name = `${QEMU} with ${ARM64_LOADER}`;
  try {
    const ok = new Deno.Command(QEMU, { args: ["-version"], stdout: "null", stderr: "null" })
      .outputSync().success;
    if (!ok) return { name, missing: `${QEMU} -version failed` };
  } catch {
    return { name, missing: `${QEMU} not found (apt-get install qemu-user-static)` };
  }
  try {
    Deno.statSync(ARM64_LOADER);
  } catch {
    return { name, missing: `${ARM64_LOADER} not found (apt-get install libc6:arm64)` };
  }
  return { name, missing: undefined };
}

/** Make the release's `deno` run the arm64 binary through qemu. */
async function emulate(folder: string): Promise<void> {
  await Deno.rename(`${folder}/deno`, `${folder}/deno.aarch64`);
  await Deno.writeTextFile(
    `${folder}/deno`,
    `#!/bin/sh\nexec ${QEMU} "$(dirname "$0")/deno.aarch64" "$@"\n`,
    { mode: 0o755 },
  );
}

/** The release folder under test and every process started from it, all ended by `close()`. */
class Emulated {
  readonly #release: TestRelease;
  readonly #processes: Subprocess[] = [];

  constructor(release: TestRelease) {
    this.#release = release;
  }

  /** Start the release's command `name` (midge, mosquitto_sub, ...) with `args`. */
  spawn(name: string, args: string[]): Subprocess {
    const env = this.#release.env;
    const process = new Subprocess(`${this.#release.folder}/${name}`, args, { env });
    this.#processes.push(process);
    return process;
  }

  /** Run the release's command `name` to its end; it must succeed. Resolves to its output. */
  async run(name: string, args: string[]): Promise<string[]> {
    const tool = this.spawn(name, args);
    const exit = await tool.wait(STEP_MS);
    assert.equal(exit.code, 0, tool.describe());
    return exit.lines;
  }

  /** Start a broker on `conf` and wait until it logs that it is running. */
  async startBroker(conf: string): Promise<Subprocess> {
    const broker = this.spawn("midge", ["-c", conf]);
    await until(() => / running$/m.test(broker.stderr) || broker.exited, "the arm64 broker", {
      timeoutMs: STEP_MS,
      describe: () => broker.describe(),
    });
    assert.ok(!broker.exited, broker.describe());
    return broker;
  }

  /** Kill whatever still runs. */
  async close(): Promise<void> {
    for (const process of this.#processes) await process.kill("SIGKILL");
  }
}

/** Stop a broker with SIGTERM, as systemd does, and wait for it to end by itself. */
async function stopBroker(broker: Subprocess): Promise<void> {
  Deno.kill(broker.pid, "SIGTERM");
  const exit = await broker.wait(STEP_MS);
  assert.equal(exit.code, 0, broker.describe());
}

/** Connect as alice with `fields`, waiting as long as an emulated broker may take. */
async function login(
  port: number,
  fields: ConnectFields,
  clients: RawClient[],
): Promise<{ client: RawClient; connack: ConnackPacket }> {
  const client = await RawClient.open(port);
  clients.push(client);
  await client.send({
    type: "connect",
    protocolVersion: 4,
    clientId: "test",
    clean: true,
    keepAlive: 60,
    username: "alice",
    password: utf8("secret"),
    ...fields,
  });
  return { client, connack: await client.expect("connack", STEP_MS) };
}

interopTest({
  name: "the aarch64 release folder under qemu: passwd, --test-config, pub/sub at QoS 0/1/2, " +
    "a restart keeping a retained and a queued QoS 1 message",
  needs: [findQemu()],
  fn: async () => {
    const release = await makeRelease("aarch64");
    const arm64 = new Emulated(release);
    const clients: RawClient[] = [];
    // Where the minutes go, in the test's output: qemu's speed varies from machine to machine.
    const started = Date.now();
    const done = (step: string) => console.log(`${step}: ${(Date.now() - started) / 1000} s`);
    try {
      await emulate(release.folder);
      const { work } = release;
      const port = freePort();
      const conf = `${work}/midge.toml`;
      await Deno.mkdir(`${work}/store`);
      await Deno.writeTextFile(conf, releaseConf(port, `${work}/passwd`, `${work}/store`));
      const tool = ["-h", "127.0.0.1", "-p", `${port}`, "-u", "alice", "-P", "secret"];

      await arm64.run("mosquitto_passwd", ["-b", "-c", `${work}/passwd`, "alice", "secret"]);
      assert.match(await Deno.readTextFile(`${work}/passwd`), /^alice:\$7\$/);
      done("mosquitto_passwd");
      // --test-config while the broker starts: two emulated Deno starts at once.
      const [starting, checking] = await Promise.allSettled([
        arm64.startBroker(conf),
        arm64.run("midge", ["-c", conf, "--test-config"]),
      ]);
      if (starting.status === "rejected") throw starting.reason;
      if (checking.status === "rejected") throw checking.reason;
      assert.deepEqual(checking.value, [`${conf}: the configuration is valid.`]);
      const broker = starting.value;
      done("broker running");

      const subscriber = arm64.spawn("mosquitto_sub", [
        ...tool,
        ...["-i", "arm-sub", "-q", "2", "-t", "qos/#", "-v", "-C", "3"],
      ]);
      await until(() => / arm-sub 2 qos\/#$/m.test(broker.stderr), "the subscription", {
        timeoutMs: STEP_MS,
        describe: () => `${subscriber.describe()}\n${broker.describe()}`,
      });
      // The three publishers run at once: each start of Deno under qemu takes seconds.
      const published = await Promise.allSettled(
        ["zero", "one", "two"].map((word, qos) =>
          arm64.run("mosquitto_pub", [...tool, "-q", `${qos}`, "-t", `qos/${qos}`, "-m", word])
        ),
      );
      for (const p of published) if (p.status === "rejected") throw p.reason;
      const received = (await subscriber.wait(STEP_MS)).lines.toSorted();
      assert.deepEqual(received, ["qos/0 zero", "qos/1 one", "qos/2 two"], subscriber.describe());
      done("mosquitto_sub received QoS 0/1/2");

      // A persistent session with a QoS 1 subscription, offline; a retained and a queued message.
      const keeper = (await login(port, { clientId: "keeper", clean: false }, clients)).client;
      await keeper.send({ type: "subscribe", packetId: 1, subscriptions: [sub("queue/t", 1)] });
      await keeper.expect("suback", STEP_MS);
      await keeper.close();
      const sender = (await login(port, { clientId: "sender" }, clients)).client;
      await sender.send(pub("keep/r", "kept", { qos: 1, retain: true, packetId: 1 }));
      await sender.expect("puback", STEP_MS);
      await sender.send(pub("queue/t", "queued", { qos: 1, packetId: 2 }));
      await sender.expect("puback", STEP_MS);
      await sender.close();

      await stopBroker(broker);
      done("broker stopped");
      const restarted = await arm64.startBroker(conf);
      done("broker restarted");

      const back = await login(port, { clientId: "keeper", clean: false }, clients);
      assert.equal(back.connack.sessionPresent, true);
      const queued = await back.client.expect("publish", STEP_MS);
      assert.deepEqual([queued.topic, payloadText(queued), queued.qos], ["queue/t", "queued", 1]);
      await back.client.send({ type: "subscribe", packetId: 3, subscriptions: [sub("keep/#")] });
      await back.client.expect("suback", STEP_MS);
      const retained = await back.client.expect("publish", STEP_MS);
      assert.deepEqual(
        [retained.topic, payloadText(retained), retained.retain],
        ["keep/r", "kept", true],
      );
      await stopBroker(restarted);
      done("retained and queued messages kept");
    } finally {
      for (const client of clients) await client.close();
      await arm64.close();
      await release.remove();
    }
  },
});
