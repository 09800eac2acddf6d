/**
 * The load benchmark: Midge against Mosquitto 2.0 (when `mosquitto` is on PATH) in the same
 * run, with the project's own load generator (scripts/bench/). Part of `deno task bench`.
 *
 * ```
 * deno run -A scripts/bench.ts [--quick] [--only SCENARIO[,SCENARIO]] [--reps N]
 * ```
 *
 * For each repetition, for each scenario, each broker in turn (the order alternates between
 * repetitions): start the broker fresh, pinned to CPU 1 (`taskset -c 1`), on a loopback port
 * in 18860-18879; run the generator as its own process pinned to CPU 0 (`taskset -c 0 deno run
 * scripts/bench/generator.ts`), so that broker and generator never share a core and every run
 * starts with a fresh heap; stop the broker by pid. The Markdown report goes to standard output,
 * progress to standard error. Scenarios: fanin, fanout, pairs, latency, conns
 * (scripts/bench/scenarios.ts). `--quick`: one repetition, 2 s runs.
 *
 * @module
 */

import { readBenchOptions } from "./bench/command_line.ts";
import { type BrokerName, findOnPath, mosquittoVersion, startBroker } from "./bench/brokers.ts";
import { type GeneratorOutput, progressLine, runGeneratorProcess } from "./bench/generator.ts";
import { midgeRevision, uptime } from "./bench/host.ts";
import { renderReport, type RunRecord } from "./bench/report.ts";
import { type Scenario, SCENARIO_NAMES, scenarios } from "./bench/scenarios.ts";

const FIRST_PORT = 18860;
const PORTS = 20;
const BROKER_CPU = 1;
const GENERATOR_CPU = 0;

const USAGE = `usage: deno run -A scripts/bench.ts [--quick] [--only SCENARIO[,SCENARIO]] [--reps N]

  --quick        one repetition, 2 s runs (about 30 s)
  --only LIST    run only these scenarios: ${SCENARIO_NAMES.join(", ")}
  --reps N       repetitions (default 3; --quick: 1)`;

/** Run the benchmark; resolves to the exit code. */
export async function main(args: string[]): Promise<number> {
  const options = readBenchOptions("bench", USAGE, args, SCENARIO_NAMES);
  if (typeof options === "number") return options;
  const all = scenarios(options.quick);
  const chosen: Scenario[] = options.only.length > 0
    ? all.filter((s) => options.only.includes(s.name))
    : all;
  const brokers: BrokerName[] = ["Midge"];
  const mosquitto = findOnPath("mosquitto");
  if (mosquitto !== undefined) brokers.push("Mosquitto");
  else console.error("bench: mosquitto is not on PATH: measuring Midge alone");

  const started = performance.now();
  const before = await uptime();
  const revision = await midgeRevision();
  const workDir = await Deno.makeTempDir({ prefix: "midge-bench-" });
  const records: RunRecord[] = [];
  let run = 0;
  try {
    for (let rep = 0; rep < options.reps; rep++) {
      for (const scenario of chosen) {
        const order = rep % 2 === 0 ? brokers : [...brokers].reverse();
        for (const name of order) {
          const port = FIRST_PORT + (run++ % PORTS);
          const label = `[${rep + 1}/${options.reps}] ${scenario.name} ${name}`;
          let output: GeneratorOutput;
          try {
            const broker = await startBroker(name, { port, cpu: BROKER_CPU, workDir });
            try {
              output = await runGeneratorProcess(scenario.job(port, broker.pid), {
                cpu: GENERATOR_CPU,
              });
            } finally {
              await broker.stop();
            }
            if (output.kind === "error") output.message += ` ${broker.stderrTail().trim()}`;
          } catch (error) {
            output = { kind: "error", message: (error as Error).message };
          }
          console.error(`${label}: ${progressLine(output)}`);
          records.push({ scenario: scenario.name, broker: name, repetition: rep, output });
        }
      }
    }
  } finally {
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
  const after = await uptime();
  const cmdline = ["deno", "run", "-A", "scripts/bench.ts", ...args].join(" ");
  const environment = [
    `midge: ${revision} (measured at the start of the run)`,
    `host: ${navigator.hardwareConcurrency} cores, Linux ${Deno.osRelease()}, deno ${Deno.version.deno}` +
    (mosquitto !== undefined ? `, ${(await mosquittoVersion()) ?? "mosquitto"}` : ""),
    `brokers: \`taskset -c ${BROKER_CPU} deno run -A --v8-flags=... main.ts -c CONF\`` +
    (mosquitto !== undefined ? `, \`taskset -c ${BROKER_CPU} mosquitto -c CONF\`` : "") +
    ", CONF = scripts/bench/mosquitto.conf with its listener set to the run's port" +
    " (fresh process per run, 127.0.0.1, ports 18860-18879)",
    `generator: \`taskset -c ${GENERATOR_CPU} deno run -A scripts/bench/generator.ts '<job JSON>'\`` +
    " (a fresh process per run)",
  ];
  console.log(renderReport(records, {
    command: cmdline,
    scenarios: chosen,
    brokers,
    repetitions: options.reps,
    environment,
    uptime: { before, after },
    elapsedS: (performance.now() - started) / 1000,
  }));
  return records.some((r) => r.output.kind === "error") ? 2 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
