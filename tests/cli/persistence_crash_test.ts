/**
 * Crash tests of persistence over real broker processes: publishers keep messages flowing
 * while the broker is killed with SIGKILL at seeded random moments and started again on the
 * same port and persistence directory; then persistent subscribers collect what was kept.
 *
 * What must hold (README, Persistence): a message is acknowledged (PUBACK, PUBREC) only once it
 * is stored for every persistent subscriber, so nothing acknowledged is lost by a kill; QoS 1
 * may come twice, QoS 2 exactly once; first deliveries keep the publish order; a retained
 * topic keeps its last acknowledged value, or a later one sent before a kill.
 *
 * The seed is printed with each result; set MIDGE_CRASH_SEED to replay one.
 */

import assert from "node:assert/strict";
import { connect, delay, type RawClient } from "../integration/harness.ts";
import {
  expectAck,
  payloadText,
  pub,
  publishAcked,
  receive,
  sub,
  subscribe,
  utf8,
} from "../integration/pubsub_helpers.ts";
import { freePort } from "../fixtures/net.ts";
import { SeededRandom } from "../fixtures/random.ts";
import {
  BrokerProcess,
  persistenceConf,
  type PersistenceDir,
  persistenceDir,
} from "./persistence_broker.ts";
import { Publisher, type Received, Receiver } from "./persistence_clients.ts";

const SEED = Number(Deno.env.get("MIDGE_CRASH_SEED") ?? 0x5eed_2026);

/** A broker started, killed and started again over one directory and port. */
class Crashing {
  readonly dir: PersistenceDir;
  readonly port: number;
  broker: BrokerProcess | undefined;
  /** The "Restored from" line of each start. */
  readonly restored: string[] = [];
  /** Milliseconds each start took until the broker was running. */
  readonly startMs: number[] = [];

  constructor(dir: PersistenceDir, port: number) {
    this.dir = dir;
    this.port = port;
  }

  static async create(): Promise<Crashing> {
    const dir = await persistenceDir();
    const port = freePort();
    await Deno.writeTextFile(dir.confFile, persistenceConf({ port, location: dir.data }));
    return new Crashing(dir, port);
  }

  async start(): Promise<void> {
    const t0 = Date.now();
    this.broker = await BrokerProcess.start(this.dir.confFile);
    this.startMs.push(Date.now() - t0);
    this.restored.push(await this.broker.waitForLog(/Restored from /));
  }

