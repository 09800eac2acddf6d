/**
 * `sub --retain-handling` and `--no-local`: 5.0 subscription options that Mosquitto 2.0.11's
 * tools do not offer (Midge's go beyond them), checked against both brokers.
 */

import assert from "node:assert/strict";
import { BROKERS, hostArgs, runTool, startToolBroker, text } from "./harness.ts";

for (const kind of BROKERS) {
  Deno.test(`sub -V 5 --retain-handling 2 gets no retained message; 0 does [midge sub → ${kind}]`, async () => {
    const broker = await startToolBroker(kind);
    try {
      const host = hostArgs(broker.port);
      const put = await runTool("mosquitto", "pub", [...host, "-t", "rh/t", "-m", "kept", "-r"]);
      assert.equal(put.code, 0);
      const none = await runTool("midge", "sub", [
        ...host,
        "-V",
        "5",
        "-t",
        "rh/#",
        "--retain-handling",
        "2",
        "-W",
        "1",
        "-v",
      ]);
      assert.equal(none.code, 27);
      assert.equal(text(none.stdout), "");
      const some = await runTool("midge", "sub", [
        ...host,
        "-V",
        "5",
        "-t",
        "rh/#",
        "--retain-handling",
        "0",
        "-C",
        "1",
        "-v",
      ]);
      assert.equal(some.code, 0);
      assert.equal(text(some.stdout), "rh/t kept\n");
    } finally {
      await broker.stop();
    }
  });

  Deno.test(`sub -V 5 --no-local: its own --remove-retained clearings do not come back [midge sub → ${kind}]`, async () => {
    const broker = await startToolBroker(kind);
    try {
      const host = hostArgs(broker.port);
      await runTool("mosquitto", "pub", [...host, "-t", "nl/t", "-m", "old", "-r"]);
      const run = await runTool("midge", "sub", [
        ...host,
        "-V",
        "5",
        "-t",
        "nl/#",
        "--no-local",
        "--remove-retained",
        "-W",
        "1",
        "-v",
      ]);
      assert.equal(run.code, 27);
      assert.equal(text(run.stdout), "nl/t old\n"); // without --no-local: also "nl/t (null)"
    } finally {
      await broker.stop();
    }
  });
}

Deno.test("sub --retain-handling 3 is refused with the tools' usage error", async () => {
  const run = await runTool("midge", "sub", ["-t", "a", "--retain-handling", "3"]);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /^Error: --retain-handling must be 0, 1 or 2, not "3"\./);
});
