/**
 * Shared pieces of the interop tests: finding the real peers (Mosquitto's tools, Paho for
 * /usr/bin/python3), registering tests that need them (fail under `CI`, ignored otherwise),
 * subprocesses whose output is collected and whose waits are bounded, and a fixture that runs
 * one test against an in-process broker and cleans everything up.
 *
 * @module
 */

import { startBroker, type TestBroker } from "../integration/harness.ts";
import type { BrokerOptions } from "../../src/broker/options.ts";
import { awaitOrKill } from "../fixtures/net.ts";

/** The Python that has Paho 1.6 (the `python3` on PATH is a pyenv one without it). */
export const PYTHON = "/usr/bin/python3";

/** Whether a peer the tests need is installed, and if not, why. */
export interface Peer {
  /** What it is, for test names and messages. */
  name: string;
  /** Undefined when it is usable; otherwise what is missing. */
  missing: string | undefined;
}

function onPath(command: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    try {
      if (Deno.statSync(`${dir}/${command}`).isFile) return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

function findCommands(name: string, commands: string[]): Peer {
  const absent = commands.filter((c) => !onPath(c));
  return {
    name,
    missing: absent.length === 0 ? undefined : `${absent.join(", ")} not found on PATH`,
  };
}

function findPaho(): Peer {
  const name = `Paho for ${PYTHON}`;
  try {
    const out = new Deno.Command(PYTHON, {
      args: ["-c", "import paho.mqtt.client"],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).outputSync();
    if (out.success) return { name, missing: undefined };
    const why = new TextDecoder().decode(out.stderr).trim().split("\n").at(-1);
    return { name, missing: `${PYTHON} cannot import paho.mqtt.client (${why})` };
  } catch (error) {
    return { name, missing: `${PYTHON} cannot be run (${error})` };
  }
}

/** mosquitto_pub and mosquitto_sub (Debian's mosquitto-clients). */
export const MOSQUITTO_CLIENTS: Peer = findCommands("mosquitto_pub/mosquitto_sub", [
  "mosquitto_pub",
  "mosquitto_sub",
]);

/** mosquitto_rr (also in mosquitto-clients). */
export const MOSQUITTO_RR: Peer = findCommands("mosquitto_rr", ["mosquitto_rr"]);

/** Paho MQTT for /usr/bin/python3. */
export const PAHO: Peer = findPaho();

/** A test definition for `interopTest`. */
export interface InteropTestDefinition {
  /** Test name. */
  name: string;
  /** Peers the test runs. */
  needs: Peer[];
  /** The test. */
  fn: () => Promise<void>;
  /** Passed on to `Deno.test` (only for MQTT.js tests that must relax it, with a reason). */
  sanitizeOps?: boolean;
}

/**
 * Register a test that needs real peers. All present: a normal test. One missing with `CI` set:
 * a test that fails saying what is missing (CI must not pass by skipping). One missing without
 * `CI`: an ignored test whose name says what is missing.
 */
export function interopTest(def: InteropTestDefinition): void {
  const missing = def.needs.filter((p) => p.missing !== undefined).map((p) => p.missing!);
  const sanitizers = def.sanitizeOps === undefined ? {} : { sanitizeOps: def.sanitizeOps };
  if (missing.length === 0) {
    Deno.test({ name: def.name, fn: def.fn, ...sanitizers });
  } else if (Deno.env.get("CI") !== undefined) {
    Deno.test({
      name: def.name,
      fn() {
        throw new Error(`CI is set and a required peer is missing: ${missing.join("; ")}`);
      },
    });
  } else {
    Deno.test({
      name: `${def.name} (ignored: ${missing.join("; ")})`,
      ignore: true,
      fn: def.fn,
    });
  }
}

/** Resolve after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Poll `condition` every 10 ms until it holds; after `timeoutMs` throw, with `describe()` (the
 * state so far) in the message.
 */
export async function until(
  condition: () => boolean,
  what: string,
  options: { timeoutMs?: number; describe?: () => string } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      const state = options.describe?.();
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}` + (state ? `\n${state}` : ""),
      );
    }
    await sleep(10);
  }
}

/** How a subprocess ended. */
export interface Exit {
  /** Exit code (128 + signal number when killed by a signal). */
  code: number;
  /** The signal that ended it, if any. */
  signal: Deno.Signal | null;
  /** Its whole stdout, split into lines (no trailing empty line). */
  lines: string[];
  /** Its whole stderr. */
  stderr: string;
}

/**
 * A child process with stdout collected into lines as they arrive and stderr collected whole.
 * Every wait is bounded; `kill()` always ends it and waits for its streams.
 */
export class Subprocess {
  /** The command line, for messages. */
  readonly commandLine: string;
  /** Complete stdout lines so far. */
  readonly lines: string[] = [];
  #child: Deno.ChildProcess;
  #stderr = "";
  #partial = "";
  #exit: Deno.CommandStatus | undefined;
  #done: Promise<void>;
  #stdinOpen: boolean;

  /**
   * Start `command` with `args`; stdin is closed unless `stdin: "piped"`. With `env`, that is
   * its whole environment.
   */
  constructor(
    command: string,
    args: string[],
    options: { stdin?: "null" | "piped"; env?: Record<string, string> } = {},
  ) {
    this.commandLine = [command, ...args].map((a) => /[\s'"$]/.test(a) ? `'${a}'` : a)
      .join(" ");
    const stdin = options.stdin ?? "null";
    this.#child = new Deno.Command(command, {
      args,
      ...(options.env === undefined ? {} : { env: options.env, clearEnv: true }),
      stdin,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdinOpen = stdin === "piped";
    const status = this.#child.status.then((s) => {
      this.#exit = s;
    });
    this.#done = Promise.all([status, this.#readStdout(), this.#readStderr()]).then(() => {});
  }

  async #readStdout(): Promise<void> {
    for await (const text of this.#child.stdout.pipeThrough(new TextDecoderStream())) {
      const parts = (this.#partial + text).split("\n");
      this.#partial = parts.pop()!;
      this.lines.push(...parts);
    }
    if (this.#partial !== "") this.lines.push(this.#partial);
    this.#partial = "";
  }

  async #readStderr(): Promise<void> {
    for await (const text of this.#child.stderr.pipeThrough(new TextDecoderStream())) {
      this.#stderr += text;
    }
  }

  /** Its process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Whether it has exited. */
  get exited(): boolean {
    return this.#exit !== undefined;
  }

  /** Its stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** What it printed so far, for failure messages. */
  describe(): string {
    const exit = this.#exit === undefined
      ? "still running"
      : `exited with code ${this.#exit.code}${this.#exit.signal ? ` (${this.#exit.signal})` : ""}`;
    return `${this.commandLine}: ${exit}\n  stdout: ${JSON.stringify(this.lines)}\n  stderr: ${
      JSON.stringify(this.#stderr)
    }`;
  }

  /** Write `text` to stdin (only with `stdin: "piped"`). */
  async write(text: string): Promise<void> {
    const writer = this.#child.stdin.getWriter();
    try {
      await writer.write(new TextEncoder().encode(text));
    } finally {
      writer.releaseLock();
    }
  }

  /** Close stdin (end of input). */
  async closeStdin(): Promise<void> {
    if (!this.#stdinOpen) return;
    this.#stdinOpen = false;
    try {
      await this.#child.stdin.close();
    } catch {
      // the process has gone; its stdin went with it
    }
  }

  /** Wait until at least `count` lines have been printed; fails after `timeoutMs` or an exit. */
  async waitForLines(count: number, timeoutMs = 5000): Promise<string[]> {
    await until(() => this.lines.length >= count || this.exited, `${count} lines`, {
      timeoutMs,
      describe: () => this.describe(),
    });
    if (this.lines.length < count) {
      await this.#done;
      throw new Error(`exited before printing ${count} lines\n${this.describe()}`);
    }
    return this.lines;
  }

  /**
   * Wait for it to exit by itself. After `timeoutMs` it is killed and this throws with what it
   * printed.
   */
  async wait(timeoutMs = 10_000): Promise<Exit> {
    await this.closeStdin();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const result = await Promise.race([this.#done, timedOut]);
    clearTimeout(timer);
    if (result === "timeout") {
      const state = this.describe();
      await this.kill("SIGKILL");
      throw new Error(`did not exit within ${timeoutMs} ms\n${state}`);
    }
    return this.#result();
  }

  /** Send `signal` unless it has exited, then wait for it and its streams (at most 5 s). */
  async kill(signal: Deno.Signal = "SIGTERM"): Promise<Exit> {
    await this.closeStdin();
    if (!this.exited) {
      try {
        this.#child.kill(signal);
      } catch {
        // exited meanwhile
      }
    }
    await awaitOrKill(this.#child, this.#done);
    return this.#result();
  }

  #result(): Exit {
    const s = this.#exit!;
    return { code: s.code, signal: s.signal, lines: this.lines, stderr: this.#stderr };
  }
}

/** Options of `InteropContext.run`. */
export interface RunOptions {
  /** Kill it and fail after this many ms. */
  timeoutMs?: number;
  /** Written to its stdin, which is then closed. */
  input?: string;
}

/** What a test gets from `withBroker`. */
export interface InteropContext {
  /** The broker under test. */
  broker: TestBroker;
  /** Its port, as a string for command lines. */
  port: string;
  /** Start a subprocess that is killed and awaited when the test ends. */
  spawn(command: string, args: string[], options?: { stdin?: "null" | "piped" }): Subprocess;
  /**
   * Run a subprocess to its end (bounded by `timeoutMs`, default 10 s), with `input` on its
   * stdin, and fail unless it exits with 0.
   */
  run(command: string, args: string[], options?: RunOptions): Promise<Exit>;
  /** Register a cleanup step, run (last first) after the test, before the broker stops. */
  defer(cleanup: () => Promise<void>): void;
  /** Wait until the broker logged the subscription `"<clientId> <qos> <filter>"`. */
  subscribed(clientId: string, qos: number, filter: string): Promise<void>;
  /** Wait until the broker logged a line equal to `line` (or matching it). */
  logged(line: string | RegExp, timeoutMs?: number): Promise<void>;
}

/**
 * Run `fn` against a fresh in-process broker on port 0. Whatever the outcome, every process it
 * spawned is killed and awaited, deferred cleanups run and the broker stops. A failure carries
 * the end of the broker's log.
 */
export async function withBroker(
  fn: (ctx: InteropContext) => Promise<void>,
  overrides: Partial<BrokerOptions> = {},
): Promise<void> {
  const broker = startBroker(overrides);
  const processes: Subprocess[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const logHas = (line: string | RegExp) =>
    broker.logs.some((l) => typeof line === "string" ? l === line : line.test(l));
  const ctx: InteropContext = {
    broker,
    port: String(broker.port),
    spawn(command, args, options) {
      const p = new Subprocess(command, args, options);
      processes.push(p);
      return p;
    },
    async run(command, args, options = {}) {
      const p = ctx.spawn(command, args, { stdin: options.input !== undefined ? "piped" : "null" });
      if (options.input !== undefined) await p.write(options.input);
      const exit = await p.wait(options.timeoutMs ?? 10_000);
      if (exit.code !== 0) throw new Error(`failed with code ${exit.code}\n${p.describe()}`);
      return exit;
    },
    defer(cleanup) {
      cleanups.push(cleanup);
    },
    subscribed(clientId, qos, filter) {
      return ctx.logged(`${clientId} ${qos} ${filter}`);
    },
    logged(line, timeoutMs = 5000) {
      return until(() => logHas(line), `the broker to log ${line}`, { timeoutMs });
    },
  };
  try {
    await fn(ctx);
  } catch (error) {
    if (error instanceof Error) {
      error.message += `\n--- broker log (last 40 lines) ---\n${broker.logs.slice(-40).join("\n")}`;
    }
    throw error;
  } finally {
    await Promise.all(processes.map((p) => p.kill("SIGKILL")));
    for (const cleanup of cleanups.reverse()) await cleanup();
    await broker.stop();
  }
}
