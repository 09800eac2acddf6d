/**
 * `midge -c FILE` with a `protocol http` listener, as a real process: basic auth with a user
 * added by `midge passwd -b`, a SIGHUP that changes the password file and `sys_interval`, and
 * `--test-config` refusing an HTTP listener with neither a password file nor `http_open`.
 */

import assert from "node:assert/strict";
import { freePort } from "../fixtures/net.ts";
import { ended, readOr, runMidge, spawnMidge } from "../fixtures/midge_process.ts";
import { connect, waitFor } from "../integration/harness.ts";
import { sub, subscribe } from "../integration/pubsub_helpers.ts";

function basic(user: string, password: string): HeadersInit {
  return { authorization: `Basic ${btoa(`${user}:${password}`)}` };
}

async function status(url: string, headers: HeadersInit = {}): Promise<number> {
  const response = await fetch(url, { headers });
  await response.body?.cancel();
  return response.status;
}

Deno.test("midge -c: an HTTP listener behind a midge passwd user; SIGHUP reloads its users and sys_interval", async () => {
  const dir = await Deno.makeTempDir();
  const mqttPort = freePort();
  const httpPort = freePort();
  const passwords = `${dir}/passwd`;
  const logFile = `${dir}/midge.log`;
  assert.equal((await runMidge(["passwd", "-c", "-b", passwords, "ops", "ops-secret"])).code, 0);
  const conf = `${dir}/midge.conf`;
  const write = (sysInterval: number) =>
    Deno.writeTextFile(
      conf,
      `sys_interval ${sysInterval}\npassword_file ${passwords}\nallow_anonymous true\n` +
        `log_dest file ${logFile}\nlog_type all\n` +
        `listener ${mqttPort} 127.0.0.1\nlistener ${httpPort} 127.0.0.1\nprotocol http\n`,
    );
  await write(3600);
  const child = spawnMidge(conf);
  const log = () => readOr(logFile);
  const base = `http://127.0.0.1:${httpPort}`;
  try {
    await waitFor(async () => (await log()).includes("running"), "the broker", 20_000);
    assert.match(await log(), new RegExp(`Opening http listen socket on port ${httpPort}\\.`));
    assert.equal(await status(`${base}/health`), 200);
    assert.equal(await status(`${base}/metrics`), 401);
    assert.equal(await status(`${base}/metrics`, basic("ops", "guess")), 401);
    assert.equal(await status(`${base}/metrics`, basic("ops", "ops-secret")), 200);
    assert.equal(await status(`${base}/api/v1/stats`, basic("dev", "dev-secret")), 401);

    // A new user, and $SYS every second: a reload, no restart.
    assert.equal((await runMidge(["passwd", "-b", passwords, "dev", "dev-secret"])).code, 0);
    const { client } = await connect(mqttPort, { clientId: "watcher" });
    try {
      await subscribe(client, sub("$SYS/broker/uptime"));
      await client.expect("publish"); // retained, from the start
      await write(1);
      child.kill("SIGHUP");
      await waitFor(
        async () => (await log()).includes("Reloaded sys_interval: 3600 -> 1."),
        "the reload",
      );
      assert.equal(await status(`${base}/api/v1/stats`, basic("dev", "dev-secret")), 200);
      await client.expect("publish", 1500); // at once
      await client.expect("publish", 1500); // a second later
    } finally {
      await client.close();
    }
    assert.ok(!(await log()).includes("secret"), "no password in the log");
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0);
  } finally {
    await ended(child);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("midge --test-config refuses protocol http with neither a password file nor http_open", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const conf = `${dir}/midge.toml`;
    await Deno.writeTextFile(conf, '[[listener]]\nport = 8080\nprotocol = "http"\n');
    const refused = await runMidge(["-c", conf, "--test-config"]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      new RegExp(`${conf}:3: listener\\[1\\]\\.protocol: http needs a password_file`),
    );
    await Deno.writeTextFile(
      conf,
      '[[listener]]\nport = 8080\nprotocol = "http"\nhttp_open = true\n',
    );
    assert.equal((await runMidge(["-c", conf, "--test-config"])).code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
