/**
 * The persistence benchmark: Midge with persistence off and on against Mosquitto 2.0 with
 * `persistence true`, in the same run. Part of `deno task bench`.
 *
 * ```
 * deno run -A scripts/bench_persistence.ts [--quick] [--reps N]
 * ```
 *
 * 1. Throughput to persistent subscribers: the main benchmark's "pairs" scenario (100 pairs,
 *    QoS 1, 256 B, window 64) with every subscriber on clean session = false and a fixed
 *    client id; the generator runs as its own process pinned to CPU 0.
 * 2. Crash: a session is made and left, N QoS 1 messages are published to it, the broker is
 *    killed with SIGKILL as soon as the last one is acknowledged, restarted on the same
 *    configuration and directory, and the session resumed: what was acknowledged and not
 *    received was lost (scripts/bench/persist_crash.ts; the clients run in this process).
 *
 * Each set-up is started fresh per run, pinned to CPU 1 (`taskset -c 1`), with a fresh, empty
 * persistence directory, from scripts/bench/mosquitto.conf with its listener set to a port in
 * 18880-18899 and, with persistence, `persistence true` and `persistence_location DIR/`. The
 * order of the set-ups alternates between repetitions. The Markdown report goes to standard
 * output, progress to standard error.
 *
 * @module
 */

import { readBenchOptions } from "./bench/command_line.ts";
import { findOnPath, mosquittoVersion } from "./bench/brokers.ts";
import { type GeneratorJob, type GeneratorOutput, runGeneratorProcess } from "./bench/generator.ts";
import { midgeRevision, uptime } from "./bench/host.ts";
import { type CrashSpec, runCrash } from "./bench/persist_crash.ts";
import {
  type CrashOutput,
  type CrashRecord,
  renderPersistReport,
  type ThroughputRecord,
} from "./bench/persist_report.ts";
import {
  startVariant,
  type Variant,
  type VariantName,
  type VariantPlace,
  type VariantRun,
  VARIANTS,
} from "./bench/persist_variants.ts";
import { type Metric, scenarios } from "./bench/scenarios.ts";

const FIRST_PORT = 18880;
const PORTS = 20;
const BROKER_CPU = 1;
const GENERATOR_CPU = 0;
/** Lines of a broker's standard error kept per set-up for the report. */
const LOG_LINES = 5;

/** The crash test's parameters; `messages` is set by --quick. */
const CRASH: Omit<CrashSpec, "port" | "messages"> = {
  hostname: "127.0.0.1",
  payloadBytes: 256,
  window: 64,
  quietMs: 2_000,
  timeoutMs: 120_000,
};
const CRASH_MESSAGES = { full: 20_000, quick: 5_000 };

const USAGE = `usage: deno run -A scripts/bench_persistence.ts [--quick] [--reps N]

  --quick        one repetition, 2 s throughput runs, ${CRASH_MESSAGES.quick} messages per crash
                 test (about 20 s)
  --reps N       repetitions (default 3; --quick: 1)

Without --quick: 4 s throughput runs, ${CRASH_MESSAGES.full} messages per crash test.`;

/** The throughput runs: the main benchmark's pairs scenario with persistent subscribers. */
interface ThroughputScenario {
  /** What the runs are, for the report. */
  title: string;
  /** The figures taken from each run (those of pairs). */
  metrics: Metric[];
  /** The generator's job against `port` (broker process `brokerPid`). */
  job(port: number, brokerPid: number): GeneratorJob;
}

function throughputScenario(quick: boolean): ThroughputScenario {
  const pairs = scenarios(quick).find((s) => s.name === "pairs");
  if (pairs === undefined) throw new Error("scripts/bench/scenarios.ts has no pairs scenario");
  return {
    title: pairs.title.replace(/^\([a-z]\) /, ""),
    metrics: pairs.metrics,
    job(port, brokerPid) {
      const job = pairs.job(port, brokerPid);
      return job.kind === "load"
        ? { kind: "load", spec: { ...job.spec, persistentSubscribers: true } }
        : job;
    },
  };
}

function throughputProgress(output: GeneratorOutput): string {
  if (output.kind !== "load") return output.kind === "error" ? `ERROR ${output.message}` : "?";
  const r = output.result;
  const peak = r.brokerPeakRssKb !== undefined ? (r.brokerPeakRssKb / 1024).toFixed(1) : "?";
  return `${Math.round(r.deliveredPerS).toLocaleString("en-US")} msg/s delivered, ` +
    `missing ${r.missing}/${r.expected}, dups ${r.duplicates}, lost conns ${r.lostConnections}` +
    `${r.exact ? "" : " NOT EXACT"}, peak RSS ${peak} MiB, broker cpu ${
      r.cpu.brokerPct?.toFixed(0)
    }%`;
}

