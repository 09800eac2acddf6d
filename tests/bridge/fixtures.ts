/**
 * What the bridge tests start: a Mosquitto or a Midge process with a configuration of the
 * test's on a free port of 127.0.0.1, subscribers that collect what they receive
 * (mosquitto_sub) and a publisher (mosquitto_pub); `scene`, which stops all of it when a test
 * ends; `connection` blocks; the bridges' figures from Midge's JSON API. Every wait is bounded.
 *
 * @module
 */

import { MqttClient } from "../../src/client/mqtt_client.ts";
import type { BridgeJson } from "../../src/http/api.ts";
import { dial } from "../../src/transport/dial.ts";
import { MOSQUITTO_BROKER, runCommand } from "../auth/mosquitto_tools.ts";
import { startLoggedMidge } from "../fixtures/midge_process.ts";
import { accepts, awaitOrKill, freePort } from "../fixtures/net.ts";
import {
  interopTest,
  MOSQUITTO_CLIENTS,
  type Peer,
  sleep,
  Subprocess,
  until,
} from "../interop/helpers.ts";

/** The peers every bridge test needs: Mosquitto and its command-line clients. */
export const BRIDGE_PEERS: Peer[] = [MOSQUITTO_BROKER, MOSQUITTO_CLIENTS];

/** A broker process under test. */
export interface BrokerProcess {
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** What it has logged so far. */
  log(): Promise<string>;
  /** Wait (at most `timeoutMs`, default 10 s) until its log matches `pattern`. */
  logged(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Stop it (SIGTERM), wait for it and remove its folder. */
  stop(): Promise<void>;
  /** End it with `signal` (default SIGKILL) and wait for it; its folder stays. */
  kill(signal?: Deno.Signal): Promise<void>;
}

/** A Mosquitto started by `startMosquitto`. */
export interface MosquittoProcess extends BrokerProcess {
  /** Start it again, with the same configuration and port, after `kill`. */
  restart(): Promise<void>;
}

/** Options of `startMosquitto`. */
export interface MosquittoOptions {
  /** The port to listen on (default: a free one). */
  port?: number;
  /** The address to listen on (default 127.0.0.1). */
  address?: string;
}

/**
 * /usr/sbin/mosquitto with `listener PORT ADDRESS`, then `confLines` (`allow_anonymous true`
 * unless they say otherwise), logging everything to a file; resolves once it accepts
 * connections. `user root` keeps a broker started as root able to read the test's files.
 */
export async function startMosquitto(
  confLines: string[],
  options: MosquittoOptions = {},
): Promise<MosquittoProcess> {
  const dir = await Deno.makeTempDir({ prefix: "midge_bridge_mosquitto_" });
  const port = options.port ?? freePort();
  const address = options.address ?? "127.0.0.1";
  const logFile = `${dir}/mosquitto.log`;
  const anonymous = confLines.some((l) => l.startsWith("allow_anonymous"))
    ? []
    : ["allow_anonymous true"];
  await Deno.writeTextFile(
    `${dir}/mosquitto.conf`,
    [
      "user root",
      `log_dest file ${logFile}`,
      "log_type all",
      `listener ${port} ${address}`,
      ...anonymous,
      ...confLines,
      "",
    ].join("\n"),
  );
  const log = () => Deno.readTextFile(logFile).catch(() => "");
  let broker = await launchMosquitto(`${dir}/mosquitto.conf`, address, port, log);
  return {
    port,
    log,
    logged: (pattern, timeoutMs) => logged(log, pattern, timeoutMs),
    async restart() {
      broker = await launchMosquitto(`${dir}/mosquitto.conf`, address, port, log);
    },
    async kill(signal = "SIGKILL") {
      await broker.kill(signal);
    },
    async stop() {
      await broker.kill("SIGTERM");
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function launchMosquitto(
  conf: string,
  address: string,
  port: number,
  log: () => Promise<string>,
): Promise<Subprocess> {
  const broker = new Subprocess("/usr/sbin/mosquitto", ["-c", conf]);
  const deadline = Date.now() + 5000;
  while (!broker.exited && Date.now() < deadline) {
    if (await acceptsOn(address, port)) return broker;
    await sleep(20);
  }
  await broker.kill("SIGKILL");
  throw new Error(
    `mosquitto did not listen on ${address}:${port} within 5 s\n${broker.describe()}\n` +
      `--- its log ---\n${await log()}`,
  );
}

async function acceptsOn(address: string, port: number): Promise<boolean> {
  if (address === "127.0.0.1") return await accepts(port);
  try {
    (await Deno.connect({ hostname: address, port })).close();
    return true;
  } catch {
    return false;
  }
}

/**
 * `midge -c FILE` with `listener PORT 127.0.0.1`, `allow_anonymous true`, then `confText`
 * (where a `connection` block goes), logging everything to a file; resolves once it runs.
 */
export async function startMidge(confText: string): Promise<BrokerProcess> {
  const port = freePort();
  const midge = await startLoggedMidge(
    `listener ${port} 127.0.0.1\nallow_anonymous true\n${confText}`,
  );
  return {
    port,
    log: midge.log,
    logged: (pattern, timeoutMs) => logged(midge.log, pattern, timeoutMs),
    async kill(signal = "SIGKILL") {
      if (midge.alive()) midge.child.kill(signal);
      await awaitOrKill(midge.child, midge.child.status);
    },
    async stop() {
      if (midge.alive()) midge.child.kill("SIGTERM");
      await awaitOrKill(midge.child, midge.child.status);
      await midge.close();
    },
  };
}

function logged(
  log: () => Promise<string>,
  pattern: RegExp,
  timeoutMs = 10_000,
): Promise<void> {
  return awaitCount(log, pattern, 1, timeoutMs);
}

/** How many times `pattern` occurs in `text`. */
export function occurrences(text: string, pattern: RegExp): number {
  return text.match(new RegExp(pattern.source, "g"))?.length ?? 0;
}

/** Poll `read()` (a log) until `pattern` occurs `times` times in it (at most `timeoutMs`). */
export async function awaitCount(
  read: () => Promise<string>,
  pattern: RegExp,
  times = 1,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (occurrences(await read(), pattern) < times) {
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${times} × ${pattern} in:\n${await read()}`,
      );
    }
    await sleep(50);
  }
}

/**
 * A 3.1.1 client, or with `persistent` a 5.0 one whose session outlives it and whose receive
 * maximum is the largest: Mosquitto 2.0.11 may deliver out of order once a client's in-flight
 * window (20 by default for 3.x clients) is full, which the tests must not blame on the bridge.
 */
export async function connectTo(
  port: number,
  clientId: string,
  persistent = false,
): Promise<MqttClient> {
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

/** One message a subscriber received. */
export interface Received {
  /** Topic name. */
  topic: string;
  /** QoS it was delivered at. */
  qos: number;
  /** Whether it came with the retain flag. */
  retain: boolean;
  /** Payload, as text. */
  payload: string;
}

/** Options of the command-line clients. */
export interface ClientOptions {
  /** QoS (default 0 to publish, 2 to subscribe, so that the delivered QoS shows the publish's). */
  qos?: number;
  /** `-V`: mqttv31, mqttv311 (default) or mqttv5. */
  version?: string;
  /** More arguments (user name, TLS files...). */
  args?: string[];
}

/** A mosquitto_sub collecting what it receives. */
export interface Subscriber {
  /** What it has received so far, in order. */
  readonly messages: Received[];
  /** Wait (at most `timeoutMs`, default 10 s) until it has received `count` messages. */
  receive(count: number, timeoutMs?: number): Promise<Received[]>;
  /** Stop it. */
  stop(): Promise<void>;
}

const MARK = "MSG|";

/** mosquitto_sub on 127.0.0.1:`port` subscribed to `filter`; resolves once it has its SUBACK. */
export async function subscribeTo(
  port: number,
  filter: string,
  options: ClientOptions = {},
): Promise<Subscriber> {
  // stdbuf: its debug lines, SUBACK's among them, come as they are printed, not buffered.
  const sub = new Subprocess("stdbuf", [
    ...["-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p", String(port), "-d", "-t", filter],
    ...["-q", String(options.qos ?? 2), "-V", options.version ?? "mqttv311"],
    ...["-F", `${MARK}%t|%q|%r|%p`, ...(options.args ?? [])],
  ]);
  const messages = (): Received[] =>
    sub.lines.filter((l) => l.startsWith(MARK)).map((line) => {
      const [topic, qos, retain, ...payload] = line.slice(MARK.length).split("|");
      return { topic, qos: Number(qos), retain: retain === "1", payload: payload.join("|") };
    });
  try {
    await until(
      () => sub.lines.some((l) => l.includes("received SUBACK")) || sub.exited,
      "SUBACK",
      {
        timeoutMs: 10_000,
        describe: () => sub.describe(),
      },
    );
    if (sub.exited) throw new Error(`mosquitto_sub ended\n${sub.describe()}`);
  } catch (error) {
    await sub.kill("SIGKILL");
    throw error;
  }
  return {
    get messages() {
      return messages();
    },
    async receive(count, timeoutMs = 10_000) {
      await until(() => messages().length >= count, `${count} messages on ${filter}`, {
        timeoutMs,
        describe: () => sub.describe(),
      });
      return messages();
    },
    async stop() {
      await sub.kill("SIGKILL");
    },
  };
}

/** Publish one message with mosquitto_pub to 127.0.0.1:`port` (fails unless it exits with 0). */
export async function publishTo(
  port: number,
  topic: string,
  payload: string,
  options: ClientOptions & { retain?: boolean } = {},
): Promise<void> {
  const out = await runCommand("mosquitto_pub", [
    ...["-h", "127.0.0.1", "-p", String(port), "-t", topic, "-m", payload],
    ...["-q", String(options.qos ?? 0), "-V", options.version ?? "mqttv311"],
    ...(options.retain ? ["-r"] : []),
    ...(options.args ?? []),
  ], { timeoutMs: 10_000 });
  if (out.code !== 0) {
    throw new Error(`mosquitto_pub -t ${topic} failed (${out.code}): ${out.stderr}`);
  }
}

/** Something a test started, stopped when it ends. */
export interface Owned {
  /** Stop it. */
  stop(): Promise<void>;
  /** Its log, added to a failure's message. */
  log?(): Promise<string>;
}

/**
 * Run `fn` with `own`, which registers what the test starts; whatever happens, all of it is
 * stopped afterwards (last first), and a failure carries the end of each broker's log.
 */
export async function scene(
  fn: (own: <T extends Owned>(thing: T) => T) => Promise<void>,
): Promise<void> {
  const owned: Owned[] = [];
  try {
    await fn((thing) => {
      owned.push(thing);
      return thing;
    });
  } catch (error) {
    if (error instanceof Error) {
      for (const thing of owned) {
        if (thing.log === undefined) continue;
        const tail = (await thing.log()).split("\n").slice(-30).join("\n");
        error.message += `\n--- a broker's log (last 30 lines) ---\n${tail}`;
      }
    }
    throw error;
  } finally {
    for (const thing of owned.reverse()) await thing.stop();
  }
}

/** A bridge test over `scene`, needing Mosquitto and its clients. */
export function bridgeTest(
  name: string,
  fn: (own: <T extends Owned>(thing: T) => T) => Promise<void>,
): void {
  interopTest({ name, needs: BRIDGE_PEERS, fn: () => scene(fn) });
}

/** A `connection NAME` block to `ports` on 127.0.0.1 (remote client id NAME, 1 s restart). */
export function connection(name: string, ports: number[], lines: string[]): string {
  return [
    `connection ${name}`,
    `address ${ports.map((p) => `127.0.0.1:${p}`).join(" ")}`,
    `remote_clientid ${name}`,
    "restart_timeout 1",
    ...lines,
    "",
  ].join("\n");
}

/** The log line of bridge `name` connected to 127.0.0.1:`port`. */
export function connectedTo(name: string, port: number): RegExp {
  return new RegExp(`Bridge ${name} connected to 127\\.0\\.0\\.1:${port}\\.`);
}

/** Midge's `listener` lines for an open HTTP listener on 127.0.0.1:`port` (its JSON API). */
export function httpListener(port: number): string[] {
  return [`listener ${port} 127.0.0.1`, "protocol http", "http_open true"];
}

/** The bridges' figures from the JSON API of a Midge HTTP listener on 127.0.0.1:`port`. */
export async function bridgeFigures(port: number): Promise<BridgeJson[]> {
  const response = await fetch(`http://127.0.0.1:${port}/api/v1/bridges`);
  return (await response.json()).bridges;
}
