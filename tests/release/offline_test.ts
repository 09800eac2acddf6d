/**
 * The x86_64 release folder works with no network and no Deno cache: nothing is downloaded when
 * it runs. The network is cut with a new network namespace holding only loopback (`unshare -rn`,
 * `ip link set lo up`); where user namespaces are not allowed, HTTP(S)_PROXY point to a closed
 * port instead. Either way HOME is a new empty folder and DENO_DIR is unset. Also: the launcher
 * runs Deno with the flags of `deno task start`, and install.sh never overwrites a configuration.
 *
 * @module
 */

import assert from "node:assert/strict";
import { freePort } from "../fixtures/net.ts";
import { Subprocess } from "../interop/helpers.ts";
import { makeRelease, releaseConf, startTaskV8Flags } from "./release_fixture.ts";

/** Whether this machine lets an unprivileged user make a network namespace. */
function unshareWorks(): boolean {
  try {
    return new Deno.Command("unshare", { args: ["-rn", "ip", "link", "set", "lo", "up"] })
      .outputSync().success;
  } catch {
    return false;
  }
}

const NETNS = unshareWorks();
const ISOLATION = NETNS ? "unshare -rn" : "HTTP(S)_PROXY to a closed port";

/**
 * A shell script that runs `steps` offline, in the release folder's environment: in a new
 * network namespace, or behind proxies that lead nowhere.
 */
function offline(steps: string, env: Record<string, string>): [string, string[], object] {
  if (NETNS) return ["unshare", ["-rn", "sh", "-ec", `ip link set lo up\n${steps}`], { env }];
  const nowhere = `http://127.0.0.1:${freePort()}`;
  const proxies = { HTTP_PROXY: nowhere, HTTPS_PROXY: nowhere, NO_PROXY: "" };
  return ["sh", ["-ec", steps], { env: { ...env, ...proxies } }];
}

Deno.test(`the x86_64 release folder runs broker, passwd, pub and sub offline with no Deno cache (${ISOLATION})`, async () => {
  const release = await makeRelease("x86_64");
  try {
    const { folder, work } = release;
    const port = freePort();
    await Deno.writeTextFile(
      `${work}/midge.toml`,
      releaseConf(port, `${work}/passwd`, `${work}/store`),
    );
    await Deno.mkdir(`${work}/store`);
    const client = `-h 127.0.0.1 -p ${port} -u alice -P secret -t offline/t`;
    // The launcher execs Deno, so the broker's process is Deno's: its command line shows the flags.
    const steps = `cd ${work}
${folder}/mosquitto_passwd -b -c passwd alice secret
${folder}/midge -c midge.toml --test-config > test-config.log 2>&1
${folder}/midge -c midge.toml 2> broker.log &
broker=$!
i=0
until grep -q ' running' broker.log; do i=$((i+1)); [ $i -lt 300 ]; sleep 0.1; done
tr '\\0' ' ' < /proc/$broker/cmdline > cmdline
${folder}/mosquitto_pub ${client} -q 1 -r -m hello
${folder}/mosquitto_sub ${client} -C 1 -W 10
kill $broker
wait $broker || true`;
    const [command, args, options] = offline(steps, release.env);
    const run = new Subprocess(command, args, options);
    const exit = await run.wait(60_000);
    const log = await Deno.readTextFile(`${work}/broker.log`).catch(() => "");
    assert.equal(exit.code, 0, `${run.describe()}\nbroker log:\n${log}`);
    assert.deepEqual(exit.lines, ["hello"]);
    assert.match(await Deno.readTextFile(`${work}/passwd`), /^alice:\$7\$/);
    assert.match(await Deno.readTextFile(`${work}/test-config.log`), /the configuration is valid/);
    const cmdline = await Deno.readTextFile(`${work}/cmdline`);
    assert.ok(cmdline.includes(await startTaskV8Flags()), cmdline);
    assert.ok(cmdline.includes("--unstable-kv"), cmdline);
    assert.ok(!cmdline.includes(" pub ") && cmdline.endsWith("-c midge.toml "), cmdline);
  } finally {
    await release.remove();
  }
});

Deno.test("install.sh installs the release folder and never overwrites a configuration", async () => {
  const release = await makeRelease("x86_64");
  try {
    const root = `${release.work}/root`;
    const env = { ...release.env, DESTDIR: root };
    const install = () => new Subprocess(`${release.folder}/install.sh`, [], { env }).wait(30_000);
    const first = await install();
    assert.equal(first.code, 0, first.stderr);
    await Deno.writeTextFile(`${root}/etc/midge/midge.toml`, "# mine\n");
    const second = await install();
    assert.equal(second.code, 0, second.stderr);
    assert.equal(await Deno.readTextFile(`${root}/etc/midge/midge.toml`), "# mine\n");
    assert.ok(second.lines.some((l) => l.includes("/etc/midge/midge.toml exists: kept")));
    assert.equal(await Deno.readLink(`${root}/usr/local/bin/midge`), "/opt/midge/midge");
    assert.equal(
      await Deno.readLink(`${root}/usr/local/bin/mosquitto_sub`),
      "/opt/midge/mosquitto_sub",
    );
    assert.ok((await Deno.stat(`${root}/etc/systemd/system/midge.service`)).isFile);
    assert.ok((await Deno.stat(`${root}/var/lib/midge`)).isDirectory);
    const version = await new Subprocess(`${root}/opt/midge/mosquitto_passwd`, ["--help"], {
      env: release.env,
    }).wait(30_000);
    assert.match(version.lines.join("\n") + version.stderr, /mosquitto_passwd/);
  } finally {
    await release.remove();
  }
});
