/**
 * A Midge bridge to Debian's Mosquitto 2.0.11 when things go wrong: the remote broker killed
 * (SIGKILL) mid-stream and started again, several times; the remote down from the start (store
 * and forward, and its bound); Midge itself killed and restarted with persistence, both ways.
 * Every message carries its sequence number: QoS 1 must arrive at least once with the first
 * arrivals in order, QoS 2 exactly once in order.
 */

import assert from "node:assert/strict";
import { MqttClient } from "../../src/client/mqtt_client.ts";
import type { QoS } from "../../src/codec/mod.ts";
import { dial } from "../../src/transport/dial.ts";
import { MOSQUITTO_BROKER } from "../auth/mosquitto_tools.ts";
import { type LoggedMidge, startLoggedMidge } from "../fixtures/midge_process.ts";
import { accepts, freePort } from "../fixtures/net.ts";
import { interopTest, sleep, Subprocess, until } from "../interop/helpers.ts";

/**
 * Mosquitto as the remote broker, on one port and one state folder across restarts. Its
 * state is saved when it stops (SIGTERM). Killed with SIGKILL it loses what it had
 * acknowledged since its last save, even with `autosave_on_changes` (it acknowledges before it
 * saves), so the tests that need it to keep everything stop it with SIGTERM.
 */
class Remote {
  readonly port = freePort();
  #dir: string;
  #process: Subprocess | undefined;

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Start it and wait until it listens. */
  async start(): Promise<void> {
    const conf = `${this.#dir}/mosquitto.conf`;
    await Deno.writeTextFile(
      conf,
      [
        "user root",
        `listener ${this.port} 127.0.0.1`,
        "allow_anonymous true",
        "persistence true",
        `persistence_location ${this.#dir}/`,
        "max_queued_messages 0",
        `log_dest file ${this.#dir}/mosquitto.log`,
        "log_type all",
        "",
      ].join("\n"),
    );
    this.#process = new Subprocess("/usr/sbin/mosquitto", ["-c", conf]);
    const deadline = Date.now() + 5000;
    while (!(await accepts(this.port))) {
      if (this.#process.exited || Date.now() > deadline) {
        throw new Error(`mosquitto did not start\n${this.#process.describe()}`);
      }
      await sleep(10);
    }
  }

  /** Stop it (SIGTERM: it saves its state) and start it again after a moment. */
  async restart(): Promise<void> {
    await this.stop("SIGTERM");
    await sleep(300);
    await this.start();
  }

  /** Stop it, by default as a crash would. */
  async stop(signal: Deno.Signal = "SIGKILL"): Promise<void> {
    await this.#process?.kill(signal);
    this.#process = undefined;
  }

  /** Its log so far. */
  log(): Promise<string> {
    return Deno.readTextFile(`${this.#dir}/mosquitto.log`).catch(() => "(no log)");
  }
}

/**
 * A Midge configuration with one bridge `edge` to `remotePort`, and `extra` lines in its
 * block; `general` lines come before it.
 */
function bridgeConf(
  port: number,
  remotePort: number,
  extra: string[],
  general: string[] = [],
): string {
  return [
    `listener ${port} 127.0.0.1`,
    "allow_anonymous true",
    ...general,
    "connection edge",
    `address 127.0.0.1:${remotePort}`,
    "remote_clientid edge",
    "cleansession false",
    "restart_timeout 1",
    ...extra,
    "",
  ].join("\n");
}

/**
 * A 3.1.1 client, or with `persistent` a 5.0 one whose session outlives it and whose receive
 * maximum is the largest: Mosquitto 2.0.11 may deliver out of order once a client's in-flight
 * window (20 by default for 3.x clients) is full, which these tests must not blame on the bridge.
 */
async function connectTo(port: number, clientId: string, persistent = false): Promise<MqttClient> {
  const socket = await dial({ kind: "tcp", host: "127.0.0.1", port });
  return await MqttClient.connect(socket, {
    protocolVersion: persistent ? 5 : 4,
    clientId,
    clean: !persistent,
    keepAlive: 30,
    properties: persistent
      ? { sessionExpiryInterval: 0xffffffff, receiveMaximum: 65535 }
      : undefined,
  });
}

