/**
 * `midge -c FILE` as a real process: --test-config, -d, the pid file, log files, SIGHUP reload
 * (applied, and rejected for a bad file while the old configuration keeps running), log file
 * reopening, and SIGTERM closing a 5.0 client without DISCONNECT, as Mosquitto 2.0 does.
 */

import assert from "node:assert/strict";
import { ReasonCode } from "../../src/codec/mod.ts";
import { connect, waitFor } from "../integration/harness.ts";
import { freePort } from "../fixtures/net.ts";
import { ended, readOr, runMidge, spawnMidge } from "../fixtures/midge_process.ts";

Deno.test("--test-config: exit 0 for a valid file, 1 with every problem for a bad one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const good = `${dir}/good.toml`;
    await Deno.writeTextFile(good, "retry_interval = 20\n[[listener]]\nport = 1883\n");
    const ok = await runMidge(["-c", good, "--test-config"]);
    assert.equal(ok.code, 0);
    assert.equal(ok.stdout.trim(), `${good}: the configuration is valid.`);
    assert.match(ok.stderr, /notice: .*good\.toml:1: retry_interval: /);
    const bad = `${dir}/bad.toml`;
    await Deno.writeTextFile(bad, '[[listener]]\nport = 70000\nbind_adress = "::1"\n');
    const refused = await runMidge(["-c", bad, "--test-config"]);
    assert.equal(refused.code, 1);
    assert.deepEqual(refused.stderr.trim().split("\n"), [
      `${bad}:2: listener[1].port: must be 0-65535, not 70000`,
      `${bad}:3: listener[1].bind_adress: unknown option; did you mean bind_address?`,
      `${bad}: 2 problems; the configuration is not valid.`,
    ]);
    const missing = await runMidge(["-c", `${dir}/nope.toml`]);
    assert.equal(missing.code, 3, "a start exits 3 for a config error, as Mosquitto");
    assert.match(missing.stderr, /nope\.toml: cannot read: /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("-d is refused with the way to run in the background, exit 3", async () => {
  const daemon = await runMidge(["-d"]);
  assert.equal(daemon.code, 3);
  assert.match(
    daemon.stderr,
    /-d: Midge cannot put itself in the background .*conf\/midge\.service/,
  );
});

Deno.test("a broker with a bad config file does not start, exit 3", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/midge.toml`;
    await Deno.writeTextFile(file, "max_queued_messages = -5\n");
    const run = await runMidge(["-c", file]);
    assert.equal(run.code, 3);
    assert.deepEqual(run.stderr.trim().split("\n"), [
      `${file}:1: max_queued_messages: must be at least 0, not -5`,
      `${file}: 1 problem; not starting.`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SIGHUP reloads, keeps the old config when the new one is bad, reopens the log; SIGTERM closes without DISCONNECT and removes the pid file", async () => {
  const dir = await Deno.makeTempDir();
  const port = freePort();
  const file = `${dir}/midge.toml`;
  const logFile = `${dir}/midge.log`;
  const pidFile = `${dir}/midge.pid`;
  const write = (anonymous: boolean, extra = "") =>
    Deno.writeTextFile(
      file,
      `pid_file = "${pidFile}"\n${extra}\n[log]\nlog_dest = ["file ${logFile}"]\n` +
        `[security]\nallow_anonymous = ${anonymous}\n[[listener]]\nport = ${port}\n` +
        `bind_address = "127.0.0.1"\n`,
    );
  await write(true);
  const child = spawnMidge(file);
  const log = () => readOr(logFile);
  try {
    await waitFor(async () => (await log()).includes("running"), "the broker to start", 20_000);
    assert.equal((await Deno.readTextFile(pidFile)).trim(), String(child.pid));
    const kept = await connect(port, { protocolVersion: 5, clientId: "kept" });
    assert.equal(kept.connack.reasonCode, 0);

    // A valid change: anonymous access off. Connected clients stay.
    await write(false);
    child.kill("SIGHUP");
    await waitFor(async () => (await log()).includes("Reloaded allow_anonymous"), "the reload");
    assert.match(await log(), /Reloaded allow_anonymous: true -> false\./);
    const refused = await connect(port, { protocolVersion: 5, clientId: "late" });
    assert.equal(refused.connack.reasonCode, ReasonCode.NotAuthorized);
    await refused.client.close();

    // A bad file: rejected, the running configuration stays.
    await Deno.writeTextFile(file, (await Deno.readTextFile(file)) + 'max_keepalive = "x"\n');
    child.kill("SIGHUP");
    await waitFor(async () => (await log()).includes("rejected"), "the rejected reload");
    assert.match(
      await log(),
      /Reload of .*midge\.toml rejected; the running configuration is kept:/,
    );
    assert.match(
      await log(),
      /midge\.toml:10: listener\[1\]\.max_keepalive: belongs at the top level, before the first \[table\]/,
    );
    const stillRefused = await connect(port, { protocolVersion: 5, clientId: "later" });
    assert.equal(stillRefused.connack.reasonCode, ReasonCode.NotAuthorized);
    await stillRefused.client.close();

    // logrotate: the file is moved away; SIGHUP opens a new one at the path.
    await write(false);
    await Deno.rename(logFile, `${logFile}.1`);
    child.kill("SIGHUP");
    await waitFor(async () => (await log()).includes("Reloading config."), "a new log file");

    // SIGUSR1 asks for persistent state to be saved: with persistence off, it says so.
    child.kill("SIGUSR1");
    await waitFor(
      async () => (await log()).includes("SIGUSR1: persistence is off; nothing to save."),
      "the SIGUSR1 line",
    );

    child.kill("SIGTERM");
    await kept.client.expectClosed(5000);
    assert.deepEqual(kept.client.takeAll(), [], "no DISCONNECT, as from Mosquitto");
    await kept.client.close();
    const status = await child.status;
    assert.equal(status.code, 0);
    assert.match(await log(), /terminating/);
    await assert.rejects(Deno.stat(pidFile), Deno.errors.NotFound);
  } finally {
    await ended(child);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("midge -c mosquitto.conf: a Mosquitto file with a listener, anonymous access and a log file serves clients", async () => {
  const dir = await Deno.makeTempDir();
  const port = freePort();
  const file = `${dir}/mosquitto.conf`;
  const logFile = `${dir}/mosquitto.log`;
  await Deno.writeTextFile(
    file,
    `# as in /etc/mosquitto/mosquitto.conf\npid_file ${dir}/m.pid\npersistence false\n` +
      `log_dest file ${logFile}\nlog_type all\nlog_timestamp_format %Y-%m-%dT%H:%M:%S\n\n` +
      `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_connections 10\n`,
  );
  const child = spawnMidge(file);
  try {
    await waitFor(async () => (await readOr(logFile)).includes("running"), "the start", 20_000);
    const { client, connack } = await connect(port, { clientId: "from-conf" });
    assert.equal(connack.reasonCode, 0);
    await client.close();
    await waitFor(
      async () => (await readOr(logFile)).includes("Client from-conf closed its connection."),
      "the close to be logged",
    );
    const lines = (await readOr(logFile)).trim().split("\n");
    assert.match(lines[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d: midge version \S+ starting$/);
    assert.ok(lines.some((l) => l.endsWith(`Config loaded from ${file}.`)));
    assert.ok(lines.some((l) => l.endsWith(`Opening ipv4 listen socket on port ${port}.`)));
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0);
  } finally {
    await ended(child);
    await Deno.remove(dir, { recursive: true });
  }
});
