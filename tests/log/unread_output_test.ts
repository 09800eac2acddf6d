/**
 * Log output that nobody reads (standard error a pipe whose reader hung) must not stall the
 * broker: a real process, a burst of debug lines far over the pipe's 64 KiB, then a client
 * that must still be served and a SIGTERM that must still end the process. A reader that
 * pauses longer than the buffer lasts finds one line saying how many lines it missed; a
 * reader that is only slow loses nothing, the last line included.
 */

import assert from "node:assert/strict";
import { encodePacket } from "../../src/codec/mod.ts";
import { connect, delay, waitFor } from "../integration/harness.ts";
import { accepts, freePort } from "../fixtures/net.ts";
import { ended, spawnMidge } from "../fixtures/midge_process.ts";

/** PUBLISH packets in a burst: one debug line of about 80 bytes each, 400 KB in all. */
const BURST = 5000;

/** A burst whose debug lines (about 1.6 MB) overflow the log buffer (1 MiB) and the pipe. */
const OVERFLOW = 20_000;

/** Resolves to what `promise` resolves to, or to "late" after `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | "late"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), ms));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Midge logging every type to standard error (a pipe), listening on a free port. */
async function startVerbose(dir: string): Promise<{ child: Deno.ChildProcess; port: number }> {
  const port = freePort();
  const file = `${dir}/midge.toml`;
  await Deno.writeTextFile(
    file,
    `[log]\nlog_type = ["all"]\n[security]\nallow_anonymous = true\n` +
      `[[listener]]\nport = ${port}\nbind_address = "127.0.0.1"\n`,
  );
  const child = spawnMidge(file, "piped");
  await waitFor(() => accepts(port), "the broker to listen", 20_000);
  return { child, port };
}

/**
 * Send `count` QoS 0 PUBLISHes on topics `flood/0`... in one write, and wait until the broker
 * has read them all (its PINGRESP after them): each is a `Received PUBLISH` debug line.
 */
async function burst(port: number, count = BURST): Promise<void> {
  const { client } = await connect(port, { clientId: "flood" });
  const packets = Array.from({ length: count }, (_, i) =>
    encodePacket({
      type: "publish",
      topic: `flood/${i}`,
      payload: new Uint8Array(8),
      qos: 0,
      retain: false,
      dup: false,
    }, 4));
  const bytes = new Uint8Array(packets.reduce((n, p) => n + p.length, 0));
  packets.reduce((off, p) => (bytes.set(p, off), off + p.length), 0);
  await client.sendBytes(bytes);
  await client.send({ type: "pingreq" });
  await client.expect("pingresp", 10_000);
  await client.close();
}

/** A new client subscribes and gets its own PUBLISH back; fails unless within 3 s. */
async function roundTrip(port: number): Promise<void> {
  const started = Date.now();
  const { client: probe, connack } = await connect(port, { clientId: "probe" });
  try {
    assert.equal(connack.reasonCode, 0);
    await probe.send({
      type: "subscribe",
      packetId: 1,
      subscriptions: [{
        topicFilter: "probe/t",
        qos: 0,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0,
      }],
    });
    await probe.expect("suback");
    await probe.send({
      type: "publish",
      topic: "probe/t",
      payload: new TextEncoder().encode("still here"),
      qos: 0,
      retain: false,
      dup: false,
    });
    const echoed = await probe.expect("publish");
    assert.equal(new TextDecoder().decode(echoed.payload), "still here");
    assert.ok(Date.now() - started < 3000, `served in ${Date.now() - started} ms`);
  } finally {
    await probe.close();
  }
}

/** Standard error of a child being read: what came so far, and all of it once it ends. */
interface StderrReader {
  text(): string;
  done: Promise<string>;
}

/** Read `child`'s standard error to the end, waiting `pauseMs` after each chunk. */
function readStderr(child: Deno.ChildProcess, pauseMs: number): StderrReader {
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  const done = (async () => {
    for await (const chunk of child.stderr) {
      chunks.push(decoder.decode(chunk, { stream: true }));
      await delay(pauseMs);
    }
    return chunks.join("");
  })();
  return { text: () => chunks.join(""), done };
}

/**
 * Check that the flood lines of `text` (`count` were logged) come in order, and that where
 * some are missing, warnings stand just after the gap and count at least as many lines (they
 * may count other lines dropped meanwhile). Returns how many flood lines and warnings it has.
 */
function checkDropsWarned(text: string, count: number): { kept: number; warnings: number } {
  let next = 0;
  let kept = 0;
  let warnings = 0;
  let warned = 0; // lines said dropped since the last flood line
  for (const line of text.split("\n")) {
    const warning = line.match(/^\d+: Warning: (\d+) log lines? dropped: /);
    const flood = line.match(/Received PUBLISH from flood \(.*?'flood\/(\d+)'/);
    if (warning !== null) {
      warnings++;
      warned += Number(warning[1]);
    } else if (flood !== null) {
      const n = Number(flood[1]);
      assert.ok(
        n >= next && n - next <= warned,
        `flood/${n} after flood/${next - 1}, ${warned} told`,
      );
      next = n + 1;
      kept++;
      warned = 0;
    }
  }
  assert.ok(count - next <= warned, `the last ${count - next} flood lines missing, ${warned} told`);
  return { kept, warnings };
}

/** SIGTERM `child`; fails unless it ends with status 0 within 5 s. */
async function terminate(child: Deno.ChildProcess): Promise<void> {
  await delay(50); // the last disconnect is logged before the signal
  child.kill("SIGTERM");
  const status = await within(child.status, 5000);
  assert.ok(status !== "late", "the broker did not end within 5 s of SIGTERM");
  assert.equal(status.code, 0);
}

Deno.test("a broker whose standard error is never read still serves clients and stops on SIGTERM", async () => {
  const dir = await Deno.makeTempDir();
  const { child, port } = await startVerbose(dir); // its standard error is never read
  try {
    await burst(port);
    await roundTrip(port);
    await terminate(child);
  } finally {
    await ended(child);
    await child.stderr.cancel();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a reader that pauses through a burst over the buffer finds a line saying how many lines are missing, where they are", async () => {
  const dir = await Deno.makeTempDir();
  const { child, port } = await startVerbose(dir);
  let reader: StderrReader | undefined;
  try {
    await burst(port, OVERFLOW); // nobody reads meanwhile
    await roundTrip(port);
    reader = readStderr(child, 0);
    // Until the write in flight ends, lines are still dropped: "terminating" would be too.
    await waitFor(() => reader!.text().includes("dropped"), "the line about dropped lines", 5000);
    await terminate(child);
    const text = await reader.done;
    const { kept, warnings } = checkDropsWarned(text, OVERFLOW);
    assert.ok(kept < OVERFLOW, `${kept} flood lines kept`);
    assert.ok(warnings > 0);
    assert.match(text, /: midge version \S+ terminating\n$/);
  } finally {
    await ended(child);
    if (reader === undefined) await child.stderr.cancel();
    await reader?.done.catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a slow reader of standard error gets every line in order, the last one included", async () => {
  const dir = await Deno.makeTempDir();
  const { child, port } = await startVerbose(dir);
  const reader = readStderr(child, 10); // slower than the broker logs, but reading
  try {
    await burst(port);
    await terminate(child);
    const text = await reader.done;
    assert.deepEqual(checkDropsWarned(text, BURST), { kept: BURST, warnings: 0 });
    assert.match(text, /: midge version \S+ terminating\n$/);
    assert.doesNotMatch(text, /dropped/);
  } finally {
    await ended(child);
    await reader.done.catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});
