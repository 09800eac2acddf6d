/** The Logger: types, timestamps, destinations, reopen and close; building it from `[log]`. */

import assert from "node:assert/strict";
import {
  logDestinationsFromConfig,
  loggerFromConfig,
  logTypesFromConfig,
} from "../../src/log/from_config.ts";
import { ALL_LOG_TYPES, Logger, type LogType } from "../../src/log/logger.ts";
import { logConfig } from "./config_helpers.ts";

const NOW = () => 1_700_000_000_123;

/** A logger writing into an array of `[type, line]`. */
function captured(options: ConstructorParameters<typeof Logger>[0] = {}) {
  const lines: [LogType, string][] = [];
  const logger = new Logger({
    now: NOW,
    sinks: [(line, type) => lines.push([type, line])],
    ...options,
  });
  return { logger, lines };
}

function logEveryType(logger: Logger): void {
  for (const type of ALL_LOG_TYPES) logger.log(type, type);
}

Deno.test("Logger writes Mosquitto's default types with Unix-seconds timestamps", () => {
  const { logger, lines } = captured();
  logEveryType(logger);
  assert.deepEqual(lines, [
    ["error", "1700000000: error"],
    ["warning", "1700000000: warning"],
    ["notice", "1700000000: notice"],
    ["information", "1700000000: information"],
  ]);
  assert.equal(logger.enabled("debug"), false);
  assert.equal(logger.connectionMessages, true);
});

Deno.test("Logger without timestamps writes the bare message", () => {
  const { logger, lines } = captured({ timestamp: false });
  logger.notice("Client c disconnected.");
  assert.deepEqual(lines, [["notice", "Client c disconnected."]]);
});

Deno.test("Logger stamps lines with a strftime timestamp format", () => {
  const { logger, lines } = captured({ timestampFormat: "[%s] %%" });
  logger.info("hello");
  logger.info("again"); // same second: the cached stamp
  assert.deepEqual(lines.map(([, l]) => l), ["[1700000000] %: hello", "[1700000000] %: again"]);
});

Deno.test("Logger shorthand methods write their types", () => {
  const { logger, lines } = captured({ types: ALL_LOG_TYPES, timestamp: false });
  logger.error("e");
  logger.warning("w");
  logger.notice("n");
  logger.info("i");
  logger.debug("d");
  assert.deepEqual(lines.map(([t]) => t), ["error", "warning", "notice", "information", "debug"]);
});

Deno.test("warning() starts a line with Mosquitto's 'Warning: ', log() writes any type's text as given", () => {
  const { logger, lines } = captured({ types: ALL_LOG_TYPES, timestamp: false });
  logger.warning("Unable to drop privileges.");
  logger.log("warning", "Reused message ID 1 from c detected. Clearing from storage.");
  logger.notice("Client c disconnected.");
  assert.deepEqual(lines, [
    ["warning", "Warning: Unable to drop privileges."],
    ["warning", "Reused message ID 1 from c detected. Clearing from storage."],
    ["notice", "Client c disconnected."],
  ]);
});

Deno.test("Logger.reopen reopens destinations and logs why one could not be", () => {
  const events: string[] = [];
  const logger = new Logger({
    timestamp: false,
    sinks: [
      { write: (line) => events.push(`a ${line}`), reopen: () => events.push("a reopened") },
      {
        write: (line) => events.push(`b ${line}`),
        reopen: () => {
          throw new Error("Unable to open log file /x for writing: denied");
        },
      },
      (line) => events.push(`c ${line}`), // a plain function has nothing to reopen
    ],
  });
  logger.reopen();
  assert.deepEqual(events, [
    "a reopened",
    "a Error: Unable to open log file /x for writing: denied",
    "b Error: Unable to open log file /x for writing: denied",
    "c Error: Unable to open log file /x for writing: denied",
  ]);
});

Deno.test("Logger.close closes every destination that holds a handle and waits for it", async () => {
  const closed: string[] = [];
  const logger = new Logger({
    sinks: [
      { write: () => {}, close: () => void closed.push("sync") },
      {
        write: () => {},
        close: async () => {
          await Promise.resolve();
          closed.push("async");
        },
      },
      () => {},
    ],
  });
  await logger.close();
  assert.deepEqual(closed.sort(), ["async", "sync"]);
});

Deno.test("log_type values: none drops earlier types, all adds every type, -v means all", () => {
  assert.deepEqual([...logTypesFromConfig(["error", "none", "notice"])], ["notice"]);
  assert.deepEqual([...logTypesFromConfig(["notice", "none"])], []);
  assert.deepEqual([...logTypesFromConfig(["none", "all"])].sort(), [...ALL_LOG_TYPES].sort());
  assert.deepEqual([...logTypesFromConfig(["subscribe", "error"])], ["subscribe", "error"]);
  assert.deepEqual([...logTypesFromConfig(["none"], true)].sort(), [...ALL_LOG_TYPES].sort());
});

