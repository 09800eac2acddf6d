/**
 * The bridge benchmark: a local broker bridging `bench/#` out to a remote Mosquitto 2.0, with
 * Mosquitto 2.0 and Midge as the local broker in the same run. Part of `deno task bench`.
 *
 * ```
 * deno run -A scripts/bench_bridge.ts [--quick] [--reps N]
 * ```
 *
 * Both local brokers read scripts/bench/mosquitto.conf with its listener on the run's port and
 * this `connection` block appended (Q = the run's QoS):
 *
 * ```
 * connection bench
 * address 127.0.0.1:REMOTE_PORT
 * topic bench/# out Q
 * restart_timeout 1
 * ```
 *
 * The remote is always Mosquitto, from the same file. The local broker is pinned to CPU 1, the
 * remote and the generator share CPU 0 (the machine has two cores; the remote's work is the
 * same whichever broker bridges to it). Ports: 18930-18949 on 127.0.0.1.
 *
 * 1. Throughput: the main benchmark's fan-in (10 publishers on the local broker, one
 *    subscriber to `bench/#` on the remote, 64 B) at QoS 0 and at QoS 1 (bridge topic at the
 *    same QoS), with an end-to-end window of 1000 messages per publisher at both QoS so that
 *    the bridge's queue stays bounded and the run measures the bridge's steady rate. A run
 *    starts once a probe published on the local broker has reached the remote. The local
 *    broker's CPU time per bridged message is reported too: with the remote and the generator
 *    sharing one core, that core sets the pace, and the ceiling run shows how far.
 *    Ceiling: the same load with no bridge, the publishers on the remote itself (same cores):
 *    no bridging broker can deliver more than the remote and the generator manage alone.
 * 2. Drain, once per local broker: a persistent subscriber is left on the remote (persistence
 *    on), the remote is stopped, the local broker started, 100,000 QoS 1 messages published
 *    to it and acknowledged, the remote started again and the subscriber resumed: the drain
 *    time runs from the remote accepting connections to the last message received
 *    (scripts/bench/bridge_flows.ts). Once only: Mosquitto alone takes over a minute to
 *    accept 100,000 messages for a bridge that is down.
 *
 * Every run starts fresh brokers; the order of the local brokers alternates between
 * repetitions of the throughput runs. A local broker that refuses the `connection` block is left out (noted in the
 * report). The Markdown report goes to standard output, progress to standard error.
 *
 * @module
 */

import { type BrokerName, findOnPath, mosquittoVersion, startBroker } from "./bench/brokers.ts";
import { type DrainResult, runDrain, waitForBridge } from "./bench/bridge_flows.ts";
import { readBenchOptions } from "./bench/command_line.ts";
import { type GeneratorOutput, progressLine, runGeneratorProcess } from "./bench/generator.ts";
import { midgeRevision, uptime } from "./bench/host.ts";
import { cell, format, ratioByRepetition } from "./bench/report.ts";
import { scenarios } from "./bench/scenarios.ts";

const FIRST_PORT = 18930;
/** Ports used in turn, two per run (local, remote). */
const PORTS = 20;
const LOCAL_CPU = 1;
const REMOTE_CPU = 0;
const GENERATOR_CPU = 0;
const HOSTNAME = "127.0.0.1";
/** Longest wait for a bridge to carry its first message (Mosquitto retries every second). */
const BRIDGE_UP_MS = 15_000;
/** Messages per publisher sent but not yet received at the remote, at both QoS. */
const E2E_WINDOW = 1000;
/** The drain test's parameters; `messages` is cut by --quick. */
const DRAIN = { payloadBytes: 64, window: 64, timeoutMs: 180_000, quietMs: 5_000 };
const DRAIN_MESSAGES = { full: 100_000, quick: 20_000 };
/** Local brokers, in the order of even repetitions (Mosquitto is the reference). */
const LOCALS: readonly BrokerName[] = ["Mosquitto", "Midge"];

