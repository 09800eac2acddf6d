/**
 * `midge -c FILE` with a password_file written by `midge passwd` and an acl_file, as a real
 * process: the right password gets in, a wrong one does not, topics follow the ACL, and
 * SIGHUP reloads both files without dropping connected clients.
 */

import assert from "node:assert/strict";
import { ReasonCode } from "../../src/codec/mod.ts";
import { connect, waitFor } from "../integration/harness.ts";
import { pub, publishAcked, sub, subscribe, sync } from "../integration/pubsub_helpers.ts";
import { freePort } from "../fixtures/net.ts";
import { ended, readOr, runMidge, spawnMidge } from "../fixtures/midge_process.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);

Deno.test("password_file and acl_file in a running broker, reloaded by SIGHUP", async () => {
  const dir = await Deno.makeTempDir();
  const port = freePort();
  const passwords = `${dir}/passwd`;
  const acl = `${dir}/acl`;
  const logFile = `${dir}/midge.log`;
  assert.equal((await runMidge(["passwd", "-c", "-b", passwords, "ann", "ann-secret"])).code, 0);
  await Deno.writeTextFile(acl, "user ann\ntopic readwrite ann/#\n");
  const conf = `${dir}/midge.conf`;
  await Deno.writeTextFile(
    conf,
    `listener ${port} 127.0.0.1\npassword_file ${passwords}\nacl_file ${acl}\n` +
      `log_dest file ${logFile}\nlog_type all\n`,
  );
  const child = spawnMidge(conf);
  const log = () => readOr(logFile);
  try {
    await waitFor(async () => (await log()).includes("running"), "the broker", 20_000);
    const wrong = await connect(port, {
      protocolVersion: 5,
      clientId: "w",
      username: "ann",
      password: utf8("guess"),
    });
    assert.equal(wrong.connack.reasonCode, ReasonCode.NotAuthorized);
    await wrong.client.close();
    const ann = await connect(port, {
      protocolVersion: 5,
      clientId: "a",
      username: "ann",
      password: utf8("ann-secret"),
    });
    assert.equal(ann.connack.reasonCode, 0);
    const suback = await subscribe(ann.client, [sub("ann/#"), sub("bob/#")]);
    assert.deepEqual(suback.reasonCodes, [0, 0]); // as Mosquitto 2.0.11: delivery is checked

    // bob is added and may use bob/#: a reload, no restart; ann stays connected.
    assert.equal((await runMidge(["passwd", "-b", passwords, "bob", "bob-secret"])).code, 0);
    await Deno.writeTextFile(
      acl,
      "user ann\ntopic readwrite ann/#\nuser bob\ntopic readwrite bob/#\n",
    );
    child.kill("SIGHUP");
    await waitFor(
      async () => (await log()).includes(`Reloaded password_file ${passwords}, acl_file ${acl}.`),
      "the reload",
    );
    const bob = await connect(port, {
      protocolVersion: 5,
      clientId: "b",
      username: "bob",
      password: utf8("bob-secret"),
    });
    assert.equal(bob.connack.reasonCode, 0);
    const ack = await publishAcked(bob.client, pub("bob/x", "hi", { qos: 1, packetId: 1 }));
    // Allowed; ann's bob/# matches though she may not read it: 0x00, not 0x10, as Mosquitto.
    assert.equal((ack as { reasonCode: number }).reasonCode, 0);
    const denied = await publishAcked(bob.client, pub("ann/x", "no", { qos: 1, packetId: 2 }));
    assert.equal((denied as { reasonCode: number }).reasonCode, ReasonCode.NotAuthorized);
    assert.equal(ann.client.closed, false, "ann kept her connection through the reload");
    await sync(ann.client);
    assert.deepEqual(ann.client.takeAll(), [], "bob/x never reached ann");
    await bob.client.close();
    await ann.client.close();
    assert.ok(!(await log()).includes("ann-secret"), "no password in the log");
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0);
  } finally {
    await ended(child);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a password_file that cannot be read stops the broker with the reason, exit 13 as Mosquitto", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const conf = `${dir}/midge.toml`;
    await Deno.writeTextFile(conf, `[security]\npassword_file = "${dir}/missing"\n`);
    const out = await runMidge(["-c", conf]);
    assert.equal(out.code, 13);
    assert.match(
      out.stderr,
      /Error: .*missing: cannot read: No such file or directory/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