Deno.test("log_dest values: none drops earlier ones, repeats count once, the last file wins", () => {
  assert.deepEqual(logDestinationsFromConfig(["stdout", "none"]), {
    kinds: new Set(),
    file: undefined,
  });
  assert.deepEqual(logDestinationsFromConfig(["none", "stdout", "stdout"]), {
    kinds: new Set(["stdout"]),
    file: undefined,
  });
  assert.deepEqual(logDestinationsFromConfig(["file /a.log", "topic", "file /b c.log"]), {
    kinds: new Set(["file", "topic"]),
    file: "/b c.log",
  });
  assert.throws(() => logDestinationsFromConfig(["dlt"]), /unknown log_dest "dlt"/);
});

Deno.test("loggerFromConfig applies log_type, log_timestamp and connection_messages", async () => {
  const published: string[] = [];
  const publish = (topic: string, payload: Uint8Array) =>
    published.push(`${topic} ${new TextDecoder().decode(payload)}`);
  const logger = loggerFromConfig(
    logConfig({
      log_dest: ["topic"],
      log_type: ["warning", "subscribe"],
      log_timestamp: false,
      connection_messages: false,
    }),
    { publish },
  );
  logEveryType(logger);
  assert.deepEqual(published, [
    "$SYS/broker/log/W warning",
    "$SYS/broker/log/M/subscribe subscribe",
  ]);
  assert.equal(logger.connectionMessages, false);
  assert.equal(logger.enabled("debug"), false);
  await logger.close();
});

Deno.test("loggerFromConfig with log_type none logs nothing, and with -v everything", async () => {
  const published: string[] = [];
  const publish = (topic: string) => void published.push(topic);
  const quiet = loggerFromConfig(logConfig({ log_dest: ["topic"], log_type: ["none"] }), {
    publish,
  });
  logEveryType(quiet);
  assert.deepEqual(published, []);
  const verbose = loggerFromConfig(logConfig({ log_dest: ["topic"], log_type: ["none"] }), {
    publish,
    verbose: true,
  });
  logEveryType(verbose);
  assert.equal(published.length, ALL_LOG_TYPES.length - 1); // debug is never published
  assert.equal(verbose.enabled("debug"), true);
  await quiet.close();
  await verbose.close();
});

Deno.test("loggerFromConfig uses log_timestamp_format", async () => {
  const published: string[] = [];
  const logger = loggerFromConfig(
    logConfig({ log_dest: ["topic"], log_timestamp_format: "%s|%%" }),
    { publish: (_t, p) => void published.push(new TextDecoder().decode(p)), now: NOW },
  );
  logger.notice("stamped");
  assert.deepEqual(published, ["1700000000|%: stamped"]);
  await logger.close();
});

Deno.test("loggerFromConfig refuses log_dest topic without a broker to publish on", () => {
  assert.throws(
    () => loggerFromConfig(logConfig({ log_dest: ["topic"] })),
    /log_dest topic needs a broker/,
  );
});

/** Run a child Deno that logs one notice with `log_dest` set to `dest`; its stdout and stderr. */
async function childLog(dest: string[]): Promise<{ stdout: string; stderr: string }> {
  const url = (path: string) => JSON.stringify(new URL(path, import.meta.url).href);
  const code = `import { loggerFromConfig } from ${url("../../src/log/from_config.ts")};
    import { logConfig } from ${url("./config_helpers.ts")};
    const logger = loggerFromConfig(logConfig({ log_dest: ${JSON.stringify(dest)} }), {
      now: () => 1700000000000,
    });
    logger.notice("Opening ipv4 listen socket on port 1883.");
    await logger.close();`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
  }).output();
  const text = new TextDecoder();
  assert.ok(out.success, text.decode(out.stderr));
  return { stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

Deno.test("loggerFromConfig writes log_dest stdout and stderr to those streams, none to neither", async () => {
  const line = "1700000000: Opening ipv4 listen socket on port 1883.\n";
  assert.deepEqual(await childLog(["stdout"]), { stdout: line, stderr: "" });
  assert.deepEqual(await childLog(["stderr"]), { stdout: "", stderr: line });
  assert.deepEqual(await childLog(["stdout", "stderr"]), { stdout: line, stderr: line });
  assert.deepEqual(await childLog(["stdout", "none"]), { stdout: "", stderr: "" });
});