const USAGE = `usage: deno run -A scripts/bench_bridge.ts [--quick] [--reps N]

  --quick        one repetition, 2 s throughput runs, ${DRAIN_MESSAGES.quick} messages drained
  --reps N       repetitions (default 3; --quick: 1)

Without --quick: 4 s throughput runs, ${DRAIN_MESSAGES.full} messages drained.`;

/** The `connection` block that bridges `bench/#` out at `qos` to the remote at `remotePort`. */
function bridgeBlock(remotePort: number, qos: 0 | 1): string[] {
  return [
    "connection bench",
    `address ${HOSTNAME}:${remotePort}`,
    `topic bench/# out ${qos}`,
    "restart_timeout 1",
  ];
}

/** One measured run. */
type BridgeRecord =
  | {
    kind: "throughput";
    qos: 0 | 1;
    local: BrokerName;
    repetition: number;
    output: GeneratorOutput;
  }
  | { kind: "ceiling"; qos: 0 | 1; local?: undefined; repetition: number; output: GeneratorOutput }
  | { kind: "drain"; local: BrokerName; repetition: number; output: DrainResult | Error };

/** What the runs share: the work directory and the next pair of ports. */
interface Runs {
  workDir: string;
  started: number;
}

function nextPorts(runs: Runs): { localPort: number; remotePort: number } {
  const at = FIRST_PORT + (runs.started++ % (PORTS / 2)) * 2;
  return { localPort: at, remotePort: at + 1 };
}

/**
 * The fan-in load at `qos`: publishers on `publisherPort` (broker process `pid`), the
 * subscriber on the remote's port.
 */
async function faninLoad(
  options: { qos: 0 | 1; quick: boolean },
  ports: { publisherPort: number; remotePort: number },
  pid: number,
): Promise<GeneratorOutput> {
  const fanin = scenarios(options.quick).find((s) => s.name === "fanin")!.job(
    ports.publisherPort,
    pid,
  );
  if (fanin.kind !== "load") throw new Error("scripts/bench/scenarios.ts: fanin is not a load");
  const spec = {
    ...fanin.spec,
    qos: options.qos,
    subscriberPort: ports.remotePort,
    e2eWindow: E2E_WINDOW,
  };
  return await runGeneratorProcess({ kind: "load", spec }, { cpu: GENERATOR_CPU });
}

/**
 * Start the remote and, unless `local` is undefined (the ceiling run), `local` bridged to it
 * at `qos`; run the load; stop both.
 */
async function throughputRun(
  runs: Runs,
  options: { local?: BrokerName; qos: 0 | 1; quick: boolean },
): Promise<GeneratorOutput> {
  const { localPort, remotePort } = nextPorts(runs);
  const remote = await startBroker("Mosquitto", {
    port: remotePort,
    cpu: REMOTE_CPU,
    workDir: runs.workDir,
  });
  try {
    if (options.local === undefined) {
      return await faninLoad(options, { publisherPort: remotePort, remotePort }, remote.pid);
    }
    const local = await startBroker(options.local, {
      port: localPort,
      cpu: LOCAL_CPU,
      workDir: runs.workDir,
      tailLines: bridgeBlock(remotePort, options.qos),
    });
    try {
      await waitForBridge({ hostname: HOSTNAME, localPort, remotePort }, BRIDGE_UP_MS);
      const output = await faninLoad(options, { publisherPort: localPort, remotePort }, local.pid);
      if (output.kind === "error") output.message += ` ${local.stderrTail().trim()}`;
      return output;
    } finally {
      await local.stop();
    }
  } finally {
    await remote.stop();
  }
}

