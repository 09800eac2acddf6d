/** log_dest file: appending, creating, reopening after logrotate, and a path that cannot open. */

import assert from "node:assert/strict";
import { FileSink, LOG_FILE_MODE } from "../../src/log/file_sink.ts";
import { loggerFromConfig } from "../../src/log/from_config.ts";
import { logConfig } from "./config_helpers.ts";
import { delay } from "../integration/harness.ts";

const NOW = () => 1_700_000_000_000;

Deno.test("log_dest file appends stamped lines to an existing file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/midge.log`;
    await Deno.writeTextFile(path, "earlier line\n");
    const logger = loggerFromConfig(
      logConfig({ log_dest: [`file ${path}`], log_timestamp_format: "%s %%" }),
      { now: NOW },
    );
    logger.notice("Opening ipv4 listen socket on port 1883.");
    logger.debug("not logged by default");
    logger.warning("something.");
    await logger.close();
    assert.equal(
      await Deno.readTextFile(path),
      "earlier line\n" +
        "1700000000 %: Opening ipv4 listen socket on port 1883.\n" +
        "1700000000 %: Warning: something.\n",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("log_dest file creates a missing file, readable by its owner only", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/new.log`;
    const sink = new FileSink(path);
    sink.write("first");
    await sink.close();
    assert.equal(await Deno.readTextFile(path), "first\n");
    assert.equal((await Deno.stat(path)).mode! & 0o777, LOG_FILE_MODE);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Logger.reopen after logrotate moved the file writes to a new file at the path", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/midge.log`;
    const logger = loggerFromConfig(logConfig({ log_dest: [`file ${path}`] }), { now: NOW });
    logger.notice("before rotation");
    await Deno.rename(path, `${path}.1`);
    logger.notice("after the move, before SIGHUP"); // still the old file, as with Mosquitto
    logger.reopen();
    logger.notice("after SIGHUP");
    await logger.close();
    assert.equal(
      await Deno.readTextFile(`${path}.1`),
      "1700000000: before rotation\n1700000000: after the move, before SIGHUP\n",
    );
    assert.equal(await Deno.readTextFile(path), "1700000000: after SIGHUP\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Logger.reopen keeps the old file and logs an error if the path cannot be opened", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/sub/midge.log`;
    await Deno.mkdir(`${dir}/sub`);
    const logger = loggerFromConfig(logConfig({ log_dest: [`file ${path}`] }), { now: NOW });
    await Deno.rename(`${dir}/sub`, `${dir}/moved`); // the directory is gone from the path
    logger.reopen();
    await logger.close();
    const text = await Deno.readTextFile(`${dir}/moved/midge.log`);
    assert.match(
      text,
      new RegExp(`^1700000000: Error: Unable to open log file ${path} for writing`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loggerFromConfig throws, naming the path, when the log file cannot be opened", () => {
  assert.throws(
    () => loggerFromConfig(logConfig({ log_dest: ["file /nonexistent/dir/midge.log"] })),
    (error: Error) => {
      assert.match(
        error.message,
        /^Unable to open log file \/nonexistent\/dir\/midge\.log for writing: /,
      );
      return true;
    },
  );
});

Deno.test("a log file that cannot be written is reported once, not per line", async () => {
  const warnings: string[] = [];
  const sink = new FileSink("/dev/full", { warn: (m) => warnings.push(m) });
  sink.write("one");
  await delay(10); // written (and failed) alone
  sink.write("two");
  await sink.close();
  sink.write("after close: dropped");
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /^Warning: cannot write to log file \/dev\/full: /);
});
