/**
 * The two brokers the tools are tested against: Midge in-process, and Mosquitto 2.0 from Debian
 * as a child process on a free port, both on 127.0.0.1 and both with their log readable by the
 * test (Mosquitto logs to a file, which it flushes line by line), so tests wait for the
 * broker's `<client id> <qos> <filter>` subscribe line instead of sleeping.
 *
 * @module
 */

import { startBroker } from "../integration/harness.ts";
import { accepts, freePort } from "../fixtures/net.ts";

/** Which broker. */
export type BrokerKind = "mosquitto" | "midge";

/** What a test needs of its broker; each field maps to the same setting of both brokers. */
export interface BrokerConfig {
  /** `allow_anonymous` (default true). */
  allowAnonymous?: boolean;
  /**
   * Lines of a Mosquitto `password_file` (user:hash). Midge has no password file yet, so on
   * Midge this is ignored: only tests where no client gets in (no or wrong credentials) hold
   * for both.
   */
  passwordFile?: string[];
  /** `max_queued_messages` (default 1000 in both). */
  maxQueuedMessages?: number;
  /**
   * Lines added at the end of mosquitto.conf: more listeners (TLS, a Unix socket, WebSockets)
   * for tests that run against Mosquitto only. Midge's broker has no such listeners and
   * refuses a config with them.
   */
  mosquittoLines?: string[];
}

/** A Mosquitto password file line for the user alice, password "secret" ($7$, PBKDF2-SHA512). */
export const ALICE_SECRET =
  "alice:$7$101$zqrnwSC9fuH+JdeL$UYoTQajyfJwvdRqyvEbjEWkZnVh3m6kkR7xGmsQNVWxODnLBwKRau6Jwz00yFKFoKHUEBx57uFFK1AHdKvhn9A==";

/** A running broker for one test. */
export interface ToolBroker {
  /** Which broker it is. */
  kind: BrokerKind;
  /** "Mosquitto" or "Midge", for test names and messages. */
  name: string;
  /** Its port on 127.0.0.1. */
  port: number;
  /** Every log line so far, without timestamps. */
  logs(): string[];
  /** Stop it (and for Mosquitto, wait for the process and remove its files). */
  stop(): Promise<void>;
}

/** Start Midge in-process on 127.0.0.1, port 0, configured as `config` says. */
export function startMidge(config: BrokerConfig = {}): ToolBroker {
  if (config.mosquittoLines !== undefined) {
    throw new Error("mosquittoLines configure Mosquitto only: run this test against it alone");
  }
  const { allowAnonymous, maxQueuedMessages } = config;
  const b = startBroker({
    ...(allowAnonymous === undefined ? {} : { allowAnonymous }),
    ...(maxQueuedMessages === undefined ? {} : { maxQueuedMessages }),
  });
  return { kind: "midge", name: "Midge", port: b.port, logs: () => b.logs, stop: b.stop };
}

/** The Mosquitto broker binary (Debian installs it in /usr/sbin, often not on PATH). */
export const MOSQUITTO_BIN: string = (() => {
  for (const dir of [...(Deno.env.get("PATH") ?? "").split(":"), "/usr/sbin", "/usr/local/sbin"]) {
    if (dir === "") continue;
    try {
      if (Deno.statSync(`${dir}/mosquitto`).isFile) return `${dir}/mosquitto`;
    } catch {
      // not here
    }
  }
  return "mosquitto";
})();

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The mosquitto.conf a test's Mosquitto runs with. */
export function mosquittoConfig(port: number, logFile: string, config: BrokerConfig): string {
  const lines = [
    `listener ${port} 127.0.0.1`,
    `allow_anonymous ${config.allowAnonymous ?? true}`,
    "persistence false",
    `log_dest file ${logFile}`,
    "log_timestamp false",
    ...["error", "warning", "notice", "information", "subscribe", "unsubscribe"].map((t) =>
      `log_type ${t}`
    ),
  ];
  if (config.maxQueuedMessages !== undefined) {
    lines.push(`max_queued_messages ${config.maxQueuedMessages}`);
  }
  lines.push(...config.mosquittoLines ?? []);
  return lines.join("\n") + "\n";
}