/**
 * A subscriber with a persistent session that connects again whenever its broker goes away,
 * and notes the sequence number of each message, by topic, in arrival order.
 */
class Collector {
  readonly seen = new Map<string, number[]>();
  /** Whether it has subscribed once. */
  subscribed = false;
  #stopped = false;
  #client: MqttClient | undefined;
  #running: Promise<void>;

  constructor(port: number, clientId: string, filters: [string, QoS][]) {
    this.#running = this.#run(port, clientId, filters);
  }

  /** Sequence numbers received on `topic`, in arrival order. */
  of(topic: string): number[] {
    return this.seen.get(topic) ?? [];
  }

  async #run(port: number, clientId: string, filters: [string, QoS][]): Promise<void> {
    const deadline = Date.now() + 120_000;
    while (!this.#stopped && Date.now() < deadline) {
      try {
        const client = await connectTo(port, clientId, true);
        this.#client = client;
        client.onMessage = (m) => {
          const list = this.seen.get(m.topic) ?? [];
          list.push(Number(new TextDecoder().decode(m.payload)));
          this.seen.set(m.topic, list);
        };
        await client.subscribe(filters.map(([topicFilter, qos]) => ({
          topicFilter,
          qos,
          noLocal: false,
          retainAsPublished: false,
          retainHandling: 0,
        })));
        this.subscribed = true;
        await client.closed;
      } catch {
        // the broker is down: try again
      }
      if (!this.#stopped) await sleep(50);
    }
  }

