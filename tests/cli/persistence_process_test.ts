/**
 * `persistence true` in a real broker process: a graceful restart keeps a queued and a
 * retained message; a store that cannot be used (missing directory, a file that is not a
 * Deno KV database, a store another broker holds) stops the start with exit status 3 and an
 * `Error:` line saying why; SIGUSR1 says everything is stored.
 */

import assert from "node:assert/strict";
import { connect } from "../integration/harness.ts";
import {
  payloadText,
  pub,
  publishAcked,
  receive,
  sub,
  subscribe,
} from "../integration/pubsub_helpers.ts";
import { freePort } from "../fixtures/net.ts";
import { BrokerProcess, persistenceConf, refused, withDir } from "./persistence_broker.ts";

/** Regex-quote `s`. */
function quote(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

Deno.test("persistence: after SIGTERM and a start on the same directory, a queued and a retained message are still there and the log says what was restored", async () => {
  await withDir(async (dir, started, clients) => {
    const port = freePort();
    await Deno.writeTextFile(dir.confFile, persistenceConf({ port, location: dir.data }));
    const first = await BrokerProcess.start(dir.confFile);
    started.push(first);
    const away = await connect(port, { clientId: "keeper", clean: false });
    clients.push(away.client);
    await subscribe(away.client, sub("keep/queued", 1));
    await away.client.send({ type: "disconnect", reasonCode: 0 });
    const publisher = await connect(port, { clientId: "giver" });
    clients.push(publisher.client);
    await publishAcked(publisher.client, pub("keep/queued", "while away", { qos: 1, packetId: 1 }));
    await publishAcked(
      publisher.client,
      pub("keep/retained", "kept", { qos: 1, packetId: 2, retain: true }),
    );
    const stop = await first.terminate();
    assert.equal(stop.killed, false, `SIGTERM did not stop the broker; its log:\n${first.log}`);
    assert.equal(stop.status.code, 0);

    const second = await BrokerProcess.start(dir.confFile);
    started.push(second);
    const restored = await second.waitForLog(/Restored from/);
    assert.match(
      restored,
      new RegExp(
        `Restored from ${quote(dir.data)}/midge\\.db: 1 sessions?, 1 subscriptions?, ` +
          `1 queued or in-flight messages?, 1 retained messages?\\.$`,
      ),
    );
    const back = await connect(port, { clientId: "keeper", clean: false });
    clients.push(back.client);
    assert.equal(back.connack.sessionPresent, true);
    const [queued] = await receive(back.client, 1, 5000);
    assert.equal(queued.topic, "keep/queued");
    assert.equal(payloadText(queued), "while away");
    assert.equal(queued.qos, 1);
    await back.client.send({ type: "puback", packetId: queued.packetId!, reasonCode: 0 });
    const fresh = await connect(port, { clientId: "newcomer" });
    clients.push(fresh.client);
    await subscribe(fresh.client, sub("keep/#", 1));
    const [retained] = await receive(fresh.client, 1, 5000);
    assert.equal(retained.topic, "keep/retained");
    assert.equal(payloadText(retained), "kept");
    assert.equal(retained.retain, true);
    await fresh.client.expectNothing(200);
  });
});

Deno.test("persistence_location naming a missing directory: exit status 3 and an Error line naming it", async () => {
  await withDir(async (dir, started) => {
    const missing = `${dir.root}/no-such-dir`;
    await Deno.writeTextFile(
      dir.confFile,
      persistenceConf({ port: freePort(), location: missing }),
    );
    const log = await refused(dir.confFile, started);
    assert.match(log, new RegExp(`Error: .*${quote(missing)}`));
    await assert.rejects(Deno.stat(missing), Deno.errors.NotFound);
  });
});

Deno.test("a persistence_file that is not a Deno KV database (junk in mosquitto.db): exit status 3, the message names Mosquitto's format, the file is left alone", async () => {
  await withDir(async (dir, started) => {
    const junk = new Uint8Array(600);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 131 + 7) & 0xff;
    // It starts as Mosquitto's own files do: 00 B5 00 "mosquitto db".
    junk.set([0x00, 0xb5, 0x00, ...new TextEncoder().encode("mosquitto db")], 0);
    const file = `${dir.data}/mosquitto.db`;
    await Deno.writeFile(file, junk);
    await Deno.writeTextFile(
      dir.confFile,
      persistenceConf({ port: freePort(), location: dir.data, file: "mosquitto.db" }),
    );
    const log = await refused(dir.confFile, started);
    const error = log.split("\n").find((l) => l.includes("Error:"));
    assert.ok(error !== undefined, `no Error line in:\n${log}`);
    assert.match(error, new RegExp(quote(file)));
    assert.match(error, /Mosquitto/);
    assert.deepEqual(await Deno.readFile(file), junk);
  });
});

Deno.test("two brokers on one persistence directory: the second exits with status 3 saying the store is in use, the first keeps serving", async () => {
  await withDir(async (dir, started, clients) => {
    const port = freePort();
    await Deno.writeTextFile(dir.confFile, persistenceConf({ port, location: dir.data }));
    const first = await BrokerProcess.start(dir.confFile);
    started.push(first);
    const otherConf = `${dir.root}/other.conf`;
    await Deno.writeTextFile(otherConf, persistenceConf({ port: freePort(), location: dir.data }));
    const log = await refused(otherConf, started);
    assert.match(log, /Error: .*in use/);
    assert.match(log, new RegExp(`pid ${first.child.pid}\\b`));
    const still = await connect(port, { clientId: "still-there", clean: false });
    clients.push(still.client);
    assert.equal(still.connack.reasonCode, 0);
  });
});

Deno.test("SIGUSR1 with persistence on: the log says everything is stored, with counts", async () => {
  await withDir(async (dir, started, clients) => {
    const port = freePort();
    await Deno.writeTextFile(dir.confFile, persistenceConf({ port, location: dir.data }));
    const broker = await BrokerProcess.start(dir.confFile);
    started.push(broker);
    const client = await connect(port, { clientId: "stored", clean: false });
    clients.push(client.client);
    await subscribe(client.client, sub("usr1/#", 1));
    await client.client.send({ type: "disconnect", reasonCode: 0 });
    const publisher = await connect(port, { clientId: "usr1-pub" });
    clients.push(publisher.client);
    await publishAcked(
      publisher.client,
      pub("usr1/r", "x", { qos: 1, packetId: 1, retain: true }),
    );
    broker.signal("SIGUSR1");
    const line = await broker.waitForLog(/SIGUSR1:/);
    const m = line.match(
      new RegExp(
        `SIGUSR1: everything is stored in ${quote(dir.data)}/midge\\.db ` +
          `\\((\\d+) records, (\\d+) bytes\\)\\.$`,
      ),
    );
    assert.ok(m !== null, line);
    // At least the session, its subscription, the message, its delivery and the retained mark.
    assert.ok(Number(m[1]) >= 5, line);
    assert.ok(Number(m[2]) > 0, line);
  });
});
