/**
 * What the bridge's resilience tests start: a Mosquitto that keeps its state across restarts,
 * a relay whose connections can be cut, subscribers that note numbered messages and come back
 * after their broker does, and `withBridgeScene`, which starts them around one Midge bridge
 * and stops all of them, whatever happens. Every wait is bounded.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { MqttClient } from "../../src/client/mqtt_client.ts";
import type { QoS } from "../../src/codec/mod.ts";
import { type LoggedMidge, startLoggedMidge } from "../fixtures/midge_process.ts";
import { accepts, freePort } from "../fixtures/net.ts";
import { sleep, Subprocess, until } from "../interop/helpers.ts";
import { connectTo } from "./fixtures.ts";

/**
 * Mosquitto as the remote broker, on one port and one state folder across restarts. Its
 * state is saved when it stops (SIGTERM). Killed with SIGKILL it loses what it had
 * acknowledged since its last save, even with `autosave_on_changes` (it acknowledges before it
 * saves), so the tests that need it to keep everything stop it with SIGTERM.
 */
export class Remote {
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
 * A subscriber with a persistent session that connects again whenever its broker goes away,
 * and notes the sequence number of each message, by topic, in arrival order.
 */
export class Collector {
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

/** The first arrival of each number in `list`, in arrival order (later repeats left out). */
export function firstArrivals(list: readonly number[]): number[] {
  const seen = new Set<number>();
  return list.filter((n) => !seen.has(n) && seen.add(n) !== undefined);
}

/**
 * Fail unless `got` equals 0..count-1, saying where it first differs and what came around
 * there (`raw`: every arrival), with `describe()` for the logs.
 */
export async function assertSequence(
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

/** 0..count-1. */
export function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

/** Wait until the collector holds `count` distinct messages on each of `topics`. */
export async function awaitAll(
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
export class Cutter {
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
 * Publish `count` messages numbered from 0 on each of `topics` (at its QoS), all acknowledged,
 * `batch` numbers at a time.
 */
export async function publishNumbered(
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

/** What `withBridgeScene` started, and how to start the rest. */
export interface BridgeScene {
  /** A temporary folder (Mosquitto's state is in it), removed at the end. */
  readonly dir: string;
  /** The remote broker, started. */
  readonly remote: Remote;
  /** The relay in front of the remote broker, with `cut: true`. */
  readonly cutter: Cutter | undefined;
  /** The port Midge listens on. */
  readonly port: number;
  /** The Midge started last; fails if none runs. */
  readonly midge: LoggedMidge;
  /** `conf` of a Midge on `port` bridged as `edge` to the remote (or to the relay). */
  conf(extra: string[], general?: string[]): string;
  /** Start Midge with `conf`; it is killed at the end. */
  startMidge(conf: string): Promise<LoggedMidge>;
  /** Kill Midge (SIGKILL). */
  killMidge(): Promise<void>;
  /** A collector on `port` as `end`, stopped at the end before anything else. */
  collect(port: number, filters: [string, QoS][]): Collector;
  /** Midge's log and the remote's, for a failure message. */
  describe(): Promise<string>;
}

/**
 * Run `fn` with a started remote broker (behind a relay with `cut`) and a folder; whatever
 * happens, every collector, Midge, the relay and the remote are stopped and the folder removed.
 */
export async function withBridgeScene(
  options: { cut?: boolean },
  fn: (scene: BridgeScene) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const remote = new Remote(dir);
  const collectors: Collector[] = [];
  let cutter: Cutter | undefined;
  let midge: LoggedMidge | undefined;
  try {
    await remote.start();
    if (options.cut) cutter = new Cutter(remote.port);
    const port = freePort();
    await fn({
      dir,
      remote,
      cutter,
      port,
      get midge() {
        if (midge === undefined) throw new Error("Midge is not running");
        return midge;
      },
      conf: (extra, general) => bridgeConf(port, cutter?.port ?? remote.port, extra, general),
      async startMidge(conf) {
        midge = await startLoggedMidge(conf);
        return midge;
      },
      async killMidge() {
        await midge?.close();
        midge = undefined;
      },
      collect(port, filters) {
        const collector = new Collector(port, "end", filters);
        collectors.push(collector);
        return collector;
      },
      async describe() {
        return `--- midge ---\n${await midge?.log()}\n--- mosquitto ---\n${await remote.log()}`;
      },
    });
  } finally {
    for (const collector of collectors) await collector.stop();
    await midge?.close();
    await cutter?.close();
    await remote.stop();
    await Deno.remove(dir, { recursive: true });
  }
}