/** The drain test with `local` as the bridging broker and a fresh remote store. */
async function drainRun(
  runs: Runs,
  options: { local: BrokerName; messages: number },
): Promise<DrainResult> {
  const { localPort, remotePort } = nextPorts(runs);
  const persistenceDir = await Deno.makeTempDir({ dir: runs.workDir, prefix: "remote-store-" });
  // Mosquitto started as root runs as the user `mosquitto`, which must write there.
  await Deno.chmod(persistenceDir, 0o777);
  const remoteOptions = {
    port: remotePort,
    cpu: REMOTE_CPU,
    workDir: runs.workDir,
    persistenceDir,
  };
  let remote = await startBroker("Mosquitto", remoteOptions);
  let local: Awaited<ReturnType<typeof startBroker>> | undefined;
  try {
    return await runDrain({
      ...DRAIN,
      hostname: HOSTNAME,
      localPort,
      remotePort,
      messages: options.messages,
    }, {
      async linkDown() {
        await remote.stop();
        local = await startBroker(options.local, {
          port: localPort,
          cpu: LOCAL_CPU,
          workDir: runs.workDir,
          tailLines: bridgeBlock(remotePort, 1),
        });
      },
      async linkUp() {
        remote = await startBroker("Mosquitto", remoteOptions);
      },
    });
  } finally {
    await local?.stop();
    await remote.stop();
    await Deno.remove(persistenceDir, { recursive: true });
  }
}

/** The generator's progress line and how busy each core was (which one set the pace). */
function throughputProgress(output: GeneratorOutput): string {
  if (output.kind !== "load") return progressLine(output);
  const cores = output.result.cpu.coreBusyPct.map((pct) => pct.toFixed(0)).join("/");
  return `${progressLine(output)}; cores busy ${cores}%`;
}

function drainProgress(output: DrainResult | Error): string {
  if (output instanceof Error) return `ERROR ${output.message}`;
  return `published in ${output.publishS.toFixed(2)} s, ` +
    `${output.unique}/${output.acked} arrived, all in ${output.allS.toFixed(2)} s ` +
    `(first after ${output.firstS.toFixed(2)} s), dups ${output.duplicates}, ` +
    `out of order ${output.outOfOrder}${output.timedOut ? ", TIMED OUT" : ""}` +
    `${output.errors.length > 0 ? `; ${output.errors[0]}` : ""}`;
}

/**
 * Start `local` once with a bridge to a port nobody listens on; resolves to the last line of
 * its error output when it refuses to (Midge before its bridges are built).
 */
async function bridgeRefusal(local: BrokerName, runs: Runs): Promise<string | undefined> {
  const { localPort, remotePort } = nextPorts(runs);
  try {
    const broker = await startBroker(local, {
      port: localPort,
      cpu: LOCAL_CPU,
      workDir: runs.workDir,
      tailLines: bridgeBlock(remotePort, 1),
    });
    await broker.stop();
    return undefined;
  } catch (error) {
    return (error as Error).message.trim().split("\n").pop()?.replace(/^\d+: /, "");
  }
}

/** The figures of `records` for one row, by local broker and repetition. */
function values(
  records: BridgeRecord[],
  pick: (r: BridgeRecord) => number | undefined,
  local: BrokerName,
): Map<number, number> {
  const byRep = new Map<number, number>();
  for (const r of records) {
    if (r.local !== local) continue;
    const v = pick(r);
    if (v !== undefined && Number.isFinite(v)) byRep.set(r.repetition, v);
  }
  return byRep;
}

