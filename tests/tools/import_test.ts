/**
 * `midge import`: a `mosquitto.db` saved by the real Mosquitto 2.0 (tests/fixtures/mosquitto_db.ts)
 * imported into Midge's store, then checked over real sockets against a Midge process started
 * on that store: retained messages, persistent sessions with their subscriptions and queued
 * messages, a QoS 2 message awaiting PUBREL. Also the start-up notice, and the refusals: a
 * store with data, a damaged file, another db version.
 *
 * @module
 */

import assert from "node:assert/strict";
import { connect, type RawClient } from "../integration/harness.ts";
import { freePort } from "../fixtures/net.ts";
import { runMidge } from "../fixtures/midge_process.ts";
import { interopTest } from "../interop/helpers.ts";
import { MOSQUITTO_BROKER } from "../auth/mosquitto_tools.ts";
import { BrokerProcess, persistenceConf, withDir } from "../cli/persistence_broker.ts";
import { makeMosquittoDb, MOSQUITTO_STATE } from "../fixtures/mosquitto_db.ts";
import type { PublishPacket } from "../../src/codec/mod.ts";

const decoder = new TextDecoder();
const text = (p: PublishPacket) => decoder.decode(p.payload);
const NOTICE = /Found Mosquitto's persistence file \S+mosquitto\.db beside the empty store/;

async function publishes(client: RawClient, count: number): Promise<PublishPacket[]> {
  const got: PublishPacket[] = [];
  for (let i = 0; i < count; i++) got.push(await client.expect("publish", 5000));
  return got;
}

const SUBSCRIBE_DEFAULTS = { noLocal: false, retainAsPublished: false, retainHandling: 0 } as const;

interopTest({
  name: "midge import brings Mosquitto 2.0's retained messages, sessions, subscriptions and " +
    "queued messages over, and the start-up notice points at it",
  needs: [MOSQUITTO_BROKER],
  fn: () =>
    withDir(async (dir, started, clients) => {
      const dbPath = await makeMosquittoDb(dir.data);
      const port = freePort();
      await Deno.writeTextFile(dir.confFile, persistenceConf({ port, location: dir.data }));

      // An empty Midge store beside a mosquitto.db: a notice, nothing imported silently.
      const first = await BrokerProcess.start(dir.confFile);
      started.push(first);
      await first.waitForLog(NOTICE);
      assert.ok(first.log.includes(`midge import -c ${dir.confFile} `), first.log);
      assert.match(first.log, /midge import -c \S+ \S+mosquitto\.db/);
      assert.match(first.log, /Restored from .*: 0 sessions/);
      await first.terminate();

      const imported = await runMidge(["import", "-c", dir.confFile, dbPath]);
      assert.equal(imported.code, 0, imported.stderr);
      assert.match(
        imported.stdout,
        /^Imported 3 retained messages, 3 sessions, 4 subscriptions, 10 queued messages, 1 QoS 2 message awaiting PUBREL from \S+mosquitto\.db into \S+midge\.db\.$/m,
      );

      const broker = await BrokerProcess.start(dir.confFile);
      started.push(broker);
      assert.match(
        broker.log,
        /Restored from \S+: 3 sessions, 4 subscriptions, 10 queued or in-flight messages, 3 retained messages\./,
      );
      assert.doesNotMatch(broker.log, NOTICE);

      // Retained messages: topic, payload, QoS, retain flag and 5.0 properties kept.
      const { client: reader } = await connect(port, { clientId: "reader", protocolVersion: 5 });
      clients.push(reader);
      await reader.send({
        type: "subscribe",
        packetId: 1,
        subscriptions: [
          { topicFilter: "ret/#", qos: 2, ...SUBSCRIBE_DEFAULTS },
          { topicFilter: "held/#", qos: 2, ...SUBSCRIBE_DEFAULTS },
        ],
      });
      await reader.expect("suback");
      const retained = (await publishes(reader, 3)).sort((a, b) => a.topic < b.topic ? -1 : 1);
      assert.deepEqual(
        retained.map((p) => ({ topic: p.topic, payload: text(p), qos: p.qos, retain: p.retain })),
        MOSQUITTO_STATE.retained.map((m) => ({ ...m, retain: true })),
      );
      const props = retained[2].properties;
      assert.equal(props?.contentType, MOSQUITTO_STATE.retainedProperties.contentType);
      assert.deepEqual(props?.userProperties, MOSQUITTO_STATE.retainedProperties.userProperties);
      const expiry = props?.messageExpiryInterval ?? 0;
      assert.ok(expiry > 3000 && expiry <= 3600, `message expiry interval ${expiry}`);
      for (const p of retained) if (p.qos > 0) await ackPublish(reader, p);

      // A QoS 2 message Mosquitto held until PUBREL goes out at PUBREL.
      const { client: h2, connack: h2Connack } = await connect(port, {
        clientId: "h2",
        clean: false,
      });
      clients.push(h2);
      assert.equal(h2Connack.sessionPresent, true);
      await h2.send({ type: "pubrel", packetId: 9, reasonCode: 0 });
      await h2.expect("pubcomp");
      const held = await reader.expect("publish");
      assert.deepEqual([held.topic, text(held), held.qos], ["held/x", "held", 2]);

      // 3.1.1, clean session 0: session present, its queue in order, its subscriptions route.
      const { client: s311, connack } = await connect(port, { clientId: "s311", clean: false });
      clients.push(s311);
      assert.equal(connack.sessionPresent, true);
      const queued = await publishes(s311, MOSQUITTO_STATE.queued.length);
      assert.deepEqual(
        queued.map((p) => [p.topic, text(p), p.qos]),
        MOSQUITTO_STATE.queued.map((m) => [m.topic, m.payload, 1]),
      );
      for (const p of queued) await ackPublish(s311, p);
      await reader.send(publishPacket("other/z", "routed"));
      const routed = await s311.expect("publish");
      assert.deepEqual([routed.topic, text(routed), routed.qos], ["other/z", "routed", 0]);

      // 5.0 with session expiry: its QoS and subscription identifier kept.
      const { client: s5, connack: s5Connack } = await connect(port, {
        clientId: "s5",
        clean: false,
        protocolVersion: 5,
        properties: { sessionExpiryInterval: 3600 },
      });
      clients.push(s5);
      assert.equal(s5Connack.sessionPresent, true);
      const queued5 = await publishes(s5, MOSQUITTO_STATE.queued.length);
      assert.deepEqual(
        queued5.map((p) => [p.topic, text(p), p.qos, p.properties?.subscriptionIdentifiers]),
        MOSQUITTO_STATE.queued.map((m) => [m.topic, m.payload, m.qos, [7]]),
      );
      // Its no-local subscription: its own message on nl/# does not come back.
      await s5.send(publishPacket("nl/own", "own"));
      await reader.send(publishPacket("nl/other", "other"));
      const notLocal = await s5.expect("publish");
      assert.deepEqual([notLocal.topic, notLocal.retain], ["nl/other", false]);
    }),
});