function crashProgress(output: CrashOutput): string {
  if (output.kind === "error") return `ERROR ${output.message}`;
  const r = output.result;
  return `acked ${r.acked}/${r.sent}, session ${r.sessionPresent ? "resumed" : "gone"}, ` +
    `received ${r.unique} unique, lost ${r.lost}, dups ${r.duplicates}, ` +
    `back in ${r.restartS.toFixed(2)} s${r.errors.length > 0 ? `; ${r.errors[0]}` : ""}`;
}

/** A broker's standard error lines without what changes from run to run (time, paths, port). */
function logLines(stderr: string, workDir: string): string[] {
  return stderr.split("\n").map((line) =>
    line.trim()
      .replace(/^\d+: /, "")
      .replaceAll(workDir, "WORKDIR")
      .replace(/store-\d+-\w+/g, "store-*")
      .replace(/(midge|mosquitto)-\d+\.conf/g, "$1.conf")
  ).filter((line) => line !== "");
}

/** What every run shares: the work directory, the next port, the live brokers, their logs. */
interface Runs {
  /** Configuration files and persistence directories go here. */
  workDir: string;
  /** Runs started so far (picks the port). */
  started: number;
  /** Brokers running now, to kill on an interrupt. */
  live: Set<VariantRun>;
  /** Aborted on an interrupt: stops the generator process. */
  interrupt: AbortController;
  /** Distinct standard error lines per set-up. */
  logs: Map<VariantName, Set<string>>;
}

/** Start `variant` on the next port, hand it to `use`, then stop it and keep its log lines. */
async function withVariant<T>(
  runs: Runs,
  variant: Variant,
  use: (run: VariantRun, place: VariantPlace) => Promise<T>,
): Promise<T> {
  const place = {
    port: FIRST_PORT + (runs.started++ % PORTS),
    cpu: BROKER_CPU,
    workDir: runs.workDir,
  };
  const run = await startVariant(variant, place);
  runs.live.add(run);
  try {
    return await use(run, place);
  } finally {
    runs.live.delete(run);
    await run.close();
    const kept = runs.logs.get(variant.name)!;
    for (const line of logLines(run.broker.stderrTail(), runs.workDir)) {
      if (kept.size < LOG_LINES) kept.add(line);
    }
  }
}

/** The set-ups in the order of repetition `rep` (alternating). */
function order(variants: readonly Variant[], rep: number): readonly Variant[] {
  return rep % 2 === 0 ? variants : [...variants].reverse();
}

/** Part 1: every set-up, `reps` times, under the generator. */
async function throughputRuns(
  runs: Runs,
  options: { variants: readonly Variant[]; reps: number; scenario: ThroughputScenario },
): Promise<ThroughputRecord[]> {
  const records: ThroughputRecord[] = [];
  for (let rep = 0; rep < options.reps; rep++) {
    for (const variant of order(options.variants, rep)) {
      let output: GeneratorOutput;
      try {
        output = await withVariant(runs, variant, async (run, place) => {
          const job = options.scenario.job(place.port, run.broker.pid);
          const out = await runGeneratorProcess(job, {
            cpu: GENERATOR_CPU,
            signal: runs.interrupt.signal,
          });
          if (out.kind === "error") out.message += ` ${run.broker.stderrTail().trim()}`;
          return out;
        });
      } catch (error) {
        output = { kind: "error", message: (error as Error).message };
      }
      console.error(
        `[${rep + 1}/${options.reps}] throughput ${variant.name}: ${throughputProgress(output)}`,
      );
      records.push({ variant: variant.name, repetition: rep, output });
    }
  }
  return records;
}

/** Part 2: the crash test on every set-up, `reps` times. */
async function crashRuns(
  runs: Runs,
  options: { variants: readonly Variant[]; reps: number; crash: Omit<CrashSpec, "port"> },
): Promise<CrashRecord[]> {
  const records: CrashRecord[] = [];
  for (let rep = 0; rep < options.reps; rep++) {
    for (const variant of order(options.variants, rep)) {
      let output: CrashOutput;
      try {
        output = await withVariant(runs, variant, async (run, place) => ({
          kind: "crash",
          result: await runCrash({ ...options.crash, port: place.port }, {
            kill: () => run.broker.kill(),
            restart: () => run.restart(),
          }),
        }));
      } catch (error) {
        output = { kind: "error", message: (error as Error).message };
      }
      console.error(`[${rep + 1}/${options.reps}] crash ${variant.name}: ${crashProgress(output)}`);
      records.push({ variant: variant.name, repetition: rep, output });
    }
  }
  return records;
}

