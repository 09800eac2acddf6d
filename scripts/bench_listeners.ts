/**
 * The listeners benchmark: Midge and Mosquitto 2.0 (when `mosquitto` is on PATH) behind a plain
 * TCP, a TLS and a WebSocket listener, in the same run. Part of `deno task bench`.
 *
 * ```
 * deno run -A scripts/bench_listeners.ts [--quick] [--only RUN[,RUN]] [--reps N]
 * ```
 *
 * Runs, against every set-up: the main benchmark's fan-in (10 publishers, 1 subscriber, QoS 0,
 * 64 B) and pairs (100 pairs, QoS 1, 256 B, window 64) scenarios, and a handshake rate (4
 * connectors in a loop of connect, CONNECT, CONNACK, DISCONNECT). As in scripts/bench.ts, each
 * run gets a fresh broker pinned to CPU 1 and a fresh generator process pinned to CPU 0; the
 * set-up order alternates between repetitions. The certificates (a CA and a server certificate
 * for 127.0.0.1, EC P-256) are made with openssl at the start, in a temporary folder. Each
 * set-up is started once first, and left out if it cannot start (Mosquitto's websockets). The
 * Markdown report goes to standard output, progress to standard error.
 *
 * @module
 */

import { readBenchOptions } from "./bench/command_line.ts";
import { makeCertificates } from "../tests/fixtures/certs.ts";
import { type BrokerName, findOnPath, mosquittoVersion, startBroker } from "./bench/brokers.ts";
import { type GeneratorOutput, progressLine, runGeneratorProcess } from "./bench/generator.ts";
import { midgeRevision, uptime } from "./bench/host.ts";
import {
  type CertFiles,
  listenerLines,
  listenerRuns,
  RUN_NAMES,
  type Setup,
  setups,
  transportOf,
} from "./bench/listener_setups.ts";
import { type ListenerRecord, renderListenersReport } from "./bench/listeners_report.ts";

const FIRST_PORT = 18900;
const PORTS = 20;
const BROKER_CPU = 1;
const GENERATOR_CPU = 0;

const USAGE = `usage: deno run -A scripts/bench_listeners.ts [--quick] [--only RUN[,RUN]] [--reps N]

  --quick        one repetition, 2 s runs (about 1 minute)
  --only LIST    make only these runs: ${RUN_NAMES.join(", ")}
  --reps N       repetitions (default 3; --quick: 1)`;

/** The CA and server certificate, readable by the user `mosquitto` (Mosquitto drops root). */
async function certificates(): Promise<{ files: CertFiles; dir: string }> {
  const made = await makeCertificates();
  await Deno.chmod(made.dir, 0o755);
  await Deno.chmod(made.server.key, 0o644);
  return { dir: made.dir, files: { cert: made.server.cert, key: made.server.key, ca: made.ca } };
}

/**
 * Start `setup` once to see whether it can run here (Mosquitto's websockets need libwebsockets
 * to start); resolves to the last line of its error output when it cannot.
 */
async function startRefusal(
  setup: Setup,
  context: { workDir: string; certs: CertFiles },
): Promise<string | undefined> {
  try {
    const broker = await startBroker(setup.broker, {
      port: FIRST_PORT + PORTS,
      cpu: BROKER_CPU,
      workDir: context.workDir,
      listenerLines: listenerLines(setup, context.certs),
    });
    await broker.stop();
    return undefined;
  } catch (error) {
    return (error as Error).message.trim().split("\n").pop()?.replace(/^\d+: /, "");
  }
}

/** Run the benchmark; resolves to the exit code. */
export async function main(args: string[]): Promise<number> {
  const options = readBenchOptions("bench_listeners", USAGE, args, RUN_NAMES);
  if (typeof options === "number") return options;
  const brokers: BrokerName[] = ["Midge"];
  const mosquitto = findOnPath("mosquitto");
  if (mosquitto !== undefined) brokers.push("Mosquitto");
  else console.error("bench_listeners: mosquitto is not on PATH: measuring Midge alone");
  const certs = await certificates();
  const workDir = await Deno.makeTempDir({ prefix: "midge-bench-listeners-" });
  const notes: string[] = [];
  const allSetups: Setup[] = [];
  for (const setup of setups(brokers)) {
    const refusal = await startRefusal(setup, { workDir, certs: certs.files });
    if (refusal === undefined) allSetups.push(setup);
    else notes.push(`${setup.name} left out: it does not start here (${refusal})`);
  }
  for (const note of notes) console.error(`bench_listeners: ${note}`);
  const runs = listenerRuns(options.quick).filter((r) =>
    options.only.length === 0 || options.only.includes(r.name)
  );

  const started = performance.now();
  const before = await uptime();
  const revision = await midgeRevision();
  const records: ListenerRecord[] = [];
  let runCount = 0;
  try {
    for (let rep = 0; rep < options.reps; rep++) {
      for (const run of runs) {
        const order = rep % 2 === 0 ? allSetups : [...allSetups].reverse();
        for (const setup of order) {
          const port = FIRST_PORT + (runCount++ % PORTS);
          let output: GeneratorOutput;
          try {
            const broker = await startBroker(setup.broker, {
              port,
              cpu: BROKER_CPU,
              workDir,
              listenerLines: listenerLines(setup, certs.files),
            });
            try {
              const job = run.job(port, broker.pid, transportOf(setup, certs.files));
              output = await runGeneratorProcess(job, { cpu: GENERATOR_CPU });
            } finally {
              await broker.stop();
            }
            if (output.kind === "error") output.message += ` ${broker.stderrTail().trim()}`;
          } catch (error) {
            output = { kind: "error", message: (error as Error).message };
          }
          console.error(
            `[${rep + 1}/${options.reps}] ${run.name} ${setup.name}: ${progressLine(output)}`,
          );
          records.push({ run: run.name, setup: setup.name, repetition: rep, output });
        }
      }
    }
  } finally {
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
    await Deno.remove(certs.dir, { recursive: true }).catch(() => {});
  }
  const after = await uptime();
  const environment = [
    `midge: ${revision} (measured at the start of the run)`,
    `host: ${navigator.hardwareConcurrency} cores, Linux ${Deno.osRelease()}, deno ${Deno.version.deno}` +
    (mosquitto !== undefined ? `, ${(await mosquittoVersion()) ?? "mosquitto"}` : ""),
    `brokers: \`taskset -c ${BROKER_CPU} deno run -A --v8-flags=... main.ts -c CONF\`` +
    (mosquitto !== undefined ? `, \`taskset -c ${BROKER_CPU} mosquitto -c CONF\`` : "") +
    ", CONF = scripts/bench/mosquitto.conf with its listener on the run's port and, for TLS, " +
    "`certfile` + `keyfile` (EC P-256, made by openssl at the start), for ws, " +
    "`protocol websockets` (fresh process per run, 127.0.0.1, ports 18900-18920)",
    `generator: \`taskset -c ${GENERATOR_CPU} deno run -A scripts/bench/generator.ts '<job JSON>'\`` +
    " (a fresh process per run); TLS through Deno.startTls (rustls), WebSocket through " +
    "scripts/bench/transport.ts",
    ...notes,
  ];
  console.log(renderListenersReport(records, {
    command: ["deno", "run", "-A", "scripts/bench_listeners.ts", ...args].join(" "),
    environment,
    uptime: { before, after },
    repetitions: options.reps,
    elapsedS: (performance.now() - started) / 1000,
    setups: allSetups,
    runs,
  }));
  return records.some((r) => r.output.kind === "error") ? 2 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