function publishPacket(topic: string, payload: string): PublishPacket {
  return {
    type: "publish",
    topic,
    payload: new TextEncoder().encode(payload),
    qos: 0,
    retain: false,
    dup: false,
  };
}

async function ackPublish(client: RawClient, p: PublishPacket): Promise<void> {
  if (p.qos === 1) await client.send({ type: "puback", packetId: p.packetId!, reasonCode: 0 });
  if (p.qos === 2) {
    await client.send({ type: "pubrec", packetId: p.packetId!, reasonCode: 0 });
    await client.expect("pubrel");
    await client.send({ type: "pubcomp", packetId: p.packetId!, reasonCode: 0 });
  }
}

interopTest({
  name: "midge import refuses a store with data, a damaged file and another db version, " +
    "naming the file and the byte",
  needs: [MOSQUITTO_BROKER],
  fn: () =>
    withDir(async (dir) => {
      const dbPath = await makeMosquittoDb(dir.root);
      const bytes = await Deno.readFile(dbPath);
      const into = ["import", "--store-dir", dir.data];

      const once = await runMidge([...into, dbPath]);
      assert.equal(once.code, 0, once.stderr);
      const twice = await runMidge([...into, dbPath]);
      assert.equal(twice.code, 1);
      assert.match(
        twice.stderr,
        /the store \S+midge\.db already holds \d+ records; nothing imported/,
      );

      const truncated = `${dir.root}/truncated.db`;
      await Deno.writeFile(truncated, bytes.subarray(0, bytes.length - 5));
      const cut = await runMidge(["import", "--store-dir", dir.root, truncated]);
      assert.equal(cut.code, 1);
      assert.match(cut.stderr, /truncated\.db: byte \d+: .*\(truncated\?\)/);
      await assertNoStore(dir.root);

      const older = `${dir.root}/older.db`;
      const patched = bytes.slice();
      patched[22] = 5; // the db version's low byte: Mosquitto 1.6's
      await Deno.writeFile(older, patched);
      const version = await runMidge(["import", "--store-dir", dir.root, older]);
      assert.equal(version.code, 1);
      assert.match(
        version.stderr,
        /older\.db: byte 19: db version 5: this is an older Mosquitto's/,
      );

      const notes = `${dir.root}/notes.txt`;
      await Deno.writeTextFile(notes, "not a database, but long enough to have a header\n");
      const other = await runMidge(["import", "--store-dir", dir.root, notes]);
      assert.equal(other.code, 1);
      assert.match(other.stderr, /notes\.txt: byte 0: not a Mosquitto persistence file/);
    }),
});

/** A refused import leaves no store behind. */
async function assertNoStore(dir: string): Promise<void> {
  await assert.rejects(Deno.stat(`${dir}/midge.db`), Deno.errors.NotFound);
}
