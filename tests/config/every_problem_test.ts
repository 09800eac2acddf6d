/**
 * A file with problems of both kinds, those met while reading it (misplaced lines, keys of the
 * wrong shape) and those of its values, is refused with all of them at once, each at its line.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { runConvert } from "../../src/tools/convert.ts";
import { capture } from "../fixtures/cli_io.ts";
import { runMidge } from "../fixtures/midge_process.ts";
import { problemsOfAsync } from "./mosquitto_helpers.ts";

const FACTS = { userName: "u", isRoot: false };

/** The problems `loadConfig` reports for `text` written to a file named `name`. */
async function problemsOfFile(name: string, text: string): Promise<string[]> {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, name);
    await Deno.writeTextFile(file, text);
    return (await problemsOfAsync(() => loadConfig(file, FACTS)))
      .map((line) => line.replace(`${dir}/`, ""));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const BAD_CONF = [
  "listener abc",
  "max_keepalive x",
  "  # indented",
  "listener 1884",
  "allow_anonymus true",
  "",
].join("\n");

Deno.test("mosquitto.conf: misplaced lines and bad values are reported together, in line order", async () => {
  assert.deepEqual(await problemsOfFile("m.conf", BAD_CONF), [
    'm.conf:1: listener: needs a port 1-65535 first, not "abc"',
    'm.conf:2: max_keepalive: must be an integer, not "x"',
    "m.conf:3: a comment must start at the first character of the line (Mosquitto reads " +
    "this # as an option name)",
    "m.conf:5: allow_anonymus: unknown option; did you mean allow_anonymous?",
  ]);
});

Deno.test("midge.toml: keys of the wrong shape and bad values are reported together, each at its line", async () => {
  const text = [
    "max_keepalive = 10",
    'log.log_typ = "all"',
    "[[listener]]",
    "port = 1883",
    "tls.x = 1",
    "max_connectionz = 5",
    "[security]",
    "allow_anonymous = true",
    "[security.plugin]",
    "x = 1",
    "",
  ].join("\n");
  assert.deepEqual(await problemsOfFile("midge.toml", text), [
    "midge.toml:2: log.log_typ: unknown option; did you mean log_type?",
    "midge.toml:5: listener[1].tls: must be a value, not a table",
    "midge.toml:6: listener[1].max_connectionz: unknown option; did you mean max_connections?",
    "midge.toml:9: security.plugin: must be a value, not a table",
  ]);
});

Deno.test("midge convert: with a misplaced line, nothing is printed and every line at fault is named", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "m.conf");
    await Deno.writeTextFile(file, BAD_CONF);
    const c = capture();
    assert.equal(await runConvert([file], c.io), 1);
    assert.deepEqual(c.out, []);
    assert.deepEqual(c.err.map((line) => line.replace(`${dir}/`, "")), [
      'm.conf:1: listener: needs a port 1-65535 first, not "abc"',
      'm.conf:2: max_keepalive: not converted: must be an integer, not "x"',
      "m.conf:3: a comment must start at the first character of the line (Mosquitto reads " +
      "this # as an option name)",
      "m.conf:5: allow_anonymus: not converted: unknown option; did you mean allow_anonymous?",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("midge -c FILE --test-config lists every problem of a mosquitto.conf", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "m.conf");
    await Deno.writeTextFile(file, BAD_CONF);
    const { code, stderr } = await runMidge(["-c", file, "--test-config"]);
    assert.notEqual(code, 0);
    assert.deepEqual(stderr.trimEnd().split("\n").map((line) => line.replace(`${dir}/`, "")), [
      'm.conf:1: listener: needs a port 1-65535 first, not "abc"',
      'm.conf:2: max_keepalive: must be an integer, not "x"',
      "m.conf:3: a comment must start at the first character of the line (Mosquitto reads " +
      "this # as an option name)",
      "m.conf:5: allow_anonymus: unknown option; did you mean allow_anonymous?",
      "m.conf: 4 problems; the configuration is not valid.",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
