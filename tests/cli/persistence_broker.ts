/**
 * Midge as a real process over a persistence directory, for the persistence process and crash
 * tests: started from a mosquitto.conf, its log (stderr) collected line by line, stopped with
 * SIGTERM or killed with SIGKILL, and started again on the same port and directory.
 *
 * @module
 */

import assert from "node:assert/strict";
import { delay, type RawClient } from "../integration/harness.ts";
import { spawnMidge } from "../fixtures/midge_process.ts";

/** What goes into the mosquitto.conf of a test broker. */
export interface PersistenceConf {
  /** Listener port on 127.0.0.1. */
  port: number;
  /** persistence_location. */
  location: string;
  /** persistence_file, when not the default. */
  file?: string;
  /** More lines, as written. */
  extra?: string[];
}

/** The text of a mosquitto.conf with one local listener, anonymous access and persistence on. */
export function persistenceConf(conf: PersistenceConf): string {
  const lines = [
    `listener ${conf.port} 127.0.0.1`,
    "allow_anonymous true",
    "persistence true",
    `persistence_location ${conf.location}`,
    ...(conf.file === undefined ? [] : [`persistence_file ${conf.file}`]),
    // A persistent subscriber may have thousands of messages waiting: keep them all.
    "max_queued_messages 0",
    ...(conf.extra ?? []),
  ];
  return lines.join("\n") + "\n";
}

/** A broker process (`deno run -A main.ts -c FILE`) and everything it logged so far. */
export class BrokerProcess {
  /** The process. */
  readonly child: Deno.ChildProcess;
  /** Resolves with its exit status once it has ended and its log is read to the end. */
  readonly ended: Promise<Deno.CommandStatus>;
  #log = "";
  #exited = false;

  private constructor(confFile: string) {
    this.child = spawnMidge(confFile, "piped");
    const drained = this.#drain();
    this.ended = Promise.all([this.child.status, drained]).then(([status]) => {
      this.#exited = true;
      return status;
    });
  }

  /** Start a broker with the configuration in `confFile`; it may not be ready yet. */
  static spawn(confFile: string): BrokerProcess {
    return new BrokerProcess(confFile);
  }

  /**
   * Start a broker and wait until it logs that it is running; fails (with its log) if it
   * exits or takes longer than `timeoutMs` first.
   */
  static async start(confFile: string, timeoutMs = 20_000): Promise<BrokerProcess> {
    const broker = new BrokerProcess(confFile);
    try {
      await broker.waitForLog(/midge version \S+ running/, timeoutMs);
    } catch (error) {
      await broker.kill();
      throw error;
    }
    return broker;
  }

  async #drain(): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of this.child.stderr) {
      this.#log += decoder.decode(chunk, { stream: true });
    }
    this.#log += decoder.decode();
  }

  /** Everything logged so far. */
  get log(): string {
    return this.#log;
  }

  /** Whether the process has ended (and its log is complete). */
  get exited(): boolean {
    return this.#exited;
  }

  /**
   * Wait until a line matching `pattern` is logged; fails if the process ends first or after
   * `timeoutMs`, with the log in the message.
   */
  async waitForLog(pattern: RegExp, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.#log.split("\n").find((l) => pattern.test(l));
      if (line !== undefined) return line;
      if (this.#exited) {
        throw new Error(`the broker ended without logging ${pattern}; its log:\n${this.#log}`);
      }
      if (Date.now() > deadline) {
        throw new Error(`no ${pattern} within ${timeoutMs} ms; the broker's log:\n${this.#log}`);
      }
      await delay(10);
    }
  }

  /** Send `signal`, unless the process has ended. */
  signal(signal: Deno.Signal): void {
    if (this.#exited) return;
    try {
      this.child.kill(signal);
    } catch {
      // ended meanwhile
    }
  }

  /** SIGKILL (a crash: nothing is flushed, nothing is closed) and wait for the end. */
  async kill(): Promise<Deno.CommandStatus> {
    this.signal("SIGKILL");
    return await this.ended;
  }

  /**
   * Wait up to `timeoutMs` for the process to end by itself (after a signal, or because it
   * refused to start), then SIGKILL it. Resolves with the status and whether it was killed.
   */
  async exit(timeoutMs = 10_000): Promise<{ status: Deno.CommandStatus; killed: boolean }> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), timeoutMs);
    });
    const first = await Promise.race([this.ended, late]);
    clearTimeout(timer);
    if (first !== "late") return { status: first, killed: false };
    return { status: await this.kill(), killed: true };
  }

  /** SIGTERM and wait for a graceful end; SIGKILL after `timeoutMs`. */
  async terminate(timeoutMs = 10_000): Promise<{ status: Deno.CommandStatus; killed: boolean }> {
    this.signal("SIGTERM");
    return await this.exit(timeoutMs);
  }
}

/** A temporary directory with a data directory and a config file in it, removed by `remove`. */
export interface PersistenceDir {
  /** The temporary directory. */
  root: string;
  /** `root/data`: persistence_location. */
  data: string;
  /** `root/midge.conf`. */
  confFile: string;
  /** Remove everything. */
  remove(): Promise<void>;
}

/** Make a temporary directory with an empty `data` directory in it. */
export async function persistenceDir(): Promise<PersistenceDir> {
  const root = await Deno.makeTempDir({ prefix: "midge_persist_" });
  const data = `${root}/data`;
  await Deno.mkdir(data);
  return {
    root,
    data,
    confFile: `${root}/midge.conf`,
    remove: () => Deno.remove(root, { recursive: true }),
  };
}

/** Exit status of a broker whose store cannot be used. */
export const EXIT_STORE_FAILED = 3;

/** Run `body` with a fresh directory; kill what it started and remove the directory after. */
export async function withDir(
  body: (dir: PersistenceDir, started: BrokerProcess[], clients: RawClient[]) => Promise<void>,
): Promise<void> {
  const dir = await persistenceDir();
  const started: BrokerProcess[] = [];
  const clients: RawClient[] = [];
  try {
    await body(dir, started, clients);
  } finally {
    for (const c of clients) await c.close();
    for (const b of started) await b.kill();
    await dir.remove();
  }
}

/** Start a broker that must refuse to start (exit status 3); returns its log. */
export async function refused(confFile: string, started: BrokerProcess[]): Promise<string> {
  const broker = BrokerProcess.spawn(confFile);
  started.push(broker);
  const { status, killed } = await broker.exit(20_000);
  assert.equal(killed, false, `the broker kept running; its log:\n${broker.log}`);
  assert.equal(status.code, EXIT_STORE_FAILED, `exit status; the log:\n${broker.log}`);
  assert.doesNotMatch(broker.log, /midge version \S+ running/);
  return broker.log;
}
