/**
 * A damaged store in a real broker process: a store file emptied to 0 bytes stops the start
 * (exit status 3, an `Error:` line naming the file) unless `persistence_allow_empty` is set;
 * a flipped byte in one queued message loses that message alone, and the start says so (an
 * `Error:` line naming the client and the count, `$SYS/broker/store/damaged/messages`).
 */

import assert from "node:assert/strict";
import { connect, type RawClient } from "../integration/harness.ts";
import {
  payloadText,
  pub,
  publishAcked,
  receive,
  sub,
  subscribe,
} from "../integration/pubsub_helpers.ts";
import { freePort } from "../fixtures/net.ts";
import {
  BrokerProcess,
  persistenceConf,
  type PersistenceDir,
  refused,
  withDir,
} from "./persistence_broker.ts";

/**
 * Start a broker on `dir`, leave a persistent session "keeper" subscribed to `keep/#` with
 * `payloads` queued for it at QoS 1, and stop the broker with SIGTERM.
 */
async function storeQueued(
  dir: PersistenceDir,
  port: number,
  payloads: string[],
  started: BrokerProcess[],
  clients: RawClient[],
): Promise<void> {
  const broker = await BrokerProcess.start(dir.confFile);
  started.push(broker);
  const away = await connect(port, { clientId: "keeper", clean: false });
  clients.push(away.client);
  await subscribe(away.client, sub("keep/#", 1));
  await away.client.send({ type: "disconnect", reasonCode: 0 });
  const publisher = await connect(port, { clientId: "giver" });
  clients.push(publisher.client);
  for (const [i, text] of payloads.entries()) {
    await publishAcked(publisher.client, pub("keep/queued", text, { qos: 1, packetId: i + 1 }));
  }
  const stop = await broker.terminate();
  assert.equal(stop.status.code, 0, `SIGTERM did not stop the broker cleanly:\n${broker.log}`);
}

/** Flip one bit in the middle of `text` where it is stored in the Deno KV file `path`. */
async function damageStored(path: string, text: string): Promise<void> {
  const needle = new TextEncoder().encode(text);
  const kv = await Deno.openKv(path);
  try {
    for await (const entry of kv.list<Uint8Array>({ prefix: ["chunk"] })) {
      const bytes = entry.value;
      for (let i = 0; i + needle.length <= bytes.length; i++) {
        if (needle.every((b, j) => bytes[i + j] === b)) {
          const damaged = bytes.slice();
          damaged[i + (needle.length >> 1)] ^= 0x04;
          await kv.set(entry.key, damaged);
          return;
        }
      }
    }
  } finally {
    kv.close();
  }
  throw new Error(`${text} is not in ${path}`);
}

Deno.test("persistence: a store file emptied to 0 bytes stops the start with exit status 3 and an Error line naming it; persistence_allow_empty starts empty", async () => {
  await withDir(async (dir, started, clients) => {
    const port = freePort();
    await Deno.writeTextFile(dir.confFile, persistenceConf({ port, location: dir.data }));
    await storeQueued(dir, port, ["one"], started, clients);
    const file = `${dir.data}/midge.db`;
    await Deno.truncate(file, 0);

    const log = await refused(dir.confFile, started);
    const error = log.split("\n").find((l) => l.includes("Error:"));
    assert.ok(error !== undefined && error.includes(`${file} is empty (0 bytes)`), log);
    assert.match(error, /persistence_allow_empty/);
    assert.equal((await Deno.stat(file)).size, 0);

    await Deno.writeTextFile(
      dir.confFile,
      persistenceConf({ port, location: dir.data, extra: ["persistence_allow_empty true"] }),
    );
    const allowed = await BrokerProcess.start(dir.confFile);
    started.push(allowed);
    assert.match(await allowed.waitForLog(/Restored from/), /: 0 sessions, /);
    const back = await connect(port, { clientId: "keeper", clean: false });
    clients.push(back.client);
    assert.equal(back.connack.sessionPresent, false);
  });
});

Deno.test("persistence: a damaged queued message is lost alone, and the start names the client, the count and $SYS/broker/store/damaged/messages", async () => {
  await withDir(async (dir, started, clients) => {
    const port = freePort();
    const conf = persistenceConf({ port, location: dir.data, extra: ["sys_interval 1"] });
    await Deno.writeTextFile(dir.confFile, conf);
    const payloads = ["first kept message", "second, to be damaged", "third kept message"];
    await storeQueued(dir, port, payloads, started, clients);
    await damageStored(`${dir.data}/midge.db`, payloads[1]);

    const second = await BrokerProcess.start(dir.confFile);
    started.push(second);
    const summary = await second.waitForLog(/persistence: .* is damaged/);
    assert.match(
      summary,
      /^.*Error: persistence: .*midge\.db is damaged; lost 1 queued or in-flight message\. /,
    );
    assert.match(
      await second.waitForLog(/client keeper lost/),
      /Error: persistence: client keeper lost 1 queued or in-flight message\.$/,
    );
    assert.match(
      await second.waitForLog(/Restored from/),
      /1 sessions?, 1 subscriptions?, 2 queued/,
    );

    const watcher = await connect(port, { clientId: "watcher" });
    clients.push(watcher.client);
    await subscribe(watcher.client, sub("$SYS/broker/store/damaged/messages", 0));
    const [counter] = await receive(watcher.client, 1, 5000);
    assert.equal(payloadText(counter), "1");

    // The session is there, with what is intact, in order; the damaged message is not sent.
    const back = await connect(port, { clientId: "keeper", clean: false });
    clients.push(back.client);
    assert.equal(back.connack.sessionPresent, true);
    const got = await receive(back.client, 2, 5000);
    assert.deepEqual(got.map(payloadText), [payloads[0], payloads[2]]);
    for (const p of got) {
      await back.client.send({ type: "puback", packetId: p.packetId!, reasonCode: 0 });
    }
    await back.client.expectNothing(300);
  });
});
