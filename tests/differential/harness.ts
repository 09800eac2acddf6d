/**
 * The differential harness: plays scripted conversations of raw MQTT bytes against a running
 * broker and writes down what came back (the frames, split by fixed header, and when the
 * connection closed), so that Mosquitto's transcript and Midge's can be compared line by line.
 *
 * @module
 */

import { accepts, awaitOrKill, freePort } from "../fixtures/net.ts";
import { spawnMidge } from "../fixtures/midge_process.ts";
import { hexBytes } from "../fixtures/packets.ts";

/** Bytes to send: hex with optional spaces, or bytes already built. */
export type Bytes = string | Uint8Array;

/** One step of a conversation. */
export type Step =
  /** Send bytes on connection `on` (default "a"), opened on first use; pieces go one by one. */
  | { send: Bytes | Bytes[]; on?: string }
  /** Close connection `close` from the client side (no DISCONNECT). */
  | { close: string }
  /** Let `wait` ms pass, then collect what arrived (timers: will delay, expiry). */
  | { wait: number };

/** A scripted conversation: a name (unique in its area) and its steps. */
export interface Conversation {
  /** What it shows; also the key of the intended and open lists. */
  name: string;
  /** The steps, played in order; after each one the harness waits until all is quiet. */
  steps: Step[];
}

/** Quiet time that ends a step: no byte on any open connection for this long. */
const QUIET_MS = 150;
/** Longest a step may keep receiving. */
const STEP_LIMIT_MS = 4000;
/** Longest the closing PINGREQ waits for its PINGRESP (or the close). */
const PROBE_LIMIT_MS = 2000;

/** Which broker a process is. */
export type BrokerKind = "mosquitto" | "midge";

/** A broker process listening on 127.0.0.1. */
export interface RunningBroker {
  /** Which broker. */
  kind: BrokerKind;
  /** Its port. */
  port: number;
  /** Whether the process has ended (it should not, before `stop`). */
  exited(): boolean;
  /** What it wrote on standard error; complete once it has ended. */
  said: Promise<string>;
  /** Stop it and remove its directory. */
  stop(): Promise<void>;
}

/** Path of Debian's Mosquitto broker. */
const MOSQUITTO_PATH = "/usr/sbin/mosquitto";

/** Tries at starting a broker: a port found free may be taken by another test meanwhile. */
const START_ATTEMPTS = 3;
/** How long a started broker must stay up (one that lost its port to another exits). */
const SETTLE_MS = 300;

/**
 * Start `kind` on a fresh port with `conf` (mosquitto.conf lines, after the `listener` and
 * `allow_anonymous true` lines the harness writes); resolves once it has answered a CONNECT.
 */
export async function startBroker(kind: BrokerKind, conf: string): Promise<RunningBroker> {
  for (let attempt = 1;; attempt++) {
    let broker: RunningBroker;
    try {
      broker = await startProcess(kind, conf);
    } catch (error) {
      // It exited before listening: most likely its port was taken meanwhile; try another.
      if (attempt === START_ATTEMPTS) throw error;
      continue;
    }
    if (await warmUp(broker.port)) {
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      if (!broker.exited()) return broker;
    }
    await broker.stop();
    if (attempt === START_ATTEMPTS) {
      throw new Error(`${kind} did not answer a CONNECT with:\n${conf}\nIt said: ${await broker
        .said}`);
    }
  }
}

