/**
 * Starting and stopping the brokers under test: each run gets a fresh broker process pinned
 * to one core with `taskset` (which execs the broker, so the child's pid is the broker's own),
 * listening on 127.0.0.1 only, stopped by pid afterwards (TERM, then KILL). A broker may be
 * given a persistence directory (`persistence true` in its configuration), and killed outright
 * to simulate a crash.
 *
 * @module
 */

import { SETTLE_MS } from "../../src/cli/startup_pages.ts";
import { startTaskFlags } from "../release/run_flags.ts";

/** Names of the brokers the benchmark knows. */
export type BrokerName = "Midge" | "Mosquitto";

/** A broker process serving one run. */
export interface RunningBroker {
  /** Which broker. */
  name: BrokerName;
  /** Its process id (the broker itself, not a wrapper). */
  pid: number;
  /** The port it listens on (127.0.0.1). */
  port: number;
  /** The end of its standard error, for error reports. */
  stderrTail(): string;
  /** Stop it: SIGTERM, then SIGKILL after 3 s. Resolves when it has exited. */
  stop(): Promise<void>;
  /** Crash it: SIGKILL now, no chance to save anything. Resolves when it has exited. */
  kill(): Promise<void>;
}

/** How to start a broker. */
export interface BrokerOptions {
  /** Port to listen on (127.0.0.1). */
  port: number;
  /** The core to pin it to. */
  cpu: number;
  /** Where its configuration file is written. */
  workDir: string;
  /**
   * Turn persistence on, storing in this directory (`persistence true`, `persistence_location
   * DIR/`); unset = mosquitto.conf's `persistence false`. The directory must exist and be
   * writable by the broker (Mosquitto started as root runs as the user `mosquitto`).
   */
  persistenceDir?: string;
  /**
   * Lines added under the listener line (`certfile ...`, `protocol websockets`): both brokers
   * read them. The files they name must be readable by the user `mosquitto`, as above.
   */
  listenerLines?: string[];
  /** Lines added at the end of the configuration (a bridge's `connection` block). */
  tailLines?: string[];
}

const READY_TIMEOUT_MS = 15_000;
/**
 * Wait after a broker listens before it is measured: Midge gives back the pages start-up read
 * `SETTLE_MS` after it runs (src/cli/startup_pages.ts); measuring earlier would count them in
 * its idle memory and their release against the connections. Both brokers get the same wait.
 */
const STARTUP_SETTLE_MS = SETTLE_MS + 1000;
const STOP_GRACE_MS = 3_000;
const STDERR_TAIL_BYTES = 4096;
const MIDGE_MAIN = new URL("../../main.ts", import.meta.url).pathname;
const MOSQUITTO_CONF = new URL("./mosquitto.conf", import.meta.url).pathname;

/** The path of `program` on PATH, or undefined. */
export function findOnPath(program: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    try {
      const path = `${dir}/${program}`;
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not there
    }
  }
  return undefined;
}

/** `mosquitto -h`'s first line ("mosquitto version 2.0.11"), or undefined. */
export async function mosquittoVersion(): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("mosquitto", { args: ["-h"], stdout: "piped" }).output();
    return new TextDecoder().decode(out.stdout).split("\n")[0].trim();
  } catch {
    return undefined;
  }
}

/**
 * The command line (without taskset) that starts `name` as `options` say. Both brokers read the
 * same mosquitto.conf, copied with the listener line set to the port (mosquitto's -p would add a
 * listener on every interface) and followed by `listenerLines`, and, with a persistence
 * directory, the persistence line changed.
 */
async function brokerCommand(name: BrokerName, options: BrokerOptions): Promise<string[]> {
  const { port, workDir, persistenceDir } = options;
  const listener = [`listener ${port} 127.0.0.1`, ...(options.listenerLines ?? [])].join("\n");
  let conf = (await Deno.readTextFile(MOSQUITTO_CONF)).replace(/^listener .*$/m, listener);
  if (persistenceDir !== undefined) {
    conf = conf.replace(
      /^persistence .*$/m,
      `persistence true\npersistence_location ${persistenceDir}/`,
    );
  }
  if (options.tailLines !== undefined) conf += `\n${options.tailLines.join("\n")}\n`;
  const path = `${workDir}/${name.toLowerCase()}-${port}.conf`;
  await Deno.writeTextFile(path, conf);
  if (name === "Midge") {
    // The V8 flags of `deno task start` (deno.json): the broker measured is the one users run.
    const v8 = (await startTaskFlags()).filter((flag) => flag.startsWith("--v8-flags="));
    return [Deno.execPath(), "run", "-A", ...v8, MIDGE_MAIN, "-c", path];
  }
  return ["mosquitto", "-c", path];
}

/** Resolve once 127.0.0.1:`port` accepts a TCP connection, or reject after `timeoutMs`. */
async function waitForPort(port: number, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (let attempt = 0; attempt < timeoutMs / 25 + 1 && performance.now() < deadline; attempt++) {
    if (!alive()) throw new Error("exited before listening");
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  throw new Error(`not listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/** Start `name` as `options` say; resolves once it accepts connections and has settled. */
export async function startBroker(
  name: BrokerName,
  options: BrokerOptions,
): Promise<RunningBroker> {
  const command = await brokerCommand(name, options);
  const child = new Deno.Command("taskset", {
    args: ["-c", String(options.cpu), ...command],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
  }).spawn();
  let tail = "";
  const decoder = new TextDecoder();
  const drainStderr = (async () => {
    for await (const chunk of child.stderr) {
      tail = (tail + decoder.decode(chunk, { stream: true })).slice(-STDERR_TAIL_BYTES);
    }
  })().catch(() => {});
  let exited = false;
  const status = child.status.finally(() => {
    exited = true;
  });
  const signal = (sig: Deno.Signal) => {
    try {
      child.kill(sig);
    } catch {
      // already gone
    }
  };
  const broker: RunningBroker = {
    name,
    pid: child.pid,
    port: options.port,
    stderrTail: () => tail,
    async stop() {
      if (!exited) {
        signal("SIGTERM");
        let timer: ReturnType<typeof setTimeout> | undefined;
        const grace = new Promise<"timeout">((resolve) => {
          timer = setTimeout(() => resolve("timeout"), STOP_GRACE_MS);
        });
        const first = await Promise.race([status, grace]);
        clearTimeout(timer);
        if (first === "timeout" && !exited) signal("SIGKILL");
      }
      await status;
      await drainStderr;
    },
    async kill() {
      if (!exited) signal("SIGKILL");
      await status;
      await drainStderr;
    },
  };
  try {
    await waitForPort(options.port, READY_TIMEOUT_MS, () => !exited);
    await new Promise((resolve) => setTimeout(resolve, STARTUP_SETTLE_MS));
  } catch (error) {
    await broker.stop();
    throw new Error(`${name}: ${(error as Error).message}\n${tail}`);
  }
  return broker;
}
