/**
 * Running the command line tools under test as child processes: Mosquitto's `mosquitto_pub`,
 * `mosquitto_sub`, `mosquitto_rr`, or Midge's `deno run -A main.ts pub|sub|rr`. Output is kept
 * as bytes (payloads may be binary), every wait is bounded, and a child that outlives its time
 * is killed and reported, so a missing or hanging tool fails a test fast instead of stalling it.
 *
 * @module
 */
import { concatBytes } from "../../src/codec/bytes.ts";
import { awaitOrKill } from "../fixtures/net.ts";

/** Which implementation of the tools runs. */
export type Impl = "mosquitto" | "midge";

/** Which tool. */
export type Tool = "pub" | "sub" | "rr";

/** The repository root (where main.ts and deno.json are). */
export const REPO_ROOT: string = new URL("../../", import.meta.url).pathname;

/** Midge's entry point. */
export const MAIN_TS: string = `${REPO_ROOT}main.ts`;

/**
 * `XDG_CONFIG_HOME` for every tool run: a directory that does not exist, so a personal
 * `~/.config/mosquitto_sub` (default options read by Mosquitto's tools) cannot change a result.
 */
export const NO_CONFIG_DIR = "/nonexistent/midge-tools-test-config";

/** How a tool is named in messages and test names: `mosquitto_sub` or `midge sub`. */
export function toolLabel(impl: Impl, tool: Tool): string {
  return impl === "mosquitto" ? `mosquitto_${tool}` : `midge ${tool}`;
}

/** The command and arguments that run `tool` of `impl` with `args`. */
export function toolCommand(impl: Impl, tool: Tool, args: string[]): [string, string[]] {
  if (impl === "mosquitto") return [`mosquitto_${tool}`, args];
  return [Deno.execPath(), ["run", "-A", "--quiet", MAIN_TS, tool, ...args]];
}

/** Options of `runTool` and `spawnTool`. */
export interface ToolOptions {
  /** Written to stdin, which is then closed. Without it stdin is empty (closed at once). */
  stdin?: string | Uint8Array;
  /** Keep stdin open for `ToolProcess.write` (spawnTool only). */
  pipeStdin?: boolean;
  /** Kill the child and fail after this many ms (default 10 s). */
  timeoutMs?: number;
  /** Extra environment (added to the inherited one and the harness's defaults). */
  env?: Record<string, string>;
}

/** How a tool run ended. */
export interface ToolResult {
  /** Exit code (128 + the signal number when killed by a signal). */
  code: number;
  /** The signal that ended it, if any. */
  signal: Deno.Signal | null;
  /** Everything written to stdout. */
  stdout: Uint8Array;
  /** Everything written to stderr. */
  stderr: string;
}

const decoder = new TextDecoder();

/** Exit code, stdout as text and stderr in one value, for one assertion with a readable diff. */
export function outcome(r: ToolResult): { code: number; stdout: string; stderr: string } {
  return { code: r.code, stdout: text(r.stdout), stderr: r.stderr };
}

