/**
 * The Markdown report of the listeners benchmark (scripts/bench_listeners.ts): the figures per
 * set-up with the ratios issue 15 sets goals for, the delivery accounting, and the CPU of each
 * set-up's runs (other processes' share being the noise indicator on a shared machine).
 *
 * @module
 */

import type { GeneratorOutput } from "./generator.ts";
import type { ListenerRun, RunName, Setup } from "./listener_setups.ts";
import { cell, cpuCells, format, generatorBound, ratioByRepetition } from "./report.ts";
import type { Metric } from "./scenarios.ts";

/** One run against one set-up. */
export interface ListenerRecord {
  /** Which run. */
  run: RunName;
  /** The set-up's name. */
  setup: string;
  /** Repetition, from 0. */
  repetition: number;
  /** What the generator reported. */
  output: GeneratorOutput;
}

/** Everything the report states besides the records. */
export interface ListenersReportContext {
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
  /** The set-ups, in column order. */
  setups: readonly Setup[];
  /** The runs made, in row order. */
  runs: readonly ListenerRun[];
}

/** A ratio column: numerator set-up / denominator set-up, and the goal, if issue 15 sets one. */
interface Ratio {
  over: string;
  under: string;
  goal?: number;
}

/** The ratios of the table (those whose set-ups were measured). */
function ratios(setups: readonly Setup[]): Ratio[] {
  const all: Ratio[] = [
    { over: "Midge TLS", under: "Midge TCP" },
    { over: "Midge ws", under: "Midge TCP", goal: 0.5 },
    { over: "Midge TLS", under: "Mosquitto TLS", goal: 3 },
    { over: "Midge ws", under: "Mosquitto ws" },
  ];
  const names = new Set(setups.map((s) => s.name));
  return all.filter((r) => names.has(r.over) && names.has(r.under));
}

function valuesOf(
  records: ListenerRecord[],
  where: { run: RunName; setup: string },
  metric: Metric,
): Map<number, number> {
  const byRep = new Map<number, number>();
  for (const r of records) {
    if (r.run !== where.run || r.setup !== where.setup) continue;
    const v = metric.pick(r.output);
    if (v !== undefined && Number.isFinite(v)) byRep.set(r.repetition, v);
  }
  return byRep;
}

function ratioOf(records: ListenerRecord[], run: RunName, metric: Metric, ratio: Ratio) {
  return ratioByRepetition(
    valuesOf(records, { run, setup: ratio.over }, metric),
    valuesOf(records, { run, setup: ratio.under }, metric),
  );
}

/** Medians per set-up (§ n/N: runs the generator's core limited) and the ratios. */
export function figuresTable(records: ListenerRecord[], context: ListenersReportContext): string {
  const cols = ratios(context.setups);
  const header = [
    "run",
    "metric",
    ...context.setups.map((s) => s.name),
    ...cols.map((r) =>
      `${r.over} / ${r.under}${r.goal !== undefined ? ` (goal ≥ ${r.goal})` : ""}`
    ),
  ];
  const lines = [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i < 2 ? "---" : "---:")).join("|")}|`,
  ];
  for (const run of context.runs) {
    for (const [i, metric] of run.metrics.entries()) {
      const cells = context.setups.map((s) => {
        const text = cell(
          [...valuesOf(records, { run: run.name, setup: s.name }, metric).values()],
          metric.digits,
        );
        if (!metric.throughput) return text;
        const mine = records.filter((r) => r.run === run.name && r.setup === s.name);
        const bound = mine.filter((r) => generatorBound(r.output)).length;
        return bound > 0 ? `${text} § ${bound}/${mine.length}` : text;
      });
      const ratioCells = cols.map((ratio) => {
        if (i !== 0) return "";
        const r = ratioOf(records, run.name, metric, ratio);
        return r !== undefined ? `${r.toFixed(2)}×` : "—";
      });
      lines.push(
        `| ${[i === 0 ? run.name : "", metric.label, ...cells, ...ratioCells].join(" | ")} |`,
      );
    }
  }
  return lines.join("\n");
}

/** One line per goal and run: met or not. */
function goalLines(records: ListenerRecord[], context: ListenersReportContext): string[] {
  const lines: string[] = [];
  for (const ratio of ratios(context.setups)) {
    if (ratio.goal === undefined) continue;
    for (const run of context.runs) {
      if (run.name === "handshakes") continue;
      const r = ratioOf(records, run.name, run.metrics[0], ratio);
      const verdict = r === undefined ? "not measured" : r >= ratio.goal ? "met" : "NOT met";
      lines.push(
        `- ${run.name}: ${ratio.over} / ${ratio.under} = ${
          r !== undefined ? r.toFixed(2) : "—"
        }× (goal ≥ ${ratio.goal}×): ${verdict}`,
      );
    }
  }
  return lines;
}

/** Per run and set-up: exact runs, losses, errors, and CPU. */
export function detailTable(records: ListenerRecord[], context: ListenersReportContext): string {
  const lines = [
    "| run | set-up | exact | missing / expected | lost conns | broker % | generator % | " +
    "other % (max) | softirq % | core 0 / core 1 % | errors |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
  ];
  for (const run of context.runs) {
    for (const setup of context.setups) {
      const mine = records.filter((r) => r.run === run.name && r.setup === setup.name);
      if (mine.length === 0) continue;
      let exact = 0;
      let missing = 0;
      let expected = 0;
      let lost = 0;
      const errors: string[] = [];
      const cpus = [];
      for (const { output } of mine) {
        if (output.kind === "error") {
          errors.push(output.message);
          continue;
        }
        cpus.push(output.result.cpu);
        errors.push(...output.result.errors);
        if (output.kind === "load") {
          const r = output.result;
          if (r.exact) exact++;
          missing += r.missing;
          expected += r.expected;
          lost += r.lostConnections;
        } else if (output.kind === "handshakes") {
          if (output.result.failed === 0) exact++;
          missing += output.result.failed;
          expected += output.result.handshakes + output.result.failed;
        }
      }
      const cpu = cpus.length > 0 ? cpuCells(cpus) : "— | — | — | — | —";
      const shownErrors = errors.slice(0, 2).join("; ").replace(/[|\n]/g, " ").slice(0, 300);
      lines.push(
        `| ${run.name} | ${setup.name} | ${exact}/${mine.length} | ${format(missing, 0)} / ${
          format(expected, 0)
        } | ${lost} | ${cpu} | ${shownErrors} |`,
      );
    }
  }
  return lines.join("\n");
}

/** The whole report. */
export function renderListenersReport(
  records: ListenerRecord[],
  context: ListenersReportContext,
): string {
  return [
    "# Listeners benchmark: TCP, TLS and WebSocket",
    "",
    `\`${context.command}\``,
    "",
    ...context.environment.map((line) => `- ${line}`),
    `- load before: ${context.uptime.before}`,
    `- load after: ${context.uptime.after}`,
    `- ${context.repetitions} repetition(s), set-up order alternating; ` +
    `${context.elapsedS.toFixed(0)} s in all`,
    "",
    ...context.runs.map((r) => `- ${r.name}: ${r.title}`),
    "",
    "Medians over the repetitions, ±spread (max - min) / median; ratios are medians of the " +
    "per-repetition ratios. § n/N: in n of N runs the generator's core was ≥ 90% busy while " +
    "the broker used < 90% of its core (the generator set the pace).",
    "",
    figuresTable(records, context),
    "",
    ...goalLines(records, context),
    "",
    "## Delivery and CPU (medians over runs; for handshakes, missing = failed cycles)",
    "",
    detailTable(records, context),
    "",
  ].join("\n");
}
