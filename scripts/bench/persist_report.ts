/**
 * The Markdown report of the persistence benchmark (scripts/bench_persistence.ts): throughput
 * to persistent subscribers per broker set-up with the ratios between them, the exact delivery
 * accounting and CPU of those runs, and the crash test's losses.
 *
 * @module
 */

import type { GeneratorOutput } from "./generator.ts";
import type { CrashResult, CrashSpec } from "./persist_crash.ts";
import type { Variant, VariantName } from "./persist_variants.ts";
import { cell, cpuCells, format, generatorBound, ratioByRepetition } from "./report.ts";
import type { Metric } from "./scenarios.ts";

/** One throughput run of one set-up. */
export interface ThroughputRecord {
  /** The set-up measured. */
  variant: VariantName;
  /** Repetition, from 0. */
  repetition: number;
  /** What the generator reported. */
  output: GeneratorOutput;
}

/** What one crash test gave. */
export type CrashOutput = { kind: "crash"; result: CrashResult } | {
  kind: "error";
  message: string;
};

/** One crash test of one set-up. */
export interface CrashRecord {
  /** The set-up tested. */
  variant: VariantName;
  /** Repetition, from 0. */
  repetition: number;
  /** What it found. */
  output: CrashOutput;
}

/** Everything the report states besides the records. */
export interface PersistReportContext {
  /** The exact command line. */
  command: string;
  /** Lines describing the machine, the versions and how the brokers ran. */
  environment: string[];
  /** `uptime` before and after. */
  uptime: { before: string; after: string };
  /** Repetitions. */
  repetitions: number;
  /** Wall time of the whole run, seconds. */
  elapsedS: number;
  /** The set-ups measured, in column order. */
  variants: readonly Variant[];
  /** What the throughput runs were (a title). */
  throughputTitle: string;
  /** The throughput figures. */
  metrics: Metric[];
  /** What each crash test did. */
  crash: Pick<CrashSpec, "messages" | "payloadBytes" | "window" | "quietMs">;
  /** The first distinct lines each set-up's broker wrote to standard error (warnings, errors). */
  brokerLog: { variant: VariantName; lines: string[] }[];
}

/** The ratio Midge on / Midge off must reach. */
const TARGET_ON_OFF = 0.5;
/** Longest error text in a table cell. */
const ERROR_CELL_CHARS = 400;

/** Error texts as one table cell: one line, no column breaks, bounded; "—" when none. */
function errorCell(errors: string[]): string {
  const text = errors.slice(0, 2).join("; ").replace(/\s+/g, " ").replaceAll("|", "\\|").trim();
  if (text === "") return "—";
  return text.length > ERROR_CELL_CHARS ? `${text.slice(0, ERROR_CELL_CHARS)}…` : text;
}

/** Per repetition, `metric` of `variant`'s throughput run. */
function valuesOf(
  records: ThroughputRecord[],
  variant: VariantName,
  metric: Metric,
): Map<number, number> {
  const byRep = new Map<number, number>();
  for (const r of records) {
    const v = r.variant === variant ? metric.pick(r.output) : undefined;
    if (v !== undefined && Number.isFinite(v)) byRep.set(r.repetition, v);
  }
  return byRep;
}

/** The pairs of set-ups whose ratio the figures table shows, when both were measured. */
function ratioPairs(variants: readonly Variant[]): [VariantName, VariantName][] {
  const names = variants.map((v) => v.name);
  const pairs: [VariantName, VariantName][] = [
    ["Midge, persistence on", "Midge, persistence off"],
    ["Midge, persistence on", "Mosquitto 2.0, persistence true"],
    ["Midge, persistence off", "Mosquitto 2.0, persistence true"],
  ];
  return pairs.filter(([a, b]) => names.includes(a) && names.includes(b));
}

/** Short names for the ratio columns. */
const SHORT: Record<VariantName, string> = {
  "Midge, persistence off": "Midge off",
  "Midge, persistence on": "Midge on",
  "Mosquitto 2.0, persistence true": "Mosquitto",
};