/** stdout as text (UTF-8, invalid bytes replaced). */
export function text(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * A running tool. stdout is collected as bytes and stderr as text while it runs; `wait` and
 * `kill` always leave the child reaped and its pipes closed (the test sanitizers check both).
 */
export class ToolProcess {
  /** The command line, for messages. */
  readonly commandLine: string;
  /** When it was started (`Date.now()`). */
  readonly startedAt: number = Date.now();
  /** When it exited (`Date.now()`), once it has. */
  exitedAt: number | undefined;
  #child: Deno.ChildProcess;
  #chunks: Uint8Array[] = [];
  #length = 0;
  #stderr = "";
  #status: Deno.CommandStatus | undefined;
  #done: Promise<void>;
  #stdinOpen: boolean;
  #feeding: Promise<void> | undefined;
  #changed: (() => void) | undefined;

  /** Start `tool` of `impl` with `args`. */
  constructor(impl: Impl, tool: Tool, args: string[], options: ToolOptions = {}) {
    const [command, fullArgs] = toolCommand(impl, tool, args);
    this.commandLine = [toolLabel(impl, tool), ...args.map(quote)].join(" ");
    const feed = options.stdin !== undefined;
    this.#stdinOpen = feed || options.pipeStdin === true;
    this.#child = new Deno.Command(command, {
      args: fullArgs,
      cwd: REPO_ROOT,
      env: {
        NO_COLOR: "1",
        RUST_BACKTRACE: "0",
        XDG_CONFIG_HOME: NO_CONFIG_DIR,
        ...options.env,
      },
      stdin: this.#stdinOpen ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const status = this.#child.status.then((s) => {
      this.#status = s;
      this.exitedAt = Date.now();
      this.#wake();
    });
    this.#feeding = feed ? this.#feed(options.stdin!) : undefined;
    this.#done = Promise.all([status, this.#readStdout(), this.#readStderr(), this.#feeding])
      .then(() => {});
  }

  async #feed(input: string | Uint8Array): Promise<void> {
    await this.write(input);
    await this.#closeStdinNow();
  }

  async #readStdout(): Promise<void> {
    for await (const chunk of this.#child.stdout) {
      this.#chunks.push(chunk);
      this.#length += chunk.length;
      this.#wake();
    }
  }

  async #readStderr(): Promise<void> {
    for await (const t of this.#child.stderr.pipeThrough(new TextDecoderStream())) {
      this.#stderr += t;
      this.#wake();
    }
  }

  #wake(): void {
    const w = this.#changed;
    this.#changed = undefined;
    w?.();
  }

  /** Resolve when output arrives or it exits, or after `ms`. */
  #nextChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#changed = undefined;
        resolve();
      }, Math.max(0, ms));
      this.#changed = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Whether it has exited. */
  get exited(): boolean {
    return this.#status !== undefined;
  }

  /** The exit code, once it has exited. */
  get code(): number | undefined {
    return this.#status?.code;
  }

  /** stdout so far, as bytes. */
  stdout(): Uint8Array {
    if (this.#chunks.length > 1) this.#chunks = [concatBytes(this.#chunks)];
    return this.#chunks[0] ?? new Uint8Array(0);
  }

  /** stdout so far, as text. */
  stdoutText(): string {
    return text(this.stdout());
  }

  /** Complete stdout lines so far (a last line without "\n" is left out). */
  lines(): string[] {
    const all = this.stdoutText().split("\n");
    all.pop();
    return all;
  }

  /** stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** Bytes of stdout so far. */
  get stdoutLength(): number {
    return this.#length;
  }

  /** What it printed so far and how it ended, for failure messages. */
  describe(): string {
    const s = this.#status;
    const state = s === undefined
      ? "still running"
      : `exited with code ${s.code}${s.signal ? ` (${s.signal})` : ""}`;
    const out = this.stdoutText();
    const shown = out.length > 2000 ? `${out.slice(0, 1000)} ... ${out.slice(-1000)}` : out;
    return `${this.commandLine}: ${state}\n  stdout: ${JSON.stringify(shown)}\n  stderr: ${
      JSON.stringify(this.#stderr)
    }`;
  }

  /** Write to stdin (started with `pipeStdin` or `stdin`). */
  async write(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    const writer = this.#child.stdin.getWriter();
    try {
      await writer.write(bytes);
    } catch {
      // it exited without reading all of its input: its exit status says what happened
    } finally {
      writer.releaseLock();
    }
  }

  /** Close stdin (end of input); with `stdin` given, once all of it has been written. */
  async closeStdin(): Promise<void> {
    if (this.#feeding !== undefined) {
      await this.#feeding;
      return;
    }
    await this.#closeStdinNow();
  }

  async #closeStdinNow(): Promise<void> {
    if (!this.#stdinOpen) return;
    this.#stdinOpen = false;
    try {
      await this.#child.stdin.close();
    } catch {
      // it has gone, and its stdin with it
    }
  }

  /**
   * Wait until `condition()` holds (checked whenever output arrives, and every 50 ms). Fails
   * after `timeoutMs`, or as soon as it exits without the condition holding.
   */
  async waitUntil(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (condition()) return;
      if (this.exited) {
        await this.#done;
        if (condition()) return;
        throw new Error(`exited before ${what}\n${this.describe()}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${this.describe()}`);
      }
      await this.#nextChange(Math.min(left, 50));
    }
  }

  /** Wait until it has printed at least `count` complete lines. */
  async waitForLines(count: number, timeoutMs = 5000): Promise<string[]> {
    await this.waitUntil(() => this.lines().length >= count, `${count} lines`, timeoutMs);
    return this.lines();
  }

  /** Wait until at least `count` bytes are on stdout. */
  async waitForBytes(count: number, timeoutMs = 5000): Promise<Uint8Array> {
    await this.waitUntil(() => this.#length >= count, `${count} bytes of output`, timeoutMs);
    return this.stdout();
  }

  /**
   * Wait for it to exit by itself (stdin is closed first). After `timeoutMs` it is killed and
   * this throws with what it printed.
   */
  async wait(timeoutMs = 10_000): Promise<ToolResult> {
    if (this.#feeding === undefined) await this.#closeStdinNow();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), timeoutMs);
    });
    const result = await Promise.race([this.#done, late]);
    clearTimeout(timer);
    if (result === "late") {
      const state = this.describe();
      await this.kill("SIGKILL");
      throw new Error(`did not exit within ${timeoutMs} ms\n${state}`);
    }
    return this.#result();
  }

  /** Send `signal` unless it has exited, then wait (at most 5 s, then SIGKILL) for its end. */
  async kill(signal: Deno.Signal = "SIGTERM"): Promise<ToolResult> {
    if (!this.exited) {
      try {
        this.#child.kill(signal);
      } catch {
        // exited meanwhile
      }
    }
    if (this.#feeding === undefined) await this.#closeStdinNow();
    await awaitOrKill(this.#child, this.#done);
    return this.#result();
  }

  #result(): ToolResult {
    const s = this.#status!;
    return { code: s.code, signal: s.signal, stdout: this.stdout(), stderr: this.#stderr };
  }
}

/**
 * Start `tool` of `impl` (`mosquitto_pub` / `midge pub` ...) with `args`, for a tool that runs
 * for a while (a `sub` waiting for messages). The caller must `wait()` or `kill()` it.
 */
export function spawnTool(
  impl: Impl,
  tool: Tool,
  args: string[],
  options: ToolOptions = {},
): ToolProcess {
  return new ToolProcess(impl, tool, args, options);
}

/**
 * Run `tool` of `impl` with `args` to its end and return its exit code, stdout (bytes) and
 * stderr. Killed, and failing with what it printed, after `timeoutMs` (default 10 s).
 */
export async function runTool(
  impl: Impl,
  tool: Tool,
  args: string[],
  options: ToolOptions = {},
): Promise<ToolResult> {
  return await spawnTool(impl, tool, args, options).wait(options.timeoutMs ?? 10_000);
}