/** The Markdown report. */
function renderBridgeReport(
  records: BridgeRecord[],
  context: { locals: BrokerName[]; command: string; environment: string[]; messages: number },
): string {
  const delivered = (qos: 0 | 1) => (r: BridgeRecord) =>
    r.kind === "throughput" && r.qos === qos && r.output.kind === "load"
      ? r.output.result.deliveredPerS
      : undefined;
  /** A drain figure, when the drain got so far (all acknowledged; with `arrived`, all arrived). */
  const drained = (figure: (d: DrainResult) => number, arrived = true) => (r: BridgeRecord) =>
    r.kind === "drain" && !(r.output instanceof Error) && r.output.acked >= context.messages &&
      (!arrived || r.output.unique >= r.output.acked)
      ? figure(r.output)
      : undefined;
  /** The local broker's CPU time per bridged message, µs. */
  const cpuPerMessage = (qos: 0 | 1) => (r: BridgeRecord) =>
    r.kind === "throughput" && r.qos === qos && r.output.kind === "load" &&
      r.output.result.cpu.brokerPct !== undefined
      ? r.output.result.cpu.brokerPct * 1e4 / r.output.result.deliveredPerS
      : undefined;
  const queued = `${context.messages.toLocaleString("en-US")} queued QoS 1`;
  const rows = [
    { label: "bridged QoS 0, delivered msg/s", pick: delivered(0), digits: 0 },
    { label: "bridged QoS 1, delivered msg/s", pick: delivered(1), digits: 0 },
    { label: "local broker CPU per bridged message, QoS 0, µs", pick: cpuPerMessage(0), digits: 1 },
    { label: "local broker CPU per bridged message, QoS 1, µs", pick: cpuPerMessage(1), digits: 1 },
    {
      label: `drain: ${queued} accepted while the remote is down, s`,
      pick: drained((d) => d.publishS, false),
      digits: 2,
    },
    {
      label: `drain ${queued}: remote back → last message, s`,
      pick: drained((d) => d.allS),
      digits: 2,
    },
    {
      label: `drain ${queued}: first → last message, s`,
      pick: drained((d) => d.allS - d.firstS),
      digits: 2,
    },
  ];
  const names = context.locals.map((l) => `${l} → Mosquitto`);
  const withRatio = context.locals.includes("Midge") && context.locals.includes("Mosquitto");
  const lines = [
    "# Bridge benchmark",
    "",
    `command: \`${context.command}\``,
    "",
    ...context.environment.map((e) => `- ${e}`),
    "",
    `| | ${names.join(" | ")}${withRatio ? " | Midge / Mosquitto |" : " |"}`,
    `|---|${names.map(() => "---:").join("|")}|${withRatio ? "---:|" : ""}`,
  ];
  for (const row of rows) {
    const byLocal = context.locals.map((l) => values(records, row.pick, l));
    const cells = byLocal.map((m) => cell([...m.values()], row.digits));
    const ratio = withRatio
      ? ` ${
        format(
          ratioByRepetition(
            byLocal[context.locals.indexOf("Midge")],
            byLocal[context.locals.indexOf("Mosquitto")],
          ),
          2,
        )
      } |`
      : "";
    lines.push(`| ${row.label} | ${cells.join(" | ")} |${ratio}`);
  }
  const ceiling = (qos: 0 | 1) =>
    cell(
      records.flatMap((r) =>
        r.kind === "ceiling" && r.qos === qos && r.output.kind === "load"
          ? [r.output.result.deliveredPerS]
          : []
      ),
      0,
    );
  lines.push(
    "",
    `Ceiling of this setup, no bridge (the publishers on the remote itself, same cores): ` +
      `QoS 0 ${ceiling(0)} msg/s, QoS 1 ${ceiling(1)} msg/s delivered. No local broker can ` +
      "bridge more than the remote and the generator deliver alone on their shared core.",
    "",
    "Medians over the repetitions, ±spread (max - min) / median; a ratio is the median over " +
      "repetitions of the two figures in the same repetition. The drain is one run per " +
      "broker (below 1 is faster); its first row includes the bridge's wait before it " +
      "reconnects (`restart_timeout 1`), the second is the transfer alone.",
    "",
    "## Runs",
    "",
    ...records.map((r) =>
      `- [${r.repetition + 1}] ${r.kind === "drain" ? "drain" : `QoS ${r.qos}`} ${
        r.local ?? "ceiling (no bridge)"
      }: ${r.kind === "drain" ? drainProgress(r.output) : throughputProgress(r.output)}`
    ),
  );
  return lines.join("\n");
}