async function startProcess(kind: BrokerKind, conf: string): Promise<RunningBroker> {
  const dir = await Deno.makeTempDir({ prefix: `differential-${kind}-` });
  const port = freePort();
  const file = `${dir}/mosquitto.conf`;
  await Deno.writeTextFile(file, `listener ${port} 127.0.0.1\nallow_anonymous true\n${conf}\n`);
  const child = kind === "midge" ? spawnMidge(file, "piped") : new Deno.Command(MOSQUITTO_PATH, {
    args: ["-c", file],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const said = new Response(child.stderr).text(); // drained all along, read if it fails
  const status = child.status;
  let exited = false;
  status.then(() => exited = true);
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already ended
    }
    await awaitOrKill(child, status);
    await said;
    await Deno.remove(dir, { recursive: true });
  };
  const deadline = Date.now() + 20_000;
  while (!(await accepts(port))) {
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`${kind} did not start with:\n${conf}\nIt said: ${await said}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { kind, port, exited: () => exited, said, stop };
}

/**
 * CONNECT, CONNACK and close once, so that no conversation meets a broker still warming up;
 * whether the CONNACK came (else something else holds the port).
 */
async function warmUp(port: number): Promise<boolean> {
  const connection = await openClock(port);
  await connection.end();
  return connection.frames[0]?.[0] === 0x20;
}

/** One client connection of a conversation, reading in the background. */
class ScriptConnection {
  readonly frames: Uint8Array[] = [];
  /** How many of `frames` are in the transcript. */
  recorded = 0;
  closed = false;
  lastByteAt = Date.now();
  readonly #conn: Deno.TcpConn;
  readonly #reading: Promise<void>;
  #pending: Uint8Array = new Uint8Array(0);

  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    this.#reading = this.#read();
  }

  async #read(): Promise<void> {
    const buffer = new Uint8Array(65536 + 16);
    while (true) {
      let n: number | null;
      try {
        n = await this.#conn.read(buffer);
      } catch {
        n = null;
      }
      if (n === null) break;
      this.lastByteAt = Date.now();
      const joined = new Uint8Array(this.#pending.length + n);
      joined.set(this.#pending);
      joined.set(buffer.subarray(0, n), this.#pending.length);
      this.#pending = splitFrames(joined, this.frames);
    }
    if (this.#pending.length > 0) this.frames.push(this.#pending);
    this.closed = true;
  }

  async send(bytes: Uint8Array): Promise<void> {
    if (this.closed) return;
    try {
      let written = 0;
      while (written < bytes.length) written += await this.#conn.write(bytes.subarray(written));
    } catch {
      // the broker closed first: the read side records it
    }
  }

  async end(): Promise<void> {
    try {
      this.#conn.close();
    } catch {
      // closed already
    }
    await this.#reading;
  }
}

/** Move whole frames from the front of `bytes` into `frames`; return what is left. */
function splitFrames(bytes: Uint8Array, frames: Uint8Array[]): Uint8Array {
  let at = 0;
  while (at + 2 <= bytes.length) {
    let length = 0;
    let multiplier = 1;
    let i = at + 1;
    let complete = false;
    for (; i < bytes.length && i < at + 5; i++) {
      length += (bytes[i] & 0x7f) * multiplier;
      multiplier *= 128;
      if ((bytes[i] & 0x80) === 0) {
        complete = true;
        break;
      }
    }
    if (!complete || i + 1 + length > bytes.length) break;
    frames.push(bytes.slice(at, i + 1 + length));
    at = i + 1 + length;
  }
  return bytes.slice(at);
}

const TYPE_NAMES = [
  "RESERVED",
  "CONNECT",
  "CONNACK",
  "PUBLISH",
  "PUBACK",
  "PUBREC",
  "PUBREL",
  "PUBCOMP",
  "SUBSCRIBE",
  "SUBACK",
  "UNSUBSCRIBE",
  "UNSUBACK",
  "PINGREQ",
  "PINGRESP",
  "DISCONNECT",
  "AUTH",
];

/** Frames longer than this are written as their first bytes, length and checksum. */
const SHOWN_BYTES = 48;

/** Property 0x12 (Assigned Client Identifier) with Mosquitto's `auto-` + UUID form. */
const ASSIGNED_ID = [0x12, 0x00, 0x29, 0x61, 0x75, 0x74, 0x6f, 0x2d];
const UUID_LENGTH = 36;

/** `frame`, with a random assigned client id in a CONNACK written as `?`s. */
function withoutRandomId(frame: Uint8Array): Uint8Array {
  if (frame[0] !== 0x20) return frame;
  for (let at = 0; at + ASSIGNED_ID.length + UUID_LENGTH <= frame.length; at++) {
    if (ASSIGNED_ID.every((b, i) => frame[at + i] === b)) {
      const masked = frame.slice();
      masked.fill(0x3f, at + ASSIGNED_ID.length, at + ASSIGNED_ID.length + UUID_LENGTH);
      return masked;
    }
  }
  return frame;
}

function hex(bytes: Uint8Array): string {
  const shown = Array.from(
    bytes.subarray(0, SHOWN_BYTES),
    (b) => b.toString(16).padStart(2, "0"),
  ).join(" ");
  if (bytes.length <= SHOWN_BYTES) return shown;
  let fnv = 0x811c9dc5; // FNV-1a over every byte, so that a difference past the shown ones shows
  for (const b of bytes) fnv = Math.imul(fnv ^ b, 0x01000193) >>> 0;
  return `${shown} ...(${bytes.length} bytes, fnv ${fnv.toString(16)})`;
}

/** A short reading of a frame for people: its type and, for acks, the codes. */
function describeFrame(frame: Uint8Array): string {
  const type = frame[0] >> 4;
  const name = TYPE_NAMES[type];
  let body = 1;
  while (body < frame.length && (frame[body] & 0x80) !== 0) body++;
  body++;
  const rest = frame.subarray(body);
  const code = (at: number) => at < rest.length ? ` rc=0x${rest[at].toString(16)}` : "";
  switch (name) {
    case "CONNACK":
      return `CONNACK sp=${rest[0] ?? "-"}${code(1)}`;
    case "DISCONNECT":
    case "AUTH":
      return `${name}${code(0)}`;
    case "PUBACK":
    case "PUBREC":
    case "PUBREL":
    case "PUBCOMP":
      return `${name} id=${(rest[0] << 8) | rest[1]}${code(2)}`;
    case "PUBLISH":
      return `PUBLISH q${(frame[0] >> 1) & 3}${frame[0] & 1 ? " retain" : ""}${
        frame[0] & 8 ? " dup" : ""
      }`;
    default:
      return name;
  }
}

/**
 * What a broker answered in one conversation: one line per frame received, `NAME< hex`, grouped
 * under the step after which it arrived (`#2`); then, for each connection the client did not
 * close itself, `NAME closed after frame N` or `NAME open`.
 */
export type Transcript = string[];

/**
 * Play `conversation` against the broker on `port`. At the end each connection still open gets
 * a PINGREQ: one that does not answer counts as closed, since a broker may keep reading a
 * connection it has finished with for a while before it closes (so the client sees its last
 * packet, not a reset). Every connection is closed at the end.
 */
export async function play(conversation: Conversation, port: number): Promise<Transcript> {
  const connections = new Map<string, ScriptConnection>();
  const closedByClient = new Set<string>();
  const transcript: Transcript = [];
  const clock = await openClock(port);
  const byName = () => [...connections].sort(([x], [y]) => x < y ? -1 : 1);
  const record = (label: string) => {
    transcript.push(label);
    for (const [name, connection] of byName()) {
      for (const frame of connection.frames.slice(connection.recorded)) {
        transcript.push(`${name}< ${hex(withoutRandomId(frame))}`);
      }
      connection.recorded = connection.frames.length;
    }
  };
  try {
    for (const [index, step] of conversation.steps.entries()) {
      const started = Date.now();
      if ("send" in step) {
        const name = step.on ?? "a";
        let connection = connections.get(name);
        if (connection === undefined) {
          connection = new ScriptConnection(await Deno.connect({ hostname: "127.0.0.1", port }));
          connections.set(name, connection);
        }
        const pieces = Array.isArray(step.send) ? step.send : [step.send];
        for (const piece of pieces) {
          await connection.send(typeof piece === "string" ? hexBytes(piece) : piece);
          if (pieces.length > 1) await new Promise((resolve) => setTimeout(resolve, 20));
        }
      } else if ("close" in step) {
        closedByClient.add(step.close);
        await connections.get(step.close)?.end();
      } else {
        await new Promise((resolve) => setTimeout(resolve, step.wait));
      }
      await settle(connections, clock, started);
      record(`#${index + 1}`);
    }
    const probed = byName().filter(([name, c]) => !closedByClient.has(name) && !c.closed);
    await Promise.all(probed.map(([, c]) => c.send(PROBE)));
    await until(
      () => probed.every(([, c]) => c.closed || c.frames.slice(c.recorded).some(isPingresp)),
      PROBE_LIMIT_MS,
    );
    for (const [name, connection] of byName()) {
      if (closedByClient.has(name)) continue;
      const answered = !connection.closed && connection.frames.length > connection.recorded;
      transcript.push(
        answered ? `${name} open` : `${name} closed after frame ${connection.recorded}`,
      );
    }
  } finally {
    await Promise.all([...connections.values(), clock].map((c) => c.end()));
  }
  return transcript;
}

function isPingresp(frame: Uint8Array): boolean {
  return frame[0] === 0xd0;
}

let clocks = 0;

/** A 3.1.1 connection of the harness's own (a fresh client id), CONNACK awaited: see `settle`. */
async function openClock(port: number): Promise<ScriptConnection> {
  const clock = new ScriptConnection(await Deno.connect({ hostname: "127.0.0.1", port }));
  const id = new TextEncoder().encode(`differential-clock-${++clocks}`);
  await clock.send(
    new Uint8Array([
      0x10,
      12 + id.length,
      0,
      4,
      0x4d,
      0x51,
      0x54,
      0x54,
      4,
      2,
      0,
      0,
      0,
      id.length,
      ...id,
    ]),
  );
  await until(() => clock.frames.length > 0 || clock.closed, PROBE_LIMIT_MS);
  return clock;
}

/** Resolve once `done()` holds, polling every 10 ms, or after `ms`. */
async function until(done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** PINGREQ, the probe of a connection at the end of a conversation. */
const PROBE = new Uint8Array([0xc0, 0x00]);

/**
 * Wait until a step's answers are in: the clock's PINGREQ, sent after the step, has its
 * PINGRESP (so a loaded broker is waited for as long as it is slow), and then no byte has
 * arrived on any open connection for QUIET_MS.
 */
async function settle(
  connections: Map<string, ScriptConnection>,
  clock: ScriptConnection,
  started: number,
): Promise<void> {
  const ticks = clock.frames.length;
  await clock.send(PROBE);
  await until(() => clock.frames.length > ticks || clock.closed, STEP_LIMIT_MS);
  const from = Math.max(started, Date.now() - QUIET_MS);
  await until(() => {
    const open = [...connections.values()].filter((c) => !c.closed);
    const last = Math.max(from, ...open.map((c) => c.lastByteAt));
    return Date.now() - last >= QUIET_MS;
  }, STEP_LIMIT_MS);
}

/**
 * Run each broker's share of `conversations` in order, `shards` brokers of `kind` at once. A
 * conversation that throws gets the error as its transcript; a broker that does not start
 * fails the whole run, once every shard has ended.
 */
export async function playAll(
  kind: BrokerKind,
  conf: string,
  conversations: readonly Conversation[],
  shards: number,
): Promise<Map<string, Transcript>> {
  const results = new Map<string, Transcript>();
  const count = Math.max(1, Math.min(shards, conversations.length));
  const runs = await Promise.allSettled(Array.from({ length: count }, async (_, shard) => {
    let broker = await startBroker(kind, conf);
    try {
      for (let i = shard; i < conversations.length; i += count) {
        const conversation = conversations[i];
        let transcript = await play(conversation, broker.port).catch(refused);
        if (transcript === undefined) {
          // The broker no longer accepts connections: note it, restart it, play once more.
          console.error(`${kind} refused '${conversation.name}'; restarting it`);
          await broker.stop();
          broker = await startBroker(kind, conf);
          transcript = await play(conversation, broker.port).catch((e) => [`error: ${e}`]);
        }
        if (broker.exited()) {
          const said = (await broker.said).trim().split("\n").slice(-3).join(" / ");
          transcript.push(`${kind} ended during this conversation: ${said}`);
          await broker.stop();
          broker = await startBroker(kind, conf);
        }
        results.set(conversation.name, transcript);
      }
    } finally {
      await broker.stop();
    }
  }));
  const failed = runs.find((run) => run.status === "rejected");
  if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  return results;
}

/** Undefined for a refused connection (the broker is gone), else the error as a transcript. */
function refused(error: unknown): Transcript | undefined {
  return error instanceof Deno.errors.ConnectionRefused ? undefined : [`error: ${error}`];
}

/** Two transcripts side by side (Mosquitto's and Midge's), lines that differ marked `!`. */
export function sideBySide(
  mosquitto: Transcript,
  midge: Transcript,
  labels: [string, string] = ["mosquitto", "midge"],
): string {
  const lines: string[] = [];
  const width = Math.min(72, Math.max(30, ...mosquitto.map((l) => l.length)));
  for (let i = 0; i < Math.max(mosquitto.length, midge.length); i++) {
    const left = mosquitto[i] ?? "";
    const right = midge[i] ?? "";
    const mark = left === right ? " " : "!";
    lines.push(`${mark} ${left.padEnd(width)} | ${right}${describeLine(right, left)}`);
  }
  return `  ${labels[0].padEnd(width)} | ${labels[1]}\n${lines.join("\n")}`;
}

function describeLine(midge: string, mosquitto: string): string {
  const name = (line: string) => {
    const at = line.indexOf("< ");
    return at < 0 ? "" : describeFrame(hexBytes(line.slice(at + 2).replace(/ \.\.\..*$/, "")));
  };
  const left = name(mosquitto);
  const right = name(midge);
  if (left === "" && right === "") return "";
  return `   [${left || "-"} | ${right || "-"}]`;
}
