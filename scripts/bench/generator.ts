/**
 * The load generator as a process of its own, so that `scripts/bench.ts` can pin it to one core
 * (`taskset -c 0`) and give every run a fresh heap:
 *
 * ```
 * deno run -A scripts/bench/generator.ts '{"kind":"load","spec":{...}}'
 * ```
 *
 * The argument is a `GeneratorJob` as JSON; the result is printed as one line
 * `RESULT {json}` on standard output. Exit code 0 on a completed run (exact or not), 2 when
 * the run could not be made (connection setup failed). `runGeneratorProcess` is the other end:
 * it starts this process pinned to a core and reads the result back.
 *
 * @module
 */

import { type ConnsResult, type ConnsSpec, runConns } from "./conns.ts";
import { type HandshakesResult, type HandshakesSpec, runHandshakes } from "./handshakes.ts";
import { type LoadResult, type LoadSpec, runLoad } from "./loadgen.ts";

/** What the generator process is asked to do. */
export type GeneratorJob =
  | { kind: "load"; spec: LoadSpec }
  | { kind: "conns"; spec: ConnsSpec }
  | { kind: "handshakes"; spec: HandshakesSpec };

/** What it answers. */
export type GeneratorOutput =
  | { kind: "load"; result: LoadResult }
  | { kind: "conns"; result: ConnsResult }
  | { kind: "handshakes"; result: HandshakesResult }
  | { kind: "error"; message: string };

/** The prefix of the result line. */
export const RESULT_PREFIX = "RESULT ";

const SELF = new URL(import.meta.url).pathname;
const ROOT = new URL("../..", import.meta.url).pathname;
/** Seconds a generator run may take beyond its own deadlines before it is killed. */
const SLACK_S = 60;

/**
 * Run `job` in a generator process of its own pinned to core `cpu` (`taskset -c CPU deno run
 * -A scripts/bench/generator.ts JOB`), killed if it outlives the job's deadlines by a minute or
 * when `signal` aborts; resolves to its output (an error output when it printed no result).
 */
export async function runGeneratorProcess(
  job: GeneratorJob,
  options: { cpu: number; signal?: AbortSignal },
): Promise<GeneratorOutput> {
  const budgetS = job.kind === "load"
    ? job.spec.durationS + job.spec.drainS + 20 + SLACK_S
    : job.kind === "handshakes"
    ? job.spec.durationS + SLACK_S
    : SLACK_S * 2;
  const child = new Deno.Command("taskset", {
    args: ["-c", String(options.cpu), Deno.execPath(), "run", "-A", SELF, JSON.stringify(job)],
    cwd: ROOT,
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: options.signal,
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, budgetS * 1000);
  const out = await child.output();
  clearTimeout(timer);
  const line = new TextDecoder().decode(out.stdout).split("\n")
    .find((l) => l.startsWith(RESULT_PREFIX));
  if (line === undefined) {
    const stderr = new TextDecoder().decode(out.stderr).trim().slice(-500);
    return { kind: "error", message: `generator exited ${out.code} without a result: ${stderr}` };
  }
  return JSON.parse(line.slice(RESULT_PREFIX.length)) as GeneratorOutput;
}

/** Run `job` and print its result line; resolves to the exit code. */
export async function runJob(job: GeneratorJob): Promise<number> {
  let output: GeneratorOutput;
  try {
    switch (job.kind) {
      case "load":
        output = { kind: "load", result: await runLoad(job.spec) };
        break;
      case "conns":
        output = { kind: "conns", result: await runConns(job.spec) };
        break;
      case "handshakes":
        output = { kind: "handshakes", result: await runHandshakes(job.spec) };
        break;
    }
  } catch (error) {
    output = { kind: "error", message: (error as Error).message };
  }
  console.log(RESULT_PREFIX + JSON.stringify(output));
  return output.kind === "error" ? 2 : 0;
}

/** One line of progress for a finished run. */
export function progressLine(output: GeneratorOutput): string {
  if (output.kind === "error") return `ERROR ${output.message}`;
  if (output.kind === "handshakes") {
    const r = output.result;
    return `${r.perS.toFixed(0)} handshakes/s, ${r.failed} failed, p50 ${
      (r.handshake.p50Us / 1000).toFixed(2)
    } ms; cpu broker ${r.cpu.brokerPct?.toFixed(0)}% other ${r.cpu.otherPct?.toFixed(0)}%`;
  }
  if (output.kind === "conns") {
    const r = output.result;
    const perConn = r.bytesPerConnection !== undefined
      ? `${(r.bytesPerConnection / 1024).toFixed(2)} KiB/conn`
      : "no RSS";
    return `${r.connected}/${r.connections} connected, ${r.connectsPerS.toFixed(0)}/s, ${perConn}`;
  }
  const r = output.result;
  const lat = `p50 ${(r.latency.p50Us / 1000).toFixed(2)} ms p99 ${
    (r.latency.p99Us / 1000).toFixed(2)
  } ms`;
  return `${Math.round(r.deliveredPerS).toLocaleString("en-US")} msg/s delivered, ${lat}, ` +
    `missing ${r.missing}/${r.expected}, dups ${r.duplicates}, lost conns ${r.lostConnections}` +
    `${r.exact ? "" : " NOT EXACT"}; cpu broker ${r.cpu.brokerPct?.toFixed(0)}% gen ${
      r.cpu.generatorPct?.toFixed(0)
    }% other ${r.cpu.otherPct?.toFixed(0)}%`;
}

if (import.meta.main) {
  const arg = Deno.args[0];
  if (arg === undefined) {
    console.error("usage: deno run -A scripts/bench/generator.ts '<GeneratorJob JSON>'");
    Deno.exit(1);
  }
  Deno.exit(await runJob(JSON.parse(arg) as GeneratorJob));
}