/** Medians per set-up and the ratios between set-ups. */
export function throughputTable(
  records: ThroughputRecord[],
  context: PersistReportContext,
): string {
  const pairs = ratioPairs(context.variants);
  const header = [
    "metric",
    ...context.variants.map((v) => v.name),
    ...pairs.map(([a, b]) => `${SHORT[a]} / ${SHORT[b]}`),
  ];
  const lines = [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
  ];
  for (const metric of context.metrics) {
    const cells = context.variants.map((v) => {
      const text = cell([...valuesOf(records, v.name, metric).values()], metric.digits);
      if (!metric.throughput) return text;
      const runs = records.filter((r) => r.variant === v.name);
      const bound = runs.filter((r) => generatorBound(r.output)).length;
      return bound > 0 ? `${text} § ${bound}/${runs.length}` : text;
    });
    const ratios = pairs.map(([a, b]) => {
      const r = ratioByRepetition(valuesOf(records, a, metric), valuesOf(records, b, metric));
      return r !== undefined ? `${r.toFixed(2)}×` : "—";
    });
    lines.push(`| ${[metric.label, ...cells, ...ratios].join(" | ")} |`);
  }
  return lines.join("\n");
}

/** The verdict on Midge on / Midge off delivered msg/s against the target. */
function targetLine(records: ThroughputRecord[], context: PersistReportContext): string[] {
  const delivered = context.metrics.find((m) => m.throughput);
  if (delivered === undefined) return [];
  const r = ratioByRepetition(
    valuesOf(records, "Midge, persistence on", delivered),
    valuesOf(records, "Midge, persistence off", delivered),
  );
  if (r === undefined) return [];
  const verdict = r >= TARGET_ON_OFF ? "met" : "NOT met";
  return [
    `**Midge on / Midge off: ${(r * 100).toFixed(0)}%** of the delivered msg/s (target ≥ ` +
    `${TARGET_ON_OFF * 100}%: ${verdict}).`,
    "",
  ];
}

/** Exact delivery accounting of the throughput runs, summed over repetitions. */
export function throughputLossTable(
  records: ThroughputRecord[],
  context: PersistReportContext,
): string {
  const lines = [
    "| broker | runs exact | expected | delivered | missing | duplicates | out of order | " +
    "lost conns | errors |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---|",
  ];
  const n = (v: number) => format(v, 0);
  for (const variant of context.variants) {
    const runs = records.filter((r) => r.variant === variant.name);
    if (runs.length === 0) continue;
    const sum = { exact: 0, expected: 0, delivered: 0, missing: 0, dups: 0, ooo: 0, lost: 0 };
    const errors: string[] = [];
    for (const { output } of runs) {
      if (output.kind !== "load") {
        if (output.kind === "error") errors.push(output.message);
        continue;
      }
      const r = output.result;
      if (r.exact) sum.exact++;
      sum.expected += r.expected;
      sum.delivered += r.delivered;
      sum.missing += r.missing;
      sum.dups += r.duplicates;
      sum.ooo += r.outOfOrder;
      sum.lost += r.lostConnections;
      errors.push(...r.errors);
    }
    lines.push(
      `| ${variant.name} | ${sum.exact}/${runs.length} | ${n(sum.expected)} | ` +
        `${n(sum.delivered)} | ${n(sum.missing)} | ${n(sum.dups)} | ${n(sum.ooo)} | ` +
        `${n(sum.lost)} | ${errorCell(errors)} |`,
    );
  }
  return lines.join("\n");
}

/** Median CPU use of the throughput runs per set-up. */
export function throughputCpuTable(
  records: ThroughputRecord[],
  context: PersistReportContext,
): string {
  const lines = [
    "| broker | broker CPU % | generator CPU % | other processes % (max) | softirq % | " +
    "core 0 / core 1 busy % |",
    "|---|---:|---:|---:|---:|---:|",
  ];
  for (const variant of context.variants) {
    const cpus = records.flatMap((r) =>
      r.variant === variant.name && r.output.kind === "load" ? [r.output.result.cpu] : []
    );
    if (cpus.length === 0) continue;
    lines.push(`| ${variant.name} | ${cpuCells(cpus)} |`);
  }
  return lines.join("\n");
}