/** On SIGINT or SIGTERM: stop the generator and the brokers, remove the work directory, exit. */
function interruptHandler(runs: Runs, signal: Deno.Signal): () => void {
  return () => {
    console.error(`bench_persistence: ${signal}; killing the brokers`);
    runs.interrupt.abort();
    Promise.allSettled([...runs.live].map((run) => run.broker.kill())).finally(() => {
      try {
        Deno.removeSync(runs.workDir, { recursive: true });
      } catch {
        // already gone
      }
      Deno.exit(signal === "SIGINT" ? 130 : 143);
    });
  };
}

/** Run the benchmark; resolves to the exit code. */
export async function main(args: string[]): Promise<number> {
  const options = readBenchOptions("bench_persistence", USAGE, args);
  if (typeof options === "number") return options;
  const { quick, reps } = options;
  const mosquitto = findOnPath("mosquitto");
  const variants: readonly Variant[] = mosquitto !== undefined
    ? VARIANTS
    : VARIANTS.filter((v) => v.broker !== "Mosquitto");
  if (mosquitto === undefined) {
    console.error("bench_persistence: mosquitto is not on PATH: measuring Midge alone");
  }
  const scenario = throughputScenario(quick);
  const crash: Omit<CrashSpec, "port"> = {
    ...CRASH,
    messages: quick ? CRASH_MESSAGES.quick : CRASH_MESSAGES.full,
  };

  const started = performance.now();
  const before = await uptime();
  const revision = await midgeRevision();
  const runs: Runs = {
    workDir: await Deno.makeTempDir({ prefix: "midge-bench-persist-" }),
    started: 0,
    live: new Set(),
    interrupt: new AbortController(),
    logs: new Map(variants.map((v) => [v.name, new Set()])),
  };
  const handlers = (["SIGINT", "SIGTERM"] as const).map((signal) => {
    const handler = interruptHandler(runs, signal);
    Deno.addSignalListener(signal, handler);
    return { signal, handler };
  });
  let throughput: ThroughputRecord[] = [];
  let crashes: CrashRecord[] = [];
  try {
    throughput = await throughputRuns(runs, { variants, reps, scenario });
    crashes = await crashRuns(runs, { variants, reps, crash });
  } finally {
    for (const { signal, handler } of handlers) Deno.removeSignalListener(signal, handler);
    await Deno.remove(runs.workDir, { recursive: true }).catch(() => {});
  }

  const after = await uptime();
  const environment = [
    `midge: ${revision} (measured at the start of the run)`,
    `host: ${navigator.hardwareConcurrency} cores, Linux ${Deno.osRelease()}, ` +
    `deno ${Deno.version.deno}` +
    (mosquitto !== undefined ? `, ${(await mosquittoVersion()) ?? "mosquitto"}` : ""),
    `brokers: \`taskset -c ${BROKER_CPU} deno run -A --v8-flags=... main.ts -c CONF\`` +
    (mosquitto !== undefined ? `, \`taskset -c ${BROKER_CPU} mosquitto -c CONF\`` : "") +
    ", CONF = scripts/bench/mosquitto.conf with the run's port and, for persistence, " +
    "`persistence true` + `persistence_location DIR/` (fresh process and empty DIR per run, " +
    "127.0.0.1, ports 18880-18899)",
    `throughput generator: \`taskset -c ${GENERATOR_CPU} deno run -A scripts/bench/generator.ts ` +
    "'<job JSON>'` (a fresh process per run); crash test clients: in the script's process, " +
    "unpinned",
  ];
  const brokerLog = variants.flatMap((v) => {
    const lines = [...runs.logs.get(v.name)!];
    return lines.length > 0 ? [{ variant: v.name, lines }] : [];
  });
  console.log(renderPersistReport(throughput, crashes, {
    command: ["deno", "run", "-A", "scripts/bench_persistence.ts", ...args].join(" "),
    environment,
    uptime: { before, after },
    repetitions: reps,
    elapsedS: (performance.now() - started) / 1000,
    variants,
    throughputTitle: scenario.title,
    metrics: scenario.metrics,
    crash,
    brokerLog,
  }));
  const failed = [...throughput, ...crashes].some((r) => r.output.kind === "error");
  return failed ? 2 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