  /** Disconnect and stop connecting again. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#client?.disconnect().catch(() => {});
    await this.#running;
  }
}

/** Whether `list` holds 0..count-1, each first seen in order (later repeats allowed). */
function firstArrivals(list: readonly number[]): number[] {
  const seen = new Set<number>();
  return list.filter((n) => !seen.has(n) && seen.add(n) !== undefined);
}

/**
 * Fail unless `got` equals 0..count-1, saying where it first differs and what came around
 * there (`raw`: every arrival), with `describe()` for the logs.
 */
async function assertSequence(
  got: readonly number[],
  count: number,
  raw: readonly number[],
  describe: () => Promise<string>,
): Promise<void> {
  const at = range(Math.max(count, got.length)).find((i) => got[i] !== (i < count ? i : undefined));
  if (at === undefined) return;
  const rawAt = raw.indexOf(got[at]);
  throw new assert.AssertionError({
    message: `${got.length} of ${count}, first difference at ${at}: ${got.slice(at - 3, at + 5)}` +
      `; arrivals there: ${raw.slice(Math.max(0, rawAt - 10), rawAt + 10)}\n${await describe()}`,
  });
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

/** Wait until the collector holds `count` distinct messages on each of `topics`. */
async function awaitAll(
  collector: Collector,
  topics: string[],
  count: number,
  describe: () => Promise<string>,
): Promise<void> {
  try {
    await until(
      () => topics.every((t) => new Set(collector.of(t)).size >= count),
      `${count} messages on ${topics.join(", ")}`,
      {
        timeoutMs: 30_000,
        describe: () =>
          topics.map((t) => {
            const got = new Set(collector.of(t));
            const missing = range(count).filter((n) => !got.has(n));
            return `${t}: ${got.size} distinct, missing ${missing.slice(0, 20).join(" ")}`;
          }).join("\n"),
      },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${await describe()}`);
  }
}

/**
 * A TCP relay in front of the remote broker whose connections can be cut at once, as a failed
 * network or a crashed broker would from the bridge's side, while the broker keeps its state.
 */
class Cutter {
  #listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  readonly port = (this.#listener.addr as Deno.NetAddr).port;
  #open = new Set<Deno.Conn>();
  #pipes: Promise<void>[] = [];
  #accepting: Promise<void>;

  constructor(target: number) {
    this.#accepting = this.#accept(target);
  }

  async #accept(target: number): Promise<void> {
    try {
      for await (const inbound of this.#listener) {
        const outbound = await Deno.connect({ hostname: "127.0.0.1", port: target }).catch(
          () => undefined,
        );
        if (outbound === undefined) {
          inbound.close();
          continue;
        }
        this.#open.add(inbound).add(outbound);
        this.#pipes.push(this.#pipe(inbound, outbound), this.#pipe(outbound, inbound));
      }
    } catch {
      // the listener was closed
    }
  }

  async #pipe(from: Deno.Conn, to: Deno.Conn): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (let n = await from.read(buf); n !== null; n = await from.read(buf)) {
        for (let off = 0; off < n;) off += await to.write(buf.subarray(off, n));
      }
    } catch {
      // cut
    } finally {
      this.#drop(from);
      this.#drop(to);
    }
  }

  #drop(conn: Deno.Conn): void {
    if (!this.#open.delete(conn)) return;
    try {
      conn.close();
    } catch {
      // closed already
    }
  }

  /** Close every connection through it, without a word to either side. */
  cut(): void {
    for (const conn of [...this.#open]) this.#drop(conn);
  }

  /** Cut, stop listening and wait for its tasks. */
  async close(): Promise<void> {
    this.#listener.close();
    await this.#accepting;
    this.cut();
    await Promise.all(this.#pipes);
  }
}

/**
 * Stream QoS 1 and 2 messages through Midge's bridge to a Mosquitto subscriber while
 * the link is broken three times (`cut` by a relay in front of Mosquitto, or Mosquitto
 * `restart`ed: stopped with SIGTERM, so it saves its state, and started again), each time while it is up with messages in flight;
 * then check every message arrived, QoS 1 at least once with first arrivals in order, QoS 2
 * exactly once in order, and that the bridge linked again after each break.
 */
async function streamThroughBreaks(how: "cut" | "restart"): Promise<void> {
  const dir = await Deno.makeTempDir();
  const remote = new Remote(dir);
  await remote.start();
  const cutter = how === "cut" ? new Cutter(remote.port) : undefined;
  const port = freePort();
  let midge: LoggedMidge | undefined;
  const collector = new Collector(remote.port, "end", [["q1/#", 1], ["q2/#", 2]]);
  try {
    midge = await startLoggedMidge(
      bridgeConf(port, cutter?.port ?? remote.port, ["topic q1/# out 1", "topic q2/# out 2"]),
    );
    const m = midge;
    await until(() => collector.subscribed, "the subscriber on the remote broker");
    const describe = async () =>
      `--- midge ---\n${await m.log()}\n--- mosquitto ---\n${await remote.log()}`;
    const links = async () => ((await m.log()).match(/Bridge edge connected to/g) ?? []).length;
    const publisher = await connectTo(port, "source");
    let breaking = true;
    let count = 0;
    const sent: Promise<void>[] = [];
    const publishing = (async () => {
      for (; breaking && count < 100_000; count++) {
        const payload = new TextEncoder().encode(String(count));
        sent.push(publisher.publish("q1/s", payload, { qos: 1 }));
        sent.push(publisher.publish("q2/s", payload, { qos: 2 }));
        if (count % 2 === 1) await sleep(10);
      }
      await Promise.all(sent);
    })();
    for (let link = 1; link <= 3; link++) {
      for (let i = 0; i < 300 && (await links()) < link; i++) await sleep(50);
      assert.equal(await links(), link, await describe());
      await sleep(400);
      if (cutter !== undefined) cutter.cut();
      else await remote.restart();
    }
    breaking = false;
    await publishing;
    await publisher.disconnect();
    await awaitAll(collector, ["q1/s", "q2/s"], count, describe);
    await sleep(500); // late duplicates, if any
    assert.ok(count > 100, `only ${count} messages were sent`);
    const q1 = collector.of("q1/s");
    await assertSequence(firstArrivals(q1), count, q1, describe);
    await assertSequence(collector.of("q2/s"), count, collector.of("q2/s"), describe);
    for (let i = 0; i < 300 && (await links()) < 4; i++) await sleep(50);
    assert.equal(await links(), 4, await describe());
  } finally {
    await collector.stop();
    await midge?.close();
    await cutter?.close();
    await remote.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

interopTest({
  name: "bridge: the link to Mosquitto cut mid-stream three times, QoS 1 at least once in " +
    "order, QoS 2 exactly once",
  needs: [MOSQUITTO_BROKER],
  fn: () => streamThroughBreaks("cut"),
});

interopTest({
  name: "bridge: Mosquitto stopped and restarted mid-stream three times, QoS 1 at least once " +
    "in order, QoS 2 exactly once",
  needs: [MOSQUITTO_BROKER],
  fn: () => streamThroughBreaks("restart"),
});

/**
 * Publish `count` messages numbered from 0 on each of `topics` (at its QoS), all acknowledged,
 * `batch` numbers at a time.
 */
async function publishNumbered(
  port: number,
  topics: [string, QoS][],
  count: number,
  batch = 500,
): Promise<void> {
  const publisher = await connectTo(port, "source");
  try {
    for (let start = 0; start < count; start += batch) {
      const acks: Promise<void>[] = [];
      for (let i = start; i < Math.min(count, start + batch); i++) {
        const payload = new TextEncoder().encode(String(i));
        for (const [topic, qos] of topics) acks.push(publisher.publish(topic, payload, { qos }));
      }
      await Promise.all(acks);
    }
  } finally {
    await publisher.disconnect();
  }
}

/**
 * A remote broker whose subscriber `end` has a persistent session there, stopped: it gets
 * what the bridge sends once started again.
 */
async function remoteWithSubscriber(
  dir: string,
  filters: [string, QoS][],
): Promise<{ remote: Remote; collector: Collector }> {
  const remote = new Remote(dir);
  await remote.start();
  const collector = new Collector(remote.port, "end", filters);
  await until(() => collector.subscribed, "the subscriber on the remote broker");
  await remote.stop("SIGTERM");
  return { remote, collector };
}

interopTest({
  name: "bridge: store and forward, 20000 QoS 1 messages published while the remote is down " +
    "arrive in order once it is up",
  needs: [MOSQUITTO_BROKER],
  async fn() {
    const dir = await Deno.makeTempDir();
    const { remote, collector } = await remoteWithSubscriber(dir, [["q1/#", 1]]);
    const port = freePort();
    const count = 20_000;
    let midge: LoggedMidge | undefined;
    try {
      midge = await startLoggedMidge(bridgeConf(port, remote.port, ["topic q1/# out 1"]));
      const m = midge;
      await publishNumbered(port, [["q1/s", 1]], count);
      const started = Date.now();
      await remote.start();
      await awaitAll(collector, ["q1/s"], count, async () => `--- midge ---\n${await m.log()}`);
      console.log(`${count} queued QoS 1 messages delivered in ${Date.now() - started} ms`);
      assert.deepEqual(firstArrivals(collector.of("q1/s")), range(count));
    } finally {
      await collector.stop();
      await midge?.close();
      await remote.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

interopTest({
  name: "bridge: bridge_max_queued_messages 100 keeps the first 100 while the remote is down " +
    "and counts the rest as dropped",
  needs: [MOSQUITTO_BROKER],
  async fn() {
    const dir = await Deno.makeTempDir();
    const { remote, collector } = await remoteWithSubscriber(dir, [["q1/#", 1]]);
    const port = freePort();
    const http = freePort();
    let midge: LoggedMidge | undefined;
    try {
      midge = await startLoggedMidge(
        bridgeConf(port, remote.port, ["topic q1/# out 1", "bridge_max_queued_messages 100"], [
          `listener ${http} 127.0.0.1`,
          "protocol http",
          "http_open true",
        ]),
      );
      const m = midge;
      await publishNumbered(port, [["q1/s", 1]], 1000);
      const bridges = async () =>
        (await (await fetch(`http://127.0.0.1:${http}/api/v1/bridges`)).json()).bridges;
      const [before] = await bridges();
      assert.equal(before.queued, 100);
      assert.equal(before.dropped, 900);
      await remote.start();
      await awaitAll(collector, ["q1/s"], 100, async () => `--- midge ---\n${await m.log()}`);
      await sleep(1000); // nothing more may come
      assert.deepEqual(firstArrivals(collector.of("q1/s")), range(100));
      const [after] = await bridges();
      assert.equal(after.queued, 0);
      assert.equal(after.dropped, 900);
      assert.match(await m.log(), /Outgoing messages are being dropped for client local\.edge\./);
    } finally {
      await collector.stop();
      await midge?.close();
      await remote.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

interopTest({
  name: "bridge: Midge killed with SIGKILL and restarted with persistence delivers what it had " +
    "queued for the remote, in order, QoS 2 exactly once",
  needs: [MOSQUITTO_BROKER],
  async fn() {
    const dir = await Deno.makeTempDir();
    const { remote, collector } = await remoteWithSubscriber(dir, [["q1/#", 1], ["q2/#", 2]]);
    const port = freePort();
    const count = 500;
    const conf = bridgeConf(port, remote.port, ["topic q1/# out 1", "topic q2/# out 2"], [
      "persistence true",
      `persistence_location ${dir}/midge/`,
    ]);
    await Deno.mkdir(`${dir}/midge`);
    let midge: LoggedMidge | undefined;
    try {
      midge = await startLoggedMidge(conf);
      await publishNumbered(port, [["q1/s", 1], ["q2/s", 2]], count);
      await midge.close(); // SIGKILL
      midge = await startLoggedMidge(conf);
      const m = midge;
      await remote.start();
      await awaitAll(
        collector,
        ["q1/s", "q2/s"],
        count,
        async () => `--- midge ---\n${await m.log()}`,
      );
      await sleep(500); // late duplicates, if any
      assert.deepEqual(firstArrivals(collector.of("q1/s")), range(count));
      assert.deepEqual(collector.of("q2/s"), range(count));
    } finally {
      await collector.stop();
      await midge?.close();
      await remote.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

interopTest({
  name: "bridge: what the remote keeps for the bridge while Midge is down (cleansession false) " +
    "reaches Midge after a SIGKILL and restart, in order, QoS 2 exactly once",
  needs: [MOSQUITTO_BROKER],
  async fn() {
    const dir = await Deno.makeTempDir();
    const remote = new Remote(dir);
    await remote.start();
    const port = freePort();
    const count = 500;
    const conf = bridgeConf(port, remote.port, ["topic q1/# in 1", "topic q2/# in 2"], [
      "persistence true",
      `persistence_location ${dir}/midge/`,
    ]);
    await Deno.mkdir(`${dir}/midge`);
    let midge: LoggedMidge | undefined = await startLoggedMidge(conf);
    const collector = new Collector(port, "end", [["q1/#", 1], ["q2/#", 2]]);
    try {
      await until(() => collector.subscribed, "the subscriber on Midge");
      for (let i = 0; i < 200 && !(await remote.log()).includes("edge 2 q2/#"); i++) {
        await sleep(50);
      }
      assert.match(await remote.log(), /edge 2 q2\/#/);
      await sleep(500); // the subscriber's session is in Midge's store
      await midge.close(); // SIGKILL
      midge = undefined;
      // Mosquitto takes 20 unreleased QoS 2 messages from a client at a time.
      await publishNumbered(remote.port, [["q1/s", 1], ["q2/s", 2]], count, 10);
      midge = await startLoggedMidge(conf);
      const m = midge;
      await awaitAll(
        collector,
        ["q1/s", "q2/s"],
        count,
        async () => `--- midge ---\n${await m.log()}\n--- mosquitto ---\n${await remote.log()}`,
      );
      await sleep(500); // late duplicates, if any
      assert.deepEqual(firstArrivals(collector.of("q1/s")), range(count));
      assert.deepEqual(collector.of("q2/s"), range(count));
    } finally {
      await collector.stop();
      await midge?.close();
      await remote.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** How many times `pattern` occurs in `text`. */
function occurrences(text: string, pattern: RegExp): number {
  return (text.match(new RegExp(pattern.source, "g")) ?? []).length;
}

/** Poll `midge`'s log until `pattern` occurs `times` times (at most `timeoutMs`). */
async function awaitLog(
  midge: LoggedMidge,
  pattern: RegExp,
  times = 1,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (occurrences(await midge.log(), pattern) < times) {
    if (Date.now() > deadline) {
      throw new Error(`no ${times} × ${pattern} in the log:\n${await midge.log()}`);
    }
    await sleep(50);
  }
}

const CONNECTING = /Connecting bridge edge/;
const CONNECTED = /Bridge edge connected to/;

interopTest({
  name: "bridge: start_type once does not connect again after the link drops",
  needs: [MOSQUITTO_BROKER],
  async fn() {
    const dir = await Deno.makeTempDir();
    const remote = new Remote(dir);
    await remote.start();
    const cutter = new Cutter(remote.port);
    let midge: LoggedMidge | undefined;
    try {
      midge = await startLoggedMidge(
        bridgeConf(freePort(), cutter.port, ["start_type once", "topic q1/# out 1"]),
      );
      await awaitLog(midge, CONNECTED);
      cutter.cut();
      await awaitLog(midge, /Bridge edge: start_type once, not connecting again\./);
      await sleep(2500); // restart_timeout is 1 s
      assert.equal(occurrences(await midge.log(), CONNECTING), 1);
    } finally {
      await midge?.close();
      await cutter.close();
      await remote.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

interopTest({
  name: "bridge: start_type lazy connects when threshold messages wait and disconnects after " +
    "idle_timeout",
  needs: [MOSQUITTO_BROKER],
  async fn() {
    const dir = await Deno.makeTempDir();
    const remote = new Remote(dir);
    await remote.start();
    const collector = new Collector(remote.port, "end", [["q1/#", 1]]);
    const port = freePort();
    let midge: LoggedMidge | undefined;
    try {
      await until(() => collector.subscribed, "the subscriber on the remote broker");
      midge = await startLoggedMidge(bridgeConf(port, remote.port, [
        "start_type lazy",
        "threshold 5",
        "idle_timeout 2",
        "topic q1/# out 1",
      ]));
      const m = midge;
      await publishNumbered(port, [["q1/s", 1]], 4);
      await sleep(2000); // the bridge looks at its queue every second
      assert.equal(occurrences(await m.log(), CONNECTING), 0, await m.log());
      const fifth = await connectTo(port, "fifth");
      await fifth.publish("q1/s", new TextEncoder().encode("4"), { qos: 1 });
      await fifth.disconnect();
      await awaitLog(m, CONNECTED);
      await awaitAll(collector, ["q1/s"], 5, () => m.log());
      assert.deepEqual(collector.of("q1/s"), range(5));
      const linked = Date.now();
      await awaitLog(m, /Bridge edge: link to \S+ ended: no message for idle_timeout \(2 s\)\./);
      const idle = Date.now() - linked;
      assert.ok(idle >= 1500 && idle < 5000, `closed after ${idle} ms idle`);
    } finally {
      await collector.stop();
      await midge?.close();
      await remote.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

interopTest({
  name: "bridge: start_type automatic with a constant restart_timeout tries again at that pace",
  needs: [MOSQUITTO_BROKER],
  async fn() {
    const dir = await Deno.makeTempDir();
    const remote = new Remote(dir);
    await remote.start();
    let midge: LoggedMidge | undefined;
    try {
      midge = await startLoggedMidge(
        bridgeConf(freePort(), remote.port, ["topic q1/# out 1"]).replace(
          "restart_timeout 1",
          "restart_timeout 2",
        ),
      );
      await awaitLog(midge, CONNECTED);
      await remote.stop("SIGTERM");
      await awaitLog(midge, /Bridge edge: link to \S+ ended/);
      const down = Date.now();
      await sleep(7000);
      // Attempts at 2, 4 and 6 s (each refused at once); backoff would have made fewer.
      const attempts = occurrences(await midge.log(), CONNECTING) - 1;
      assert.ok(attempts >= 3 && attempts <= 4, `${attempts} attempts in 7 s`);
      await remote.start();
      await awaitLog(midge, CONNECTED, 2, 5000);
      assert.ok(Date.now() - down < 12_000);
    } finally {
      await midge?.close();
      await remote.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