  /** SIGKILL the broker; fails if it had already ended by itself. */
  async kill(): Promise<void> {
    const broker = this.broker!;
    if (broker.exited) throw new Error(`the broker ended by itself; its log:\n${broker.log}`);
    const status = await broker.kill();
    assert.equal(status.signal, "SIGKILL", `the broker ended otherwise; its log:\n${broker.log}`);
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  /** Kill whatever runs and remove the directory. */
  async dispose(): Promise<void> {
    await this.broker?.kill();
    await this.dir.remove();
  }
}

/** When the broker is killed: this long after publishing resumed, or at this many sent. */
interface Kill {
  afterMs: number;
  atSent: number;
}

/**
 * `count` kills, each after 20-300 ms of publishing, or earlier once the publisher has sent its
 * share (spread over 10-90% of `total`): so every kill comes while messages flow, on a fast
 * machine (where a share takes less than that) and on a slow one.
 */
function planKills(rng: SeededRandom, count: number, total: number): Kill[] {
  const kills: Kill[] = [];
  for (let i = 0; i < count; i++) {
    const from = 0.1 + 0.8 * i / count;
    const to = 0.1 + 0.8 * (i + 1) / count;
    const share = from + (to - from) * (0.25 + 0.5 * rng.next());
    kills.push({ afterMs: rng.between(20, 300), atSent: Math.floor(total * share) });
  }
  return kills;
}

/**
 * Run `publishers` until all are done, killing the broker as `kills` say and starting it again
 * after each kill; `progress` is what `Kill.atSent` is compared with. Returns the kills made,
 * each as "sent after ms".
 */
async function publishThroughKills(
  run: Crashing,
  publishers: Publisher[],
  options: { kills: Kill[]; progress: () => number; deadline: number },
): Promise<string[]> {
  const made: string[] = [];
  for (let round = 0; round <= options.kills.length; round++) {
    if (publishers.every((p) => p.done)) break;
    const kill = options.kills[made.length];
    const resumed = Date.now();
    let settled = false;
    let killed = false;
    const killer = (async () => {
      if (kill === undefined) return;
      while (!settled) {
        if (Date.now() - resumed >= kill.afterMs || options.progress() >= kill.atSent) {
          killed = true;
          made.push(`${options.progress()}@${Date.now() - resumed}ms`);
          await run.kill();
          return;
        }
        await delay(5);
      }
    })();
    let ends: ("done" | "lost")[];
    try {
      ends = await Promise.all(publishers.map((p) => p.run(run.port, options.deadline)));
    } finally {
      settled = true;
      await killer;
    }
    if (killed) {
      await run.start();
      continue;
    }
    if (ends.includes("lost")) {
      throw new Error(
        `a connection was lost without a kill; the broker's log:\n${run.broker?.log}`,
      );
    }
  }
  assert.ok(publishers.every((p) => p.done), "publishing did not finish");
  return made;
}

/** Sequence numbers whose first delivery came out of order (must be none). */
function firstOrderBreaks(seqs: number[]): string[] {
  const seen = new Set<number>();
  const breaks: string[] = [];
  let last = -1;
  for (const [i, seq] of seqs.entries()) {
    if (seen.has(seq)) continue;
    seen.add(seq);
    if (seq <= last) breaks.push(`#${i}: ${seq} after ${last}`);
    last = seq;
  }
  return breaks;
}

/** Acknowledged messages never delivered (must be none). */
function lost(acked: Uint8Array, seqs: number[]): number[] {
  const seen = new Set(seqs);
  const missing: number[] = [];
  for (let seq = 0; seq < acked.length; seq++) {
    if (acked[seq] === 1 && !seen.has(seq)) missing.push(seq);
  }
  return missing;
}

/**
 * Connect `receiver` (clean session 0: its session must be present), take messages, and kill
 * the broker once `killAt` messages were delivered; then restart it, connect again and take
 * the rest until `complete()` holds and nothing more comes for a while (or the deadline).
 */
async function collectThroughKill(
  run: Crashing,
  receiver: Receiver,
  options: { killAt: number; complete: () => boolean; deadline: number },
): Promise<{ kills: number }> {
  let kills = 0;
  for (let attempt = 0; attempt < 2; attempt++) {
    const { client, sessionPresent } = await receiver.connect(run.port);
    try {
      assert.equal(sessionPresent, true, `${receiver.clientId}: session present`);
      const killing = attempt === 0;
      const end = await receiver.receive(client, {
        quietMs: 500,
        deadline: options.deadline,
        stop: killing ? () => receiver.received.length >= options.killAt : undefined,
        complete: options.complete,
      });
      if (!killing) {
        // At "deadline" the caller's checks say what is missing.
        assert.notEqual(end, "lost", `${receiver.clientId}: lost the connection`);
        return { kills };
      }
      assert.notEqual(end, "lost", `${receiver.clientId}: lost the connection`);
      if (end === "stopped") {
        // The broker still sends: the kill comes with messages and acknowledgements in flight.
        const draining = receiver.receive(client, { quietMs: 5000, deadline: options.deadline });
        await delay(5);
        await run.kill();
        assert.equal(await draining, "lost");
        kills++;
      }
    } finally {
      await client.close();
    }
    if (kills > 0) await run.start();
  }
  return { kills };
}

Deno.test("kill -9 five times while 10,000 QoS 1 and 300 retained messages are published, once while collected: every acknowledged message reaches the persistent subscriber, first deliveries in order, every retained topic keeps an allowed value", async () => {
  const rng = new SeededRandom(SEED);
  const started = Date.now();
  const deadline = started + 30_000;
  const run = await Crashing.create();
  try {
    await run.start();
    const subscriber = new Receiver("crash-sub-q1");
    await subscriber.subscribe(run.port, "crash/q1", 1);

    const TOTAL = 10_000;
    const KILLS = 5;
    const TOPICS = 50;
    const RETAINED = TOPICS * 6;
    const publisher = new Publisher({
      clientId: "crash-pub-q1",
      qos: 1,
      total: TOTAL,
      window: 100,
      persistent: true,
      route: () => ({ topic: "crash/q1", retain: false }),
    });
    // Value v of topic t is message v * TOPICS + t; sent along with the first 90% of the
    // QoS 1 stream, by a clean-session client that gives up what is in flight at a kill.
    const retainer = new Publisher({
      clientId: "crash-pub-retained",
      qos: 1,
      total: RETAINED,
      window: 10,
      persistent: false,
      route: (seq) => ({ topic: `crash/retained/${seq % TOPICS}`, retain: true }),
      allowed: () => Math.floor(publisher.sent * RETAINED / (TOTAL * 0.9)) + 1,
    });
    const kills = await publishThroughKills(run, [publisher, retainer], {
      kills: planKills(rng, KILLS, TOTAL),
      progress: () => publisher.sent,
      deadline,
    });
    assert.equal(kills.length, KILLS, `kills while publishing: ${kills.join(", ")}`);
    const publishedMs = Date.now() - started;

    await run.restart();
    // The subscriber's and the QoS 1 publisher's sessions (the other publisher's is clean).
    const restored = run.restored.at(-1)!.match(
      /: 2 sessions, 1 subscriptions?, (\d+) queued or in-flight messages, 50 retained messages\.$/,
    );
    assert.ok(restored !== null, run.restored.at(-1)!);
    assert.ok(Number(restored[1]) >= TOTAL, run.restored.at(-1)!);
    const killAt = rng.between(1000, TOTAL - 1000);
    const collect = await collectThroughKill(run, subscriber, {
      killAt,
      complete: () => lost(publisher.acked, subscriber.deliveries()).length === 0,
      deadline,
    });

    const seqs = subscriber.deliveries();
    assert.deepEqual(seqs.filter((s) => s >= TOTAL), [], "numbers never published");
    assert.deepEqual(lost(publisher.acked, seqs), [], "acknowledged and lost");
    assert.deepEqual(firstOrderBreaks(seqs), [], "first deliveries out of order");
    const distinct = new Set(seqs).size;

    // A fresh subscriber gets each topic's retained value. Allowed: the last one acknowledged,
    // or a later one that was in flight at a kill and given up (the broker may have stored it
    // before it died), and nothing else. Once a value is acknowledged no earlier one may win.
    const fresh = new Receiver("crash-fresh");
    const { client } = await fresh.connect(run.port, true);
    try {
      await fresh.subscribeOn(client, "#", 1);
      await fresh.receive(client, {
        quietMs: 300,
        complete: () => fresh.received.length >= TOPICS,
        deadline,
      });
    } finally {
      await client.close();
    }
    const byTopic = new Map<string, Received>();
    for (const r of fresh.received) {
      assert.equal(r.retain, true, `${r.topic}: retain flag`);
      assert.ok(!byTopic.has(r.topic), `${r.topic} came twice`);
      byTopic.set(r.topic, r);
    }
    let unacknowledgedWinners = 0;
    const wrong: string[] = [];
    for (let t = 0; t < TOPICS; t++) {
      const topic = `crash/retained/${t}`;
      let lastAcked = -1;
      for (let seq = t; seq < RETAINED; seq += TOPICS) {
        if (retainer.acked[seq] === 1) lastAcked = seq;
      }
      const got = byTopic.get(topic)?.seq;
      byTopic.delete(topic);
      if (got === lastAcked || (got === undefined && lastAcked === -1)) continue;
      if (got !== undefined && got > lastAcked && retainer.abandoned.has(got)) {
        unacknowledgedWinners++;
        continue;
      }
      wrong.push(`${topic}: ${got ?? "nothing"}, last acknowledged ${lastAcked}`);
    }
    assert.deepEqual(wrong, [], "retained values not allowed");
    assert.deepEqual([...byTopic.keys()], [], "retained topics never published");

    console.log(
      `QoS 1 (seed ${SEED}): kills at sent@ms-since-restart ${kills.join(", ")}, 1 after ` +
        `publishing, ${collect.kills} while collecting; ${publisher.connections} publisher connections, ` +
        `${publisher.resent.publish} PUBLISH resent with DUP; ${seqs.length} deliveries of ` +
        `${distinct} messages (${TOTAL} acknowledged): ${seqs.length - distinct} duplicates. ` +
        `Retained: ${retainer.abandoned.size} of ${RETAINED} given up at kills, ` +
        `${unacknowledgedWinners} topics kept an unacknowledged value. Publishing took ` +
        `${publishedMs} ms, all ${Date.now() - started} ms; broker starts ${
          run.startMs.join("/")
        } ms.`,
    );
  } finally {
    await run.dispose();
  }
});

Deno.test("kill -9 eight times while 2,000 QoS 2 messages are published, once while collected: the persistent subscriber gets every one exactly once, in order", async () => {
  const rng = new SeededRandom(SEED + 2);
  const started = Date.now();
  const deadline = started + 20_000;
  const run = await Crashing.create();
  try {
    await run.start();
    const subscriber = new Receiver("crash-sub-q2");
    await subscriber.subscribe(run.port, "crash/q2", 2);
    const TOTAL = 2000;
    // More kills than the QoS 1 run: a duplicate comes only from a kill in the moment between
    // storing a batch and its PUBRECs reaching the publisher.
    const KILLS = 8;
    const publisher = new Publisher({
      clientId: "crash-pub-q2",
      qos: 2,
      total: TOTAL,
      window: 50,
      persistent: true,
      route: () => ({ topic: "crash/q2", retain: false }),
    });
    const kills = await publishThroughKills(run, [publisher], {
      kills: planKills(rng, KILLS, TOTAL),
      progress: () => publisher.sent,
      deadline,
    });
    assert.equal(kills.length, KILLS, `kills while publishing: ${kills.join(", ")}`);
    assert.equal(publisher.completedCount, TOTAL);

    await run.restart();
    const killAt = rng.between(200, TOTAL - 200);
    const collect = await collectThroughKill(run, subscriber, {
      killAt,
      complete: () =>
        subscriber.awaitingRelease.size === 0 &&
        new Set(subscriber.deliveries()).size === TOTAL,
      deadline,
    });

    const seqs = subscriber.deliveries();
    const counts = new Map<number, number>();
    for (const s of seqs) counts.set(s, (counts.get(s) ?? 0) + 1);
    const twice = [...counts].filter(([, n]) => n > 1).map(([s, n]) => `${s} x${n}`);
    assert.deepEqual(twice, [], "delivered more than once");
    assert.deepEqual(lost(publisher.acked, seqs), [], "acknowledged and lost");
    assert.equal(seqs.length, TOTAL);
    assert.deepEqual(firstOrderBreaks(seqs), [], "deliveries out of order");
    assert.equal(subscriber.awaitingRelease.size, 0, "PUBREL never came for some packet ids");
    const resends = subscriber.received.filter((r) => !r.delivered).length;

    console.log(
      `QoS 2 (seed ${SEED + 2}): kills at sent@ms-since-restart ${kills.join(", ")}, 1 after ` +
        `publishing, ${collect.kills} while collecting; publisher resent ${publisher.resent.publish} PUBLISH and ` +
        `${publisher.resent.pubrel} PUBREL; subscriber got ${TOTAL} messages exactly once, ` +
        `${resends} PUBLISH again before their PUBREL, ${subscriber.releases} PUBREL. ` +
        `${Date.now() - started} ms.`,
    );
  } finally {
    await run.dispose();
  }
});

Deno.test("kill -9 with messages in flight to a persistent subscriber: after the restart they come again with DUP and their packet ids, and PUBREL for the one released [MQTT-4.4.0-1]", async () => {
  const run = await Crashing.create();
  const clients: RawClient[] = [];
  const open = async (clientId: string, clean: boolean) => {
    const opened = await connect(run.port, { clientId, clean });
    clients.push(opened.client);
    return opened;
  };
  try {
    await run.start();
    const first = await open("inflight-sub", false);
    await subscribe(first.client, sub("inflight/#", 2));
    await first.client.send({ type: "disconnect", reasonCode: 0 });
    // Queued while the subscriber is away: zero (QoS 1), one (1), two (2), three (2).
    const publisher = await open("inflight-pub", true);
    const publish = (payload: string, qos: 1 | 2, packetId: number) =>
      publishAcked(publisher.client, pub("inflight/t", payload, { qos, packetId }));
    await publish("zero", 1, 1);
    await publish("one", 1, 2);
    await publish("two", 2, 3);
    await publish("three", 2, 4);
    const before = await open("inflight-sub", false);
    assert.equal(before.connack.sessionPresent, true);
    const [zero, one, two, three] = await receive(before.client, 4);
    assert.deepEqual([zero, one, two, three].map(payloadText), ["zero", "one", "two", "three"]);
    assert.deepEqual([zero, one, two, three].map((p) => p.qos), [1, 1, 2, 2]);
    // Zero is acknowledged; one and two are not; three is PUBREC'd and its PUBREL left without
    // PUBCOMP. Four comes while the subscriber is connected and is not acknowledged.
    await before.client.send({ type: "puback", packetId: zero.packetId!, reasonCode: 0 });
    await before.client.send({ type: "pubrec", packetId: three.packetId!, reasonCode: 0 });
    const release = await expectAck(before.client, "pubrel");
    assert.equal(release.packetId, three.packetId);
    await publish("four", 1, 5);
    const [four] = await receive(before.client, 1);
    assert.equal(payloadText(four), "four");

    await run.restart();
    const after = await open("inflight-sub", false);
    assert.equal(after.connack.sessionPresent, true);
    const again: string[] = [];
    for (let i = 0; i < 4; i++) {
      const p = await after.client.next(5000);
      again.push(
        p.type === "publish"
          ? `publish ${payloadText(p)} id ${p.packetId} qos ${p.qos} dup ${p.dup}`
          : p.type === "pubrel"
          ? `pubrel id ${p.packetId}`
          : JSON.stringify(p),
      );
    }
    assert.deepEqual(again, [
      `publish one id ${one.packetId} qos 1 dup true`,
      `publish two id ${two.packetId} qos 2 dup true`,
      `pubrel id ${three.packetId}`,
      `publish four id ${four.packetId} qos 1 dup true`,
    ]);
    await after.client.expectNothing(300);
  } finally {
    for (const c of clients) await c.close();
    await run.dispose();
  }
});

Deno.test("kill -9: the will of a persistent client connected at the kill is published after the restart", async () => {
  const run = await Crashing.create();
  const clients: RawClient[] = [];
  try {
    await run.start();
    const mortal = await connect(run.port, {
      clientId: "will-holder",
      clean: false,
      will: { topic: "wills/holder", payload: utf8("gone"), qos: 1, retain: true },
    });
    clients.push(mortal.client);
    assert.equal(mortal.connack.reasonCode, 0);
    await run.restart();
    const watcher = await connect(run.port, { clientId: "will-watcher" });
    clients.push(watcher.client);
    await subscribe(watcher.client, sub("wills/#", 1));
    const [will] = await receive(watcher.client, 1, 5000);
    assert.equal(will.topic, "wills/holder");
    assert.equal(payloadText(will), "gone");
    assert.equal(will.retain, true);
  } finally {
    for (const c of clients) await c.close();
    await run.dispose();
  }
});