/** Run the benchmark; resolves to the exit code. */
export async function main(args: string[]): Promise<number> {
  const options = readBenchOptions("bench/bridge", USAGE, args);
  if (typeof options === "number") return options;
  if (findOnPath("mosquitto") === undefined) {
    console.error("bench/bridge: mosquitto is not on PATH: no remote to bridge to, skipped");
    return 0;
  }
  const { quick, reps } = options;
  const messages = quick ? DRAIN_MESSAGES.quick : DRAIN_MESSAGES.full;
  const started = performance.now();
  const before = await uptime();
  const revision = await midgeRevision();
  const runs: Runs = {
    workDir: await Deno.makeTempDir({ prefix: "midge-bench-bridge-" }),
    started: 0,
  };
  // Mosquitto started as root drops to the user `mosquitto`: it must reach the store.
  await Deno.chmod(runs.workDir, 0o711);
  const notes: string[] = [];
  const locals: BrokerName[] = [];
  const records: BridgeRecord[] = [];
  try {
    for (const local of LOCALS) {
      const refusal = await bridgeRefusal(local, runs);
      if (refusal === undefined) locals.push(local);
      else notes.push(`${local} left out: it refuses the connection block (${refusal})`);
    }
    for (const note of notes) console.error(`bench/bridge: ${note}`);
    for (let rep = 0; rep < reps; rep++) {
      const order = rep % 2 === 0 ? locals : [...locals].reverse();
      for (const qos of [0, 1] as const) {
        const output = await throughputRun(runs, { qos, quick }).catch((error: Error) => ({
          kind: "error" as const,
          message: error.message,
        }));
        console.error(`[${rep + 1}/${reps}] QoS ${qos} ceiling: ${throughputProgress(output)}`);
        records.push({ kind: "ceiling", qos, repetition: rep, output });
        for (const local of order) {
          let output: GeneratorOutput;
          try {
            output = await throughputRun(runs, { local, qos, quick });
          } catch (error) {
            output = { kind: "error", message: (error as Error).message };
          }
          console.error(`[${rep + 1}/${reps}] QoS ${qos} ${local}: ${throughputProgress(output)}`);
          records.push({ kind: "throughput", qos, local, repetition: rep, output });
        }
      }
    }
    for (const local of locals) {
      let output: DrainResult | Error;
      try {
        output = await drainRun(runs, { local, messages });
      } catch (error) {
        output = error as Error;
      }
      console.error(`drain ${local}: ${drainProgress(output)}`);
      records.push({ kind: "drain", local, repetition: 0, output });
    }
  } finally {
    await Deno.remove(runs.workDir, { recursive: true }).catch(() => {});
  }
  const after = await uptime();
  const environment = [
    `midge: ${revision} (measured at the start of the run)`,
    `host: ${navigator.hardwareConcurrency} cores, Linux ${Deno.osRelease()}, ` +
    `deno ${Deno.version.deno}, ${(await mosquittoVersion()) ?? "mosquitto"}`,
    `local broker: \`taskset -c ${LOCAL_CPU} deno run -A --v8-flags=... main.ts -c CONF\` or ` +
    `\`taskset -c ${LOCAL_CPU} mosquitto -c CONF\`, CONF = scripts/bench/mosquitto.conf with ` +
    "the run's port and the connection block of scripts/bench_bridge.ts; remote: " +
    `\`taskset -c ${REMOTE_CPU} mosquitto -c CONF\` (with \`persistence true\` for the drain)`,
    `generator: \`taskset -c ${GENERATOR_CPU} deno run -A scripts/bench/generator.ts ` +
    "'<job JSON>'`; drain clients in the script's process, unpinned",
    `uptime before: ${before}; after: ${after}; ${reps} repetitions in ${
      ((performance.now() - started) / 1000).toFixed(0)
    } s`,
    ...notes,
  ];
  console.log(renderBridgeReport(records, {
    locals,
    command: ["deno", "run", "-A", "scripts/bench_bridge.ts", ...args].join(" "),
    environment,
    messages,
  }));
  const failed = records.some((r) =>
    r.kind === "drain" ? r.output instanceof Error : r.output.kind === "error"
  );
  return failed ? 2 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
