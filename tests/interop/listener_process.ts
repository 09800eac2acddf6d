/**
 * What the listener interop tests share: Midge as a process started from a mosquitto.conf
 * (its listeners on ports that were free a moment ago), real peers run as bounded
 * subprocesses, and waits on the broker's log. Everything started is ended, and a failure
 * carries the end of the broker's log.
 *
 * @module
 */

import { type LoggedMidge, startLoggedMidge } from "../fixtures/midge_process.ts";
import { Subprocess } from "./helpers.ts";

/** What a test gets from `withMidge`. */
export interface MidgeContext {
  /** The broker process. */
  midge: LoggedMidge;
  /** Start a peer that is killed and awaited when the test ends. */
  spawn(command: string, args: string[]): Subprocess;
  /** Run a peer to its end (at most `timeoutMs`, default 10 s): its exit code and output. */
  run(command: string, args: string[], timeoutMs?: number): Promise<Subprocess & { code: number }>;
  /**
   * Wait (at most `timeoutMs`, default 5 s) until the broker's log has a line matching `line`,
   * at index `from` (default 0) or later; resolves with that line.
   */
  logged(line: RegExp, options?: { from?: number; timeoutMs?: number }): Promise<string>;
}

/** The broker's log lines after their timestamps. */
export async function logLines(midge: LoggedMidge): Promise<string[]> {
  return (await midge.log()).trimEnd().split("\n").map((l) => l.replace(/^\d+: /, ""));
}

/**
 * Start `midge -c` with `conf` (after `log_dest file` and `log_type all`), run `fn`, then kill
 * every peer it spawned and the broker.
 */
export async function withMidge(
  conf: string,
  fn: (ctx: MidgeContext) => Promise<void>,
): Promise<void> {
  const midge = await startLoggedMidge(conf);
  const peers: Subprocess[] = [];
  const ctx: MidgeContext = {
    midge,
    spawn(command, args) {
      const peer = new Subprocess(command, args);
      peers.push(peer);
      return peer;
    },
    async run(command, args, timeoutMs = 10_000) {
      const peer = ctx.spawn(command, args);
      const exit = await peer.wait(timeoutMs);
      return Object.assign(peer, { code: exit.code });
    },
    async logged(line, options = {}) {
      const deadline = Date.now() + (options.timeoutMs ?? 5000);
      for (;;) {
        const found = (await logLines(midge)).slice(options.from ?? 0).find((l) => line.test(l));
        if (found !== undefined) return found;
        if (Date.now() > deadline) throw new Error(`the broker did not log ${line}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
  };
  try {
    await fn(ctx);
  } catch (error) {
    if (error instanceof Error) {
      const tail = (await logLines(midge)).slice(-40).join("\n");
      error.message += `\n--- broker log (last 40 lines) ---\n${tail}`;
    }
    throw error;
  } finally {
    await Promise.all(peers.map((p) => p.kill("SIGKILL")));
    await midge.close();
  }
}
