/**
 * The tools' benchmark: `midge pub -l` and `midge sub` against `mosquitto_pub -l` and
 * `mosquitto_sub`, each talking to the same Mosquitto 2.0 broker, alternating. Part of
 * `deno task bench`.
 *
 * ```
 * deno run -A scripts/bench_tools.ts [--messages N] [--reps N]
 * ```
 *
 * - pub: the tool publishes N lines of standard input at QoS 0 (`pub -l`), pinned to core 1,
 *   with the broker on core 0 and no subscriber; the rate is N over the tool's whole run.
 * - sub: a persistent session (`-c`) is made, N QoS 0 messages are queued for it while it is
 *   away (`queue_qos0_messages`), then the tool (core 1) resumes it and prints them all
 *   (`-C N`, to a file); the rate is N over the tool's whole run.
 *
 * Both rates include each tool's start-up (Deno's is about 0.1 s). A Markdown table goes to
 * standard output, progress to standard error.
 *
 * @module
 */

import { parseArgs } from "node:util";

const ROOT = new URL("..", import.meta.url).pathname;
const MAIN = `${ROOT}main.ts`;
const ENV = { NO_COLOR: "1", RUST_BACKTRACE: "0" };
const PORT = 18880;
const BROKER_CPU = "0";
const TOOL_CPU = "1";

type Impl = "Midge" | "Mosquitto";

function toolCommand(impl: Impl, tool: "pub" | "sub", args: string[]): string[] {
  return impl === "Mosquitto"
    ? [`mosquitto_${tool}`, ...args]
    : [Deno.execPath(), "run", "-A", MAIN, tool, ...args];
}

/** Run `command` pinned to the tools' core; resolves to its wall time in seconds. */
async function timed(command: string[], stdinFile?: string, stdoutFile?: string): Promise<number> {
  const started = performance.now();
  const child = new Deno.Command("taskset", {
    args: ["-c", TOOL_CPU, ...command],
    env: ENV,
    stdin: stdinFile === undefined ? "null" : "piped",
    stdout: stdoutFile === undefined ? "null" : "piped",
    stderr: "inherit",
  }).spawn();
  const feeding = stdinFile === undefined
    ? Promise.resolve()
    : Deno.open(stdinFile).then((file) => file.readable.pipeTo(child.stdin));
  const draining = stdoutFile === undefined
    ? Promise.resolve()
    : Deno.open(stdoutFile, { write: true, create: true, truncate: true }).then((file) =>
      child.stdout.pipeTo(file.writable)
    );
  const status = await child.status;
  await Promise.all([feeding, draining]);
  if (!status.success) throw new Error(`${command.join(" ")} exited ${status.code}`);
  return (performance.now() - started) / 1000;
}

async function startMosquitto(dir: string): Promise<Deno.ChildProcess> {
  const conf = `${dir}/mosquitto.conf`;
  await Deno.writeTextFile(
    conf,
    `listener ${PORT} 127.0.0.1\nallow_anonymous true\npersistence false\n` +
      "max_queued_messages 0\nmax_inflight_messages 0\nqueue_qos0_messages true\nlog_dest none\n",
  );
  const child = new Deno.Command("taskset", {
    args: ["-c", BROKER_CPU, "mosquitto", "-c", conf],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 200; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port: PORT })).close();
      return child;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  child.kill();
  throw new Error("mosquitto did not start");
}

const HOST = ["-h", "127.0.0.1", "-p", String(PORT)];

async function pubRate(impl: Impl, lines: string, n: number): Promise<number> {
  const seconds = await timed(toolCommand(impl, "pub", [...HOST, "-t", "bench/pub", "-l"]), lines);
  return n / seconds;
}

async function subRate(impl: Impl, lines: string, n: number, out: string): Promise<number> {
  const session = ["-i", `bench-sub-${impl}`, "-c", "-q", "0", "-t", "bench/sub"];
  await timed(toolCommand("Mosquitto", "sub", [...HOST, ...session, "-E"]));
  await timed(["mosquitto_pub", ...HOST, "-t", "bench/sub", "-l"], lines);
  const seconds = await timed(
    toolCommand(impl, "sub", [...HOST, ...session, "-C", String(n)]),
    undefined,
    out,
  );
  const printed = (await Deno.readTextFile(out)).split("\n").length - 1;
  if (printed !== n) throw new Error(`${impl} sub printed ${printed} of ${n} lines`);
  return n / seconds;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { messages: { type: "string" }, reps: { type: "string" } },
  });
  const n = Number(values.messages ?? 500_000);
  const reps = Number(values.reps ?? 3);
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(reps) || reps < 1 || reps > 20) {
    console.error("usage: deno run -A scripts/bench_tools.ts [--messages N] [--reps 1-20]");
    Deno.exit(1);
  }
  const hasMosquitto = await new Deno.Command("mosquitto", { args: ["-h"], stdout: "null" })
    .output().then(() => true, () => false);
  if (!hasMosquitto) {
    console.log("## Tools: not measured (mosquitto is not installed; it is the common broker)");
    Deno.exit(0);
  }
  const dir = await Deno.makeTempDir();
  const lines = `${dir}/lines.txt`;
  await Deno.writeTextFile(
    lines,
    Array.from({ length: n }, (_, i) => `message ${i} of the tools benchmark`).join("\n") + "\n",
  );
  const broker = await startMosquitto(dir);
  const rates: Record<string, number[]> = {};
  try {
    for (let rep = 0; rep < reps; rep++) {
      const order: Impl[] = rep % 2 === 0 ? ["Midge", "Mosquitto"] : ["Mosquitto", "Midge"];
      for (const impl of order) {
        const pub = await pubRate(impl, lines, n);
        const sub = await subRate(impl, lines, n, `${dir}/out.txt`);
        (rates[`pub ${impl}`] ??= []).push(pub);
        (rates[`sub ${impl}`] ??= []).push(sub);
        console.error(
          `[${rep + 1}/${reps}] ${impl}: pub -l ${Math.round(pub)} msg/s, sub ${
            Math.round(sub)
          } msg/s`,
        );
      }
    }
  } finally {
    broker.kill();
    await broker.status;
    await Deno.remove(dir, { recursive: true });
  }
  const fmt = (x: number) => Math.round(x).toLocaleString("en-US");
  console.log(`## Tools: midge pub / sub vs mosquitto_pub / mosquitto_sub\n`);
  console.log(
    `\`deno run -A scripts/bench_tools.ts --messages ${n} --reps ${reps}\`: ${n} QoS 0 ` +
      "messages through one Mosquitto 2.0 broker (core 0), the tool on core 1; medians.\n",
  );
  console.log("| tool | Midge msg/s | Mosquitto msg/s | Midge / Mosquitto |");
  console.log("|---|---:|---:|---:|");
  for (const tool of ["pub", "sub"]) {
    const midge = median(rates[`${tool} Midge`]);
    const mosquitto = median(rates[`${tool} Mosquitto`]);
    const label = tool === "pub" ? "pub -l" : "sub";
    console.log(
      `| ${label} | ${fmt(midge)} | ${fmt(mosquitto)} | ${(midge / mosquitto).toFixed(2)}x |`,
    );
  }
}