/** One row per crash test. */
export function crashTable(records: CrashRecord[], context: PersistReportContext): string {
  const lines = [
    "| broker | rep | sent | acknowledged | all acked in s | session resumed | " +
    "received after restart (unique) | lost | duplicates | kill → listening again s | errors |",
    "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---|",
  ];
  const n = (v: number) => format(v, 0);
  for (const variant of context.variants) {
    for (const { repetition, output } of records.filter((r) => r.variant === variant.name)) {
      const head = `| ${variant.name} | ${repetition + 1} |`;
      if (output.kind === "error") {
        const dashes = " — |".repeat(8);
        lines.push(`${head}${dashes} ${errorCell([output.message])} |`);
        continue;
      }
      const r = output.result;
      const errors = [...(r.timedOut ? ["a phase timed out"] : []), ...r.errors];
      lines.push(
        `${head} ${n(r.sent)} | ${n(r.acked)} | ${format(r.publishS, 2)} | ` +
          `${r.sessionPresent ? "yes" : "no"} | ` +
          `${n(r.unique)} | ${n(r.lost)} | ${n(r.duplicates)} | ${format(r.restartS, 2)} | ` +
          `${errorCell(errors)} |`,
      );
    }
  }
  return lines.join("\n");
}

/** The whole report. */
export function renderPersistReport(
  throughput: ThroughputRecord[],
  crashes: CrashRecord[],
  context: PersistReportContext,
): string {
  const anyBound = throughput.some((r) => generatorBound(r.output));
  const crash = context.crash;
  const log = context.brokerLog.length > 0
    ? [
      "What the brokers wrote to standard error (first distinct lines per set-up; the " +
      "configuration logs warnings and errors only):",
      "",
      ...context.brokerLog.flatMap(({ variant, lines }) => [
        `- ${variant}:`,
        ...lines.map((line) => `  - \`${line}\``),
      ]),
      "",
    ]
    : [];
  return [
    "## Persistence: Midge vs Mosquitto",
    "",
    "```",
    context.command,
    "```",
    "",
    ...context.environment.map((l) => `- ${l}`),
    `- load before: \`${context.uptime.before}\``,
    `- load after:  \`${context.uptime.after}\``,
    `- ${context.repetitions} repetition(s), set-ups alternating in order; ${
      context.elapsedS.toFixed(0)
    } s in all`,
    "",
    ...log,
    `### 1. Throughput to persistent subscribers: ${context.throughputTitle}`,
    "",
    "Every subscriber connects with clean session = false and a fixed client id and subscribes " +
    "at QoS 1; publishers are clean. Each run starts a fresh broker with a fresh, empty " +
    `persistence directory. Medians of ${context.repetitions} run(s); ±x% = (max − min) / ` +
    "median; a ratio is the median over repetitions of the two set-ups' figures in the same " +
    "repetition.",
    "",
    throughputTable(throughput, context),
    "",
    ...targetLine(throughput, context),
    ...(anyBound
      ? [
        "§ n/N: in n of N runs the generator's core was saturated while the broker's was not: " +
        "the generator (or other processes on its core) set the pace, so that figure and its " +
        "ratios are lower bounds.",
        "",
      ]
      : []),
    "Delivery (exact, from sequence numbers; summed over repetitions):",
    "",
    throughputLossTable(throughput, context),
    "",
    "CPU (% of one core, medians):",
    "",
    throughputCpuTable(throughput, context),
    "",
    "### 2. Messages that survive a crash (SIGKILL)",
    "",
    "A subscriber makes a session (clean session = false, QoS 1 subscription) and disconnects; " +
    `a publisher sends ${format(crash.messages, 0)} QoS 1 messages of ${crash.payloadBytes} B ` +
    `(window ${crash.window}); as soon as the last PUBACK arrives the broker is killed with ` +
    "SIGKILL and restarted on the same configuration and directory; the subscriber resumes its " +
    `session and collects until nothing arrives for ${crash.quietMs / 1000} s. Lost = ` +
    "acknowledged but never " +
    "received. Mosquitto writes its database only every `autosave_interval` (1800 s by " +
    "default) and on a clean shutdown, so a kill loses everything since its last save; " +
    "Midge off keeps nothing by design (the reference).",
    "",
    crashTable(crashes, context),
    "",
  ].join("\n");
}
