/**
 * The Markdown report of a benchmark run: one table of medians with the Midge/Mosquitto ratio,
 * the exact loss accounting of every run, and what else was using the machine.
 *
 * @module
 */

import type { BrokerName } from "./brokers.ts";
import type { GeneratorOutput } from "./generator.ts";
import type { CpuUse } from "./proc.ts";
import type { Metric, Scenario, ScenarioName } from "./scenarios.ts";

/** The outcome of one generator run against one broker. */
export interface RunRecord {
  /** Scenario run. */
  scenario: ScenarioName;
  /** Broker measured. */
  broker: BrokerName;
  /** Repetition, from 0. */
  repetition: number;
  /** What the generator reported. */
  output: GeneratorOutput;
}

/** Everything the report states besides the records. */
export interface ReportContext {
  /** The exact command line. */
  command: string;
  /** Scenarios run, in order. */
  scenarios: Scenario[];
  /** Brokers measured, Midge first. */
  brokers: BrokerName[];
  /** Repetitions. */
  repetitions: number;
  /** Lines describing the machine and the versions. */
  environment: string[];
  /** `uptime` before and after the run. */
  uptime: { before: string; after: string };
  /** Wall time of the whole run, seconds. */
  elapsedS: number;
}

/** The median of `values` (undefined when empty). */
export function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** `value` with `digits` decimals and thousands separators; "—" when there is none. */
export function format(value: number | undefined, digits: number): string {
  if (value === undefined || !Number.isFinite(value)) return "—";
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** "median ±spread%" over the repetitions of one broker. */
export function cell(values: number[], digits: number): string {
  const m = median(values);
  if (m === undefined) return "—";
  if (values.length < 2 || m === 0) return format(m, digits);
  const spread = ((Math.max(...values) - Math.min(...values)) / Math.abs(m)) * 100;
  return `${format(m, digits)} ±${spread.toFixed(0)}%`;
}

/** The median over repetitions of a / b in the same repetition (maps: repetition -> value). */
export function ratioByRepetition(
  a: Map<number, number>,
  b: Map<number, number>,
): number | undefined {
  const ratios: number[] = [];
  for (const [rep, v] of a) {
    const w = b.get(rep);
    if (w !== undefined && w !== 0) ratios.push(v / w);
  }
  return median(ratios);
}

/**
 * The CPU columns of a CPU table, medians over runs: broker, generator, other processes (with
 * their maximum), softirq, and core 0 / core 1 busy.
 */
export function cpuCells(cpus: CpuUse[]): string {
  const med = (xs: (number | undefined)[]) =>
    format(median(xs.filter((x): x is number => x !== undefined)), 0);
  const others = cpus.map((c) => c.otherPct ?? 0);
  return `${med(cpus.map((c) => c.brokerPct))} | ${med(cpus.map((c) => c.generatorPct))} | ` +
    `${med(others)} (${format(Math.max(...others), 0)}) | ${
      med(cpus.map((c) => c.softirqPct))
    } | ` +
    `${med(cpus.map((c) => c.coreBusyPct[0]))} / ${med(cpus.map((c) => c.coreBusyPct[1]))}`;
}

function valuesOf(
  records: RunRecord[],
  where: { scenario: ScenarioName; broker: BrokerName },
  metric: Metric,
): Map<number, number> {
  const byRep = new Map<number, number>();
  for (const r of records) {
    if (r.scenario !== where.scenario || r.broker !== where.broker) continue;
    const v = metric.pick(r.output);
    if (v !== undefined && Number.isFinite(v)) byRep.set(r.repetition, v);
  }
  return byRep;
}

/** A run's generator core was at least this busy (%)... */
const GENERATOR_BOUND_CORE_PCT = 90;
/** ...while the broker used less than this (% of a core): the generator set the pace. */
const GENERATOR_BOUND_BROKER_PCT = 90;

/** Whether the generator's core (CPU 0), not the broker, limited the run. */
export function generatorBound(output: GeneratorOutput): boolean {
  if (output.kind !== "load") return false;
  const cpu = output.result.cpu;
  return (cpu.coreBusyPct[0] ?? 0) >= GENERATOR_BOUND_CORE_PCT &&
    (cpu.brokerPct ?? 100) < GENERATOR_BOUND_BROKER_PCT;
}

/** The main table: scenario, metric, Midge, Mosquitto, ratio. */
export function figuresTable(records: RunRecord[], context: ReportContext): string {
  const brokers = context.brokers;
  const both = brokers.includes("Midge") && brokers.includes("Mosquitto");
  const header = ["scenario", "metric", ...brokers, ...(both ? ["ratio Midge/Mosquitto"] : [])];
  const lines = [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i < 2 ? "---" : "---:")).join("|")}|`,
  ];
  for (const scenario of context.scenarios) {
    scenario.metrics.forEach((metric, i) => {
      const perBroker = brokers.map((b) =>
        valuesOf(records, { scenario: scenario.name, broker: b }, metric)
      );
      const cells = perBroker.map((m, k) => {
        const text = cell([...m.values()], metric.digits);
        if (!metric.throughput) return text;
        const runs = records.filter((r) => r.scenario === scenario.name && r.broker === brokers[k]);
        const bound = runs.filter((r) => generatorBound(r.output)).length;
        return bound > 0 ? `${text} § ${bound}/${runs.length}` : text;
      });
      const row = [i === 0 ? scenario.title : "", metric.label, ...cells];
      if (both) {
        const [midge, mosquitto] = [
          perBroker[brokers.indexOf("Midge")],
          perBroker[
            brokers.indexOf("Mosquitto")
          ],
        ];
        const r = ratioByRepetition(midge, mosquitto);
        row.push(r !== undefined ? `${r.toFixed(2)}×` : "—");
      }
      lines.push(`| ${row.join(" | ")} |`);
    });
  }
  return lines.join("\n");
}

/** Exact delivery accounting, summed over the repetitions. */
export function lossTable(records: RunRecord[], context: ReportContext): string {
  const lines = [
    "| scenario | broker | runs exact | expected | delivered | missing | duplicates | " +
    "out of order | lost conns | e2e resets | errors |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
  ];
  for (const scenario of context.scenarios) {
    for (const broker of context.brokers) {
      const runs = records.filter((r) => r.scenario === scenario.name && r.broker === broker);
      if (runs.length === 0) continue;
      const sum = { exact: 0, expected: 0, delivered: 0, missing: 0, dups: 0, ooo: 0, lost: 0 };
      let resets = 0;
      const errors: string[] = [];
      for (const { output } of runs) {
        if (output.kind === "error") {
          errors.push(output.message);
        } else if (output.kind === "load") {
          const r = output.result;
          if (r.exact) sum.exact++;
          sum.expected += r.expected;
          sum.delivered += r.delivered;
          sum.missing += r.missing;
          sum.dups += r.duplicates;
          sum.ooo += r.outOfOrder;
          sum.lost += r.lostConnections;
          resets += r.e2eResets;
          errors.push(...r.errors);
        } else if (output.kind === "conns") {
          const r = output.result;
          if (r.connected === r.connections && r.lostDuringHold === 0) sum.exact++;
          sum.expected += r.connections;
          sum.delivered += r.connected;
          sum.missing += r.connections - r.connected;
          sum.lost += r.lostDuringHold;
          errors.push(...r.errors);
        }
      }
      const n = (v: number) => format(v, 0);
      lines.push(
        `| ${scenario.name} | ${broker} | ${sum.exact}/${runs.length} | ${n(sum.expected)} | ` +
          `${n(sum.delivered)} | ${n(sum.missing)} | ${n(sum.dups)} | ${n(sum.ooo)} | ` +
          `${n(sum.lost)} | ${n(resets)} | ${errors.slice(0, 2).join("; ") || "—"} |`,
      );
    }
  }
  return lines.join("\n");
}

/** Median CPU use per scenario and broker, and the generator's own lag at a fixed rate. */
export function cpuTable(records: RunRecord[], context: ReportContext): string {
  const lines = [
    "| scenario | broker | broker CPU % | generator CPU % | other processes % (max) | " +
    "softirq % | core 0 / core 1 busy % | generator send lag p50 / p99 ms |",
    "|---|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const scenario of context.scenarios) {
    for (const broker of context.brokers) {
      const outs = records
        .filter((r) => r.scenario === scenario.name && r.broker === broker)
        .map((r) => r.output);
      const cpus = outs.flatMap((o) => (o.kind === "error" ? [] : [o.result.cpu]));
      if (cpus.length === 0) continue;
      const lags = outs.flatMap((
        o,
      ) => (o.kind === "load" && o.result.sendLag ? [o.result.sendLag] : []));
      const lag = lags.length > 0
        ? `${format(median(lags.map((l) => l.p50Us / 1000)), 2)} / ${
          format(median(lags.map((l) => l.p99Us / 1000)), 2)
        }`
        : "—";
      lines.push(`| ${scenario.name} | ${broker} | ${cpuCells(cpus)} | ${lag} |`);
    }
  }
  return lines.join("\n");
}

/** The footnotes that apply to the scenarios run. */
function notes(records: RunRecord[], context: ReportContext): string[] {
  const ran = new Set(context.scenarios.map((s) => s.name));
  const lines: string[] = [];
  if (records.some((r) => generatorBound(r.output))) {
    lines.push(
      `§ n/N: in n of N runs the generator's core was ≥ ${GENERATOR_BOUND_CORE_PCT}% busy ` +
        `while the broker used < ${GENERATOR_BOUND_BROKER_PCT}% of its core: the generator ` +
        "(or other processes on its core) set the pace, so the broker's figure and the ratio " +
        "are lower bounds.",
      "",
    );
  }
  if (ran.has("latency")) {
    lines.push(
      "(d): the 10,000 msg/s are spread evenly (publisher i sends messages i, i+100, i+200... " +
        "of one schedule), latency is counted from each message's scheduled time, and the " +
        "generator's own lateness is shown as send lag below. mqttbench `-r` starts its 100 " +
        "publishers together (bursts of 100 every 10 ms), so its p50 is higher on the same broker.",
      "",
    );
  }
  if (ran.has("conns") || ran.has("conns_max")) {
    lines.push(
      "‡ connects/s is bounded by this generator (one Deno thread, 64 handshakes at a time), " +
        "not only by the brokers: mqttbench reaches 1.5-2 times as many.",
      "",
    );
  }
  return lines;
}

/** The whole report. */
export function renderReport(records: RunRecord[], context: ReportContext): string {
  return [
    "## Midge vs Mosquitto: `deno task bench`",
    "",
    "```",
    context.command,
    "```",
    "",
    ...context.environment.map((l) => `- ${l}`),
    `- load before: \`${context.uptime.before}\``,
    `- load after:  \`${context.uptime.after}\``,
    `- ${context.repetitions} repetition(s), brokers alternating in order; ${
      context.elapsedS.toFixed(0)
    } s in all`,
    "",
    `Medians of ${context.repetitions} run(s); ±x% = (max − min) / median; the ratio is the ` +
    "median over repetitions of Midge / Mosquitto in the same repetition (higher = more, " +
    "whether that is better or worse).",
    "",
    figuresTable(records, context),
    "",
    ...notes(records, context),
    "### Delivery (exact, from sequence numbers; summed over repetitions)",
    "",
    "For conns, expected/delivered/missing count connections.",
    "",
    lossTable(records, context),
    "",
    "### CPU (% of one core, medians) — other processes show the noise of a shared machine",
    "",
    cpuTable(records, context),
    "",
  ].join("\n");
}
