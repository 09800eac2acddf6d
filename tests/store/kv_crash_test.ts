import assert from "node:assert/strict";
import { openKvStore } from "../../src/store/kv_store.ts";
import { StoreError } from "../../src/store/store.ts";
import { SeededRandom } from "../fixtures/random.ts";
import { applyChanges } from "./contract.ts";
import { CRASH_STORE_OPTIONS, crashBatch } from "./kv_crash_batches.ts";

const CHILD = new URL("./kv_crash_child.ts", import.meta.url).pathname;
const ROUNDS = 6;
/** How long a child may take to open its store. */
const READY_MS = 10_000;

/** What a killed writer said before it died. */
interface Killed {
  /** The last batch it reported durable, if any. */
  last: number | undefined;
  /** How it ended. */
  status: Deno.CommandStatus;
  /** What it wrote to stderr. */
  stderr: string;
}

/** Resolve after `ms`, or when `early` settles; no timer is left behind. */
async function wait(ms: number, early?: Promise<unknown>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const elapsed = new Promise((resolve) => timer = setTimeout(resolve, ms));
    await Promise.race(early === undefined ? [elapsed] : [elapsed, early]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Start a writer committing batches after `from`; once it is ready, run `whileRunning` (given
 * its pid), wait `delayMs`, and SIGKILL it.
 */
async function runAndKill(
  dir: string,
  from: number,
  delayMs: number,
  whileRunning: (pid: number) => Promise<void>,
): Promise<Killed> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-kv", "--quiet", CHILD, dir, String(from)],
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let last: number | undefined;
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => ready = resolve);
  const stdout = (async () => {
    let text = "";
    for await (const piece of child.stdout.pipeThrough(new TextDecoderStream())) {
      text += piece;
      const lines = text.split("\n");
      text = lines.pop()!;
      for (const line of lines) {
        if (line === "ready") ready();
        const committed = /^committed (\d+)$/.exec(line);
        if (committed) last = Number(committed[1]);
      }
    }
    ready();
  })();
  const stderr = new Response(child.stderr).text();
  try {
    await wait(READY_MS, isReady);
    await whileRunning(child.pid);
    await wait(delayMs);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // It has exited already: the assertion on its status says how.
    }
  }
  const status = await child.status;
  await stdout;
  return { last, status, stderr: await stderr };
}

function sameRecords(a: Map<string, Uint8Array>, b: Map<string, Uint8Array>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) {
    const other = b.get(key);
    if (other === undefined || other.length !== value.length) return false;
    if (!value.every((byte, i) => byte === other[i])) return false;
  }
  return true;
}

Deno.test("KvStore: a writer killed at any moment loses no acknowledged commit and leaves none half-done; while it runs, the store is refused to others", async () => {
  const dir = await Deno.makeTempDir({ prefix: "midge_kv_crash_" });
  const random = new SeededRandom(20251130);
  try {
    const model = new Map<string, Uint8Array>();
    let at = 0; // the model is the state after batch `at`
    for (let round = 0; round < ROUNDS; round++) {
      const killed = await runAndKill(dir, at, random.between(0, 700), async (pid) => {
        if (round > 0) return;
        // Another process holds the store: refused, naming it.
        await assert.rejects(openKvStore(`${dir}/store.db`), (e: Error) => {
          assert.ok(e instanceof StoreError);
          assert.match(e.message, new RegExp(`in use by another process \\(pid ${pid}\\)`));
          return true;
        });
      });
      assert.equal(killed.status.signal, "SIGKILL", `round ${round}: ${killed.stderr}`);
      const acknowledged = killed.last ?? at;
      for (; at < acknowledged; at++) applyChanges(model, crashBatch(at + 1));
      const store = await openKvStore(`${dir}/store.db`, CRASH_STORE_OPTIONS);
      try {
        const loaded = await store.load();
        assert.deepEqual(loaded.problems, [], `round ${round}`);
        if (!sameRecords(loaded.records, model)) {
          // The batch in flight may have landed, whole.
          applyChanges(model, crashBatch(at + 1));
          at++;
          assert.ok(
            sameRecords(loaded.records, model),
            `round ${round}: the store is neither the state after batch ${at - 1} nor ${at}`,
          );
        }
      } finally {
        await store.close();
      }
    }
    assert.ok(at >= 10, `only ${at} batches were committed: the test proved little`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
