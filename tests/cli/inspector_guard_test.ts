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
import { ended, spawnMidge } from "../fixtures/midge_process.ts";
import { INSPECTOR_ADDRESS } from "../../src/cli/inspector_guard.ts";

/** Collect a child's standard error as text, as it comes. */
function collect(stream: ReadableStream<Uint8Array>): { text(): string; done: Promise<void> } {
  let text = "";
  const decoder = new TextDecoder();
  const done = (async () => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  })();
  return { text: () => text, done };
}

Deno.test("SIGUSR1 saves (or says why not) and does not open Deno's inspector on 127.0.0.1:9229", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/midge.conf`;
  await Deno.writeTextFile(
    file,
    `listener ${freePort()} 127.0.0.1\nallow_anonymous true\nlog_dest stderr\nlog_type all\n`,
  );
  const child = spawnMidge(file, "piped");
  const stderr = collect(child.stderr);
  try {
    await waitFor(() => stderr.text().includes("running"), "the broker running", 20_000);
    const held = !stderr.text().includes("is in use");
    child.kill("SIGUSR1");
    await waitFor(() => stderr.text().includes("SIGUSR1:"), "the SIGUSR1 line", 10_000);
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
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0);
    await stderr.done;
    assert.doesNotMatch(stderr.text(), /Debugger listening/);
  } finally {
    await ended(child);
    await stderr.done.catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});
