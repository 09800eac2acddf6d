/**
 * SIGUSR1 does not open Deno's debugger in a running broker: since Deno 2.9.2 the signal
 * starts the V8 inspector on 127.0.0.1:9229, where any local user could run code as the
 * broker; Midge holds that address while it runs (src/cli/inspector_guard.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { waitFor } from "../integration/harness.ts";
import { freePort } from "../fixtures/net.ts";
import { Subprocess } from "../interop/helpers.ts";
import { INSPECTOR_ADDRESS } from "../../src/cli/inspector_guard.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

Deno.test("SIGUSR1 saves (or says why not) and does not open Deno's inspector on 127.0.0.1:9229", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/midge.conf`;
  await Deno.writeTextFile(
    file,
    `listener ${freePort()} 127.0.0.1\nallow_anonymous true\nlog_dest stderr\nlog_type all\n`,
  );
  const midge = new Subprocess(Deno.execPath(), ["run", "-A", MAIN, "-c", file]);
  try {
    await waitFor(() => midge.stderr.includes("running"), "the broker running", 20_000);
    const held = !midge.stderr.includes("is in use");
    Deno.kill(midge.pid, "SIGUSR1");
    await waitFor(() => midge.stderr.includes("SIGUSR1:"), "the SIGUSR1 line", 10_000);
    // Deno's handler binds the inspector right after the signal; give it ample time.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    if (held) {
      // The broker holds the address: a connection there is closed at once.
      const conn = await Deno.connect(INSPECTOR_ADDRESS);
      try {
        assert.equal(await conn.read(new Uint8Array(16)), null);
      } finally {
        conn.close();
      }
    }
    const exit = await midge.kill("SIGTERM");
    assert.equal(exit.code, 0, midge.describe());
    assert.doesNotMatch(midge.stderr, /Debugger listening/);
  } finally {
    await midge.kill("SIGKILL");
    await Deno.remove(dir, { recursive: true });
  }
});
