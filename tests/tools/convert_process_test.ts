/**
 * `midge convert` as a process, against what Mosquitto 2.0 does with the same file: a line it
 * refuses must not turn into a TOML that quietly means something else.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { MOSQUITTO_BROKER, runCommand } from "../auth/mosquitto_tools.ts";
import { freePort } from "../fixtures/net.ts";
import { runMidge } from "../fixtures/midge_process.ts";
import { interopTest } from "../interop/helpers.ts";

interopTest({
  name: "midge convert: a misspelt allow_anonymous, which Mosquitto refuses, exits 1 naming " +
    "its line, and is not written as a key",
  needs: [MOSQUITTO_BROKER],
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const file = join(dir, "mosquitto.conf");
      const port = freePort();
      await Deno.writeTextFile(
        file,
        `listener ${port} 127.0.0.1\nallow_anonymus true\nmax_keepalive 60\n`,
      );
      const theirs = await runCommand("/usr/sbin/mosquitto", ["-c", file], { timeoutMs: 10_000 });
      assert.notEqual(theirs.code, 0);
      assert.match(
        theirs.stdout + theirs.stderr,
        /Unknown configuration variable "allow_anonymus"/,
      );
      assert.match(theirs.stdout + theirs.stderr, new RegExp(`Error found at ${file}:2\\.`));

      const ours = await runMidge(["convert", file]);
      assert.equal(ours.code, 1, ours.stderr);
      assert.ok(ours.stdout.includes(`# UNKNOWN: allow_anonymus true (${file}:2)`), ours.stdout);
      assert.doesNotMatch(ours.stdout, /^allow_anonym/m);
      assert.match(ours.stdout, /^max_keepalive = 60$/m);
      assert.deepEqual(ours.stderr.trimEnd().split("\n"), [
        `${file}:2: allow_anonymus: not converted: unknown option; did you mean allow_anonymous?`,
        `midge convert: 1 line of ${file} could not be converted; they are kept as ` +
        '"# UNKNOWN:" comments and the TOML is incomplete.',
      ]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("midge convert exits 0 with nothing on stderr when every line converts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "mosquitto.conf");
    await Deno.writeTextFile(file, "listener 1883\nallow_anonymous true\n");
    const ours = await runMidge(["convert", file]);
    assert.equal(ours.code, 0, ours.stderr);
    assert.equal(ours.stderr, "");
    assert.match(ours.stdout, /^allow_anonymous = true$/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