/**
 * Start Mosquitto on a free port of 127.0.0.1 with a temporary configuration (anonymous
 * clients allowed, no persistence, log to a file in the temporary directory) and return once
 * it accepts TCP connections (polled, at most 5 s per attempt). If the port was taken in the
 * meantime it tries another one (3 attempts).
 */
export async function startMosquitto(config: BrokerConfig = {}): Promise<ToolBroker> {
  const dir = await Deno.makeTempDir({ prefix: "midge-tools-mosquitto-" });
  // Started as root, Mosquitto drops to the "mosquitto" user, which must be able to write its
  // log and read its files here.
  await Deno.chmod(dir, 0o777);
  const logFile = `${dir}/mosquitto.log`;
  const confFile = `${dir}/mosquitto.conf`;
  let conf = "";
  if (config.passwordFile !== undefined) {
    const pwFile = `${dir}/passwd`;
    await Deno.writeTextFile(pwFile, config.passwordFile.join("\n") + "\n", { mode: 0o644 });
    await Deno.chmod(pwFile, 0o644);
    conf = `password_file ${pwFile}\n`;
  }
  const failures: string[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = freePort();
    await Deno.writeTextFile(confFile, mosquittoConfig(port, logFile, config) + conf);
    await Deno.chmod(confFile, 0o644);
    const child = new Deno.Command(MOSQUITTO_BIN, {
      args: ["-c", confFile],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let exited: Deno.CommandStatus | undefined;
    const status = child.status.then((s) => {
      exited = s;
    });
    let stderr = "";
    const readErr = (async () => {
      for await (const t of child.stderr.pipeThrough(new TextDecoderStream())) stderr += t;
    })();
    const finished = Promise.all([status, readErr]);
    const deadline = Date.now() + 5000;
    let up = false;
    while (exited === undefined && Date.now() < deadline) {
      if (await accepts(port)) {
        up = true;
        break;
      }
      await sleep(10);
    }
    const readLog = (): string[] => {
      try {
        return Deno.readTextFileSync(logFile).split("\n").filter((l) => l !== "");
      } catch {
        return [];
      }
    };
    const stop = async () => {
      if (exited === undefined) {
        try {
          child.kill("SIGTERM");
        } catch {
          // exited meanwhile
        }
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<"late">((resolve) => {
        timer = setTimeout(() => resolve("late"), 5000);
      });
      if (await Promise.race([finished, late]) === "late") {
        try {
          child.kill("SIGKILL");
        } catch {
          // exited meanwhile
        }
        await finished;
      }
      clearTimeout(timer);
    };
    if (up && exited === undefined) {
      return {
        kind: "mosquitto",
        name: "Mosquitto",
        port,
        logs: readLog,
        stop: async () => {
          await stop();
          await Deno.remove(dir, { recursive: true });
        },
      };
    }
    await stop();
    failures.push(
      `port ${port}: ${exited ? `exited with ${exited.code}` : "not listening after 5 s"}; ` +
        `stderr: ${JSON.stringify(stderr)}; log: ${JSON.stringify(readLog().slice(-5))}`,
    );
    await Deno.remove(logFile).catch(() => {});
  }
  await Deno.remove(dir, { recursive: true });
  throw new Error(`Mosquitto did not start:\n${failures.join("\n")}`);
}

/** Start the broker of `kind`. */
export async function startToolBroker(
  kind: BrokerKind,
  config: BrokerConfig = {},
): Promise<ToolBroker> {
  return kind === "midge" ? startMidge(config) : await startMosquitto(config);
}

export { freePort } from "../fixtures/net.ts";
